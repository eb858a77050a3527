"""Export fp16 ``.safetensors`` weights (and manifest) from a training checkpoint.

Used when a run is stopped by a wall-clock limit before its last step: the latest
checkpoint becomes shippable weights with the manifest ``licodec train`` writes
(:func:`licodec.app.training.export.training_manifest`); the fixed-point calibration is left
to ``licodec calibrate`` (``tools/finalize_zoo.py`` runs both).
Usage: python tools/export_checkpoint.py RUN/checkpoint.pt OUT.safetensors
"""

from __future__ import annotations

import sys
from dataclasses import fields
from pathlib import Path

import torch

from licodec.app.training import OBJECTIVES, TrainConfig
from licodec.app.training.export import training_manifest
from licodec.app.training.state import hardware_description
from licodec.app.weights import export_weights, round_parameters_to_fp16
from licodec.models import build, spec


def main(checkpoint: Path, output: Path, init_from: str | None = None) -> None:
    """Export ``checkpoint`` to ``output``; ``init_from`` overrides the recorded start point.

    A run started from the shipped weights records only their path, which the export then
    overwrites, so the caller can name what that path held (e.g. the commit).
    """
    state = torch.load(checkpoint, map_location="cpu", weights_only=False)
    known = {f.name for f in fields(TrainConfig)}
    config = TrainConfig(**{k: v for k, v in state["config"].items() if k in known})
    model = build(config.model, config.quality, **config.model_args)
    model.load_state_dict(state["model"])
    round_parameters_to_fp16(model)
    model.update()
    objective = OBJECTIVES[config.objective or spec(config.model).objective](model, config)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    sampler = state.get("sampler", {})
    manifest = training_manifest(
        config,
        model,
        objective.manifest(),
        world_size=sampler.get("world_size", 1),
        images=None,
        hardware=state.get("hardware") or hardware_description(device),  # older: exporter's
        steps=state["step"],
        wall_time_s=state.get("elapsed", 0.0),
        final_train=state.get("metrics"),
        init_from=init_from,
    )
    export_weights(model, output, manifest)
    print(f"{checkpoint} (step {state['step']}) -> {output}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
