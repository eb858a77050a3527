"""Rate-distortion evaluation of licodec models from real ``.lic`` files.

For each quality ``q`` and image ``i`` (``H_i×W_i`` pixels, file of ``B_i`` bytes)::

    bpp(q)     = mean_i 8·B_i / (H_i·W_i)            (whole file: header and CRC included)
    psnr(q)    = mean_i 10·log10(255² / MSE_i)        (RGB, 8-bit decoded pixels)
    sections   = the same bpp counting the coded sections only (no container header)
    ms-ssim(q) = mean_i MS-SSIM_i                     (RGB, 8-bit decoded pixels)

plus mean encode/decode wall times. The output is CompressAI's results layout, so our
curves sit beside the published anchors.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from licodec.app import codec, zoo
from licodec.app.sweep import rd_sweep
from licodec.core.image import load_image
from licodec.core.metrics import ms_ssim_uint8, psnr_uint8
from licodec.models import CompressionModel


def measure_image(model: CompressionModel, path: Path) -> dict[str, float]:
    """Encode and decode one image for real; returns its bpp, PSNR, MS-SSIM and times."""
    pixels, _ = load_image(path)
    start = time.perf_counter()
    data = codec.encode(pixels, model)
    encode_s = time.perf_counter() - start
    start = time.perf_counter()
    container = codec.read(data)
    decoded = codec.decode_pixels(container, model)
    decode_s = time.perf_counter() - start
    height, width = pixels.shape[:2]
    return {
        "bpp": codec.file_size_bpp(data, height, width),
        "sections-bpp": 8 * sum(len(s) for s in container.sections) / (height * width),
        "psnr-rgb": psnr_uint8(pixels, decoded),
        "ms-ssim-rgb": ms_ssim_uint8(pixels, decoded),
        "encoding_time": encode_s,
        "decoding_time": decode_s,
    }


def evaluate(
    model_name: str,
    qualities: Sequence[int],
    images: Sequence[Path],
    weights_dir: str | os.PathLike | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Evaluate ``model_name`` at each quality on ``images``; CompressAI JSON layout."""

    def coder_at(quality: int) -> Callable[[Path], dict[str, float]]:
        weights = None
        if weights_dir is not None:
            weights = Path(weights_dir) / zoo.weights_filename(model_name, quality)
        model = zoo.load_model(model_name, quality, weights)
        return lambda path: measure_image(model, path)

    order, results = rd_sweep(qualities, images, coder_at, model_name, progress)
    return {
        "name": f"licodec-{model_name}",
        "description": (
            f"licodec {model_name}, real .lic files (bpp = file bytes·8/pixels), "
            f"CPU, {torch.get_num_threads()} threads"
        ),
        "meta": {
            "qualities": order,
            "num_images": len(images),
            "dataset": images[0].parent.name,
        },
        "results": results,
    }
