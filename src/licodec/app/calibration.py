"""Fixed-point calibration of trained weights: the integer path, stored with the weights.

:meth:`CompressionModel.calibrate` needs sample images whose activations resemble what the
codec will meet. The intended set is about 200 random crops of the training photographs
(never evaluation images): :func:`calibration_crops` draws them reproducibly, and
:func:`calibrate_weights` turns a weights file into one that also holds the integer path,
so files written with it decode bit-exactly on any machine.
"""

from __future__ import annotations

import json
from pathlib import Path

from torch import Tensor

from licodec.app.data import ImageFolderCrops
from licodec.app.weights import export_weights, manifest_path
from licodec.app.zoo import load_model
from licodec.errors import ModelError

DEFAULT_CROPS = 200
DEFAULT_CROP = 256


def calibration_crops(
    root: Path, count: int = DEFAULT_CROPS, crop: int = DEFAULT_CROP, seed: int = 0
) -> list[Tensor]:
    """``count`` random ``1×3×crop×crop`` crops of the images under ``root``.

    Crop ``i`` is item ``i mod N`` of :class:`ImageFolderCrops` drawn in "epoch" ``i div N``
    (``N`` images): every image once before any twice, the same crops on every run.
    """
    crops = ImageFolderCrops(root, crop=crop, seed=seed)
    return [crops[(i % len(crops), i // len(crops))][None] for i in range(count)]


def calibrate_weights(
    weights: Path,
    data: Path,
    output: Path | None = None,
    count: int = DEFAULT_CROPS,
    crop: int = DEFAULT_CROP,
) -> Path:
    """Calibrate the model of ``weights`` on crops of ``data`` and export it to ``output``
    (default: over ``weights``), manifest included; returns the weights path written.

    Raises:
        ModelError: no manifest beside ``weights`` names its model and quality.
    """
    sidecar = manifest_path(weights)
    if not sidecar.is_file():
        raise ModelError(f"no manifest {sidecar} names the model of {weights}")
    manifest = json.loads(sidecar.read_text())
    model = load_model(manifest["model"], manifest["quality"], weights)
    if model.has_probability_networks:
        model.calibrate(calibration_crops(data, count, crop))
        manifest["calibration"] = {"crops": count, "crop": crop, "data": str(data)}
    else:
        manifest["calibration"] = None
    output = output or weights
    export_weights(model, output, manifest)
    return output
