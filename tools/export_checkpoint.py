"""Export fp16 ``.safetensors`` weights (and manifest) from a training checkpoint.

Used when a run is stopped by a wall-clock limit before its last step: the latest
checkpoint becomes shippable weights exactly as ``licodec train`` would have exported them.
Usage: python tools/export_checkpoint.py RUN/checkpoint.pt OUT.safetensors
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

from licodec.app.train import hardware_description
from licodec.app.weights import export_weights, round_parameters_to_fp16
from licodec.models import build


def main(checkpoint: Path, output: Path, init_from: str | None = None) -> None:
    """Export ``checkpoint`` to ``output``; ``init_from`` overrides the recorded start point.

    A run started from the shipped weights records only their path, which the export then
    overwrites, so the caller can name what that path held (e.g. the commit).
    """
    state = torch.load(checkpoint, map_location="cpu", weights_only=False)
    config = state["config"]
    model = build(config["model"], config["quality"], **config.get("model_args", {}))
    model.load_state_dict(state["model"])
    round_parameters_to_fp16(model)
    model.update()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    manifest = {
        "model": config["model"],
        "quality": config["quality"],
        "model_config": model.config,
        "lmbda": config["lmbda"] if config.get("lmbda") is not None else model.lmbda,
        "metric": config["metric"],
        "steps": state["step"],
        "batch": config["batch_size"],
        "crop": config["crop"],
        "lr": config["lr"],
        "data": config["data"],
        "init_from": init_from if init_from is not None else config.get("init_from"),
        "hardware": hardware_description(device),
        "wall_time_s": round(state.get("elapsed", 0.0), 1),
        "final_train": state.get("metrics"),
        "torch": torch.__version__,
    }
    export_weights(model, output, manifest)
    print(f"{checkpoint} (step {state['step']}) -> {output}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
