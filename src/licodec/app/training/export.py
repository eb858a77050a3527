"""The end of a run: the model in its stored form, and the one writer of weights manifests.

Before export the model's parameters are rounded to float16, its coding tables rebuilt and
its fixed-point path calibrated on training crops, so the file codes bit-exactly with
exactly what it stores (see :mod:`licodec.app.weights`).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from licodec.app.calibration import calibration_crops
from licodec.app.training.config import TrainConfig
from licodec.app.weights import round_parameters_to_fp16
from licodec.models import CompressionModel


def calibration_batches(config: TrainConfig, batch_size: int = 8) -> Iterable[Tensor]:
    """``calibration_crops`` training crops (seed ``seed + 1``), the same on every rank and
    every run, in batches."""
    crops = calibration_crops(config.data, config.calibration_crops, config.crop, config.seed + 1)
    for start in range(0, len(crops), batch_size):
        yield torch.cat(crops[start : start + batch_size])


def finalize(model: CompressionModel, calibration: Iterable[Tensor]) -> CompressionModel:
    """``model`` on CPU in its stored form: fp16-rounded, tables rebuilt, calibrated."""
    model = model.cpu().to(memory_format=torch.contiguous_format).eval()
    round_parameters_to_fp16(model)
    model.update()
    model.calibrate(calibration)
    return model


def weights_path(config: TrainConfig) -> Path:
    """``out/{model}-q{quality}[-ms-ssim].safetensors``."""
    suffix = "-ms-ssim" if config.metric == "ms-ssim" else ""
    return config.out / f"{config.model}-q{config.quality}{suffix}.safetensors"


def training_manifest(
    config: TrainConfig,
    model: CompressionModel,
    objective: dict[str, Any],
    *,
    world_size: int,
    images: int | None,
    hardware: str,
    steps: int,
    wall_time_s: float,
    final_train: dict[str, Any] | None,
    init_from: str | None = None,
) -> dict[str, Any]:
    """The manifest of weights trained under ``config`` (the one schema both ``licodec
    train`` and ``tools/export_checkpoint.py`` write; ``export_weights`` adds the weights
    id). ``objective`` is :meth:`Objective.manifest`; ``init_from`` overrides the recorded
    start point."""
    start = init_from if init_from is not None else config.init_from
    return {
        "model": config.model,
        "quality": config.quality,
        "model_config": model.config,
        **objective,
        "steps": steps,
        "batch": {
            "per_process": config.batch_size,
            "processes": world_size,
            "global": config.batch_size * world_size,
        },
        "crop": config.crop,
        "data": {"path": str(config.data), "images": images},
        "hardware": hardware,
        "precision": "bf16 autocast" if config.bf16 else "fp32",
        "calibration": (
            {"crops": config.calibration_crops, "crop": config.crop}
            if model.has_probability_networks
            else None
        ),
        "init_from": str(start) if start else None,
        "init_partial": config.init_partial,
        "init_only": list(config.init_only) or None,
        "seed": config.seed,
        "torch": torch.__version__,
        "wall_time_s": round(wall_time_s, 1),
        "final_train": final_train,
    }
