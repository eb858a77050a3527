"""Rate-distortion evaluation of licodec models from real ``.lic`` files.

For each quality ``q`` and image ``i`` (``H_i×W_i`` pixels, file of ``B_i`` bytes)::

    bpp(q)     = mean_i 8·B_i / (H_i·W_i)            (whole file: header and CRC included)
    psnr(q)    = mean_i 10·log10(255² / MSE_i)        (RGB, 8-bit decoded pixels)
    sections   = the same bpp counting the coded sections only (no container header)
    ms-ssim(q) = mean_i MS-SSIM_i                     (RGB, 8-bit decoded pixels)

and, for generative models (or when asked), the means of the offline realism metrics
(``brisque``, ``niqe``, ``butteraugli``, ``ssimulacra2``: :mod:`licodec.app.realism`),
plus mean encode/decode wall times. The output is CompressAI's results layout, so our
curves sit beside the published anchors.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch

from licodec.app import codec, zoo
from licodec.app.data import label_folder
from licodec.app.lpips import Lpips
from licodec.app.realism import realism_metrics
from licodec.app.sweep import rd_sweep
from licodec.core.bitstream import Container
from licodec.core.colour import CodedFormat
from licodec.core.image import load_image
from licodec.core.labels import read_label_map
from licodec.core.metrics import ms_ssim_uint8, psnr_uint8, yuv_metrics
from licodec.core.yuv import YuvPlanes, load_yuv420
from licodec.models import CompressionModel, spec


def code_timed(
    source: np.ndarray | YuvPlanes, model: CompressionModel, side: dict[str, Any] | None = None
) -> tuple[bytes, Container, np.ndarray | YuvPlanes, dict[str, float]]:
    """Encode ``source`` (with the model's ``side`` inputs) to a file and decode it back,
    timed: ``(file bytes, its container, the decoded pixels — or planes, for planes —,
    {"encoding_time", "decoding_time"})``."""
    start = time.perf_counter()
    data = codec.encode(source, model, side=side)
    encode_s = time.perf_counter() - start
    start = time.perf_counter()
    container = codec.read(data)
    if isinstance(source, YuvPlanes):
        decoded = codec.decode_planes(container, model)
    else:
        decoded = codec.decode_pixels(container, model)
    times = {"encoding_time": encode_s, "decoding_time": time.perf_counter() - start}
    return data, container, decoded, times


def side_inputs_of(model: CompressionModel, path: Path) -> dict[str, Any]:
    """The side inputs of an evaluation image: for models that take a label map, the one
    of the same stem in :func:`~licodec.app.data.label_folder` (everything kept)."""
    if "labels" not in model.side_inputs:
        return {}
    return {"labels": read_label_map(label_folder(path.parent) / f"{path.stem}.png")}


def measure_image(
    model: CompressionModel, path: Path, realism: bool = False, lpips: Lpips | None = None
) -> dict[str, float]:
    """Encode and decode one image for real; returns its bpp, PSNR, MS-SSIM, times and with
    ``realism`` the offline realism metrics (:func:`licodec.app.realism.realism_metrics`,
    LPIPS too with ``lpips``)."""
    pixels, _ = load_image(path)
    data, container, decoded, times = code_timed(pixels, model, side_inputs_of(model, path))
    height, width = pixels.shape[:2]
    return {
        "bpp": codec.file_size_bpp(data, height, width),
        "sections-bpp": 8 * sum(len(s) for s in container.sections) / (height * width),
        "psnr-rgb": psnr_uint8(pixels, decoded),
        "ms-ssim-rgb": ms_ssim_uint8(pixels, decoded),
        **(realism_metrics(pixels, decoded, lpips) if realism else {}),
        **times,
    }


def measure_image_yuv420(model: CompressionModel, path: Path) -> dict[str, float]:
    """One 4:2:0 picture (:func:`licodec.core.yuv.load_yuv420`) through ``model``: a YUV
    model codes the planes, an RGB model their RGB conversion, its output converted back with
    the same BT.709 matrix (:func:`licodec.app.codec.picture_of`,
    :func:`~licodec.app.codec.decode_planes`); returns bpp (over luma pixels),
    PSNR-Y/U/V/YUV, MS-SSIM-Y and times."""
    planes = load_yuv420(path)
    data, _, decoded, times = code_timed(planes, model)
    return {
        "bpp": codec.file_size_bpp(data, planes.height, planes.width),
        **yuv_metrics(planes, decoded),
        **times,
    }


def evaluate(
    model_name: str,
    qualities: Sequence[int],
    images: Sequence[Path],
    weights_dir: str | os.PathLike | None = None,
    progress: bool = True,
    yuv420: bool = False,
    realism: bool | None = None,
    lpips: Path | None = None,
) -> dict[str, Any]:
    """Evaluate ``model_name`` at each quality on ``images``; CompressAI JSON layout. With
    ``yuv420`` (always for a YUV model) the pictures are 4:2:0 and the metrics YUV ones
    (:func:`measure_image_yuv420`); ``realism`` adds the realism metrics of RGB pictures
    (default: for generative models, whose names contain ``gan``; with ``lpips``, the path
    of LPIPS weights, also LPIPS)."""
    rgb_model = spec(model_name).input_format == CodedFormat.RGB444
    yuv420 = yuv420 or not rgb_model
    if realism is None:
        realism = "gan" in model_name
    distance = None if lpips is None else Lpips.from_file(lpips)
    realism = realism or distance is not None
    measure = (
        measure_image_yuv420 if yuv420 else partial(measure_image, realism=realism, lpips=distance)
    )

    def coder_at(quality: int) -> Callable[[Path], dict[str, float]]:
        weights = None
        if weights_dir is not None:
            weights = Path(weights_dir) / zoo.weights_filename(model_name, quality)
        model = zoo.load_model(model_name, quality, weights)
        return lambda path: measure(model, path)

    order, results = rd_sweep(qualities, images, coder_at, model_name, progress)
    return {
        "name": f"licodec-{model_name}",
        "description": (
            f"licodec {model_name}, real .lic files (bpp = file bytes·8/pixels), "
            f"CPU, {torch.get_num_threads()} threads"
            + (
                "; 4:2:0 pictures through RGB (BT.709 limited range both ways)"
                if yuv420 and rgb_model
                else "; 4:2:0 pictures coded as planes"
                if yuv420
                else ""
            )
        ),
        "meta": {
            "qualities": order,
            "num_images": len(images),
            "dataset": images[0].parent.name,
        },
        "results": results,
    }
