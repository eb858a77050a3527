"""A baseline run over a folder of images at several qualities, in CompressAI's layout."""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from licodec.app.baselines.base import BaselineCodec, BaselineError, CodedImage
from licodec.app.baselines.ffmpeg import FfmpegCodec
from licodec.app.baselines.registry import get_codec
from licodec.app.realism import realism_metrics
from licodec.app.sweep import rd_sweep
from licodec.core.image import load_image
from licodec.core.metrics import ms_ssim_uint8, psnr_uint8, yuv_metrics
from licodec.core.yuv import load_yuv420


def load_rgb(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an image file as H×W×3 uint8 RGB with the codec's own loader
    (:func:`licodec.core.image.load_image`: grey becomes R = G = B, transparency is refused),
    so baselines and licodec code the same pixels."""
    return load_image(Path(path))[0]


def _tidy(q: float) -> float:
    """Integral qualities as ``int`` so that JSON shows ``30`` rather than ``30.0``."""
    return int(q) if float(q).is_integer() else float(q)


def run_baseline(
    codec: str | BaselineCodec,
    image_paths: Iterable[str | os.PathLike[str]],
    qualities: Sequence[float] | None = None,
    progress: bool = True,
    on_image: Callable[[str, float, CodedImage], None] | None = None,
    realism: bool = False,
) -> dict[str, Any]:
    """Run ``codec`` over every image at every quality; return CompressAI-style results.

    For each quality q and image i with size H_i × W_i and encoded length B_i(q) bytes::

        bpp(q)  = mean_i 8·B_i(q) / (H_i·W_i)
        psnr(q) = mean_i 10·log10(255² / MSE_i(q))       (RGB, over all three channels)
        ms-ssim(q) = mean_i MS-SSIM_i(q)                  (RGB, data range 1)

    and likewise mean encoding / decoding times in seconds. The entries are sorted by bpp.
    ``meta`` records the chroma format, encoder, the swept parameter and the qualities in the
    same order as the results. ``on_image`` (if given) sees every coded image. ``realism``
    adds the offline realism metrics (:func:`licodec.app.realism.realism_metrics`).

    Raises:
        CodecUnavailableError: the codec cannot run here.
        ValueError: no images, or an unknown codec name.
    """
    c = get_codec(codec) if isinstance(codec, str) else codec
    paths, qs = _inputs(c, image_paths, qualities, "run_baseline")
    images = [load_rgb(p) for p in paths]

    def coder_at(quality: float) -> Callable[[int], dict[str, float]]:
        def measure(index: int) -> dict[str, float]:
            image = images[index]
            coded = c.code(image, quality)
            if on_image is not None:
                on_image(str(paths[index]), quality, coded)
            return {
                "bpp": coded.bpp(),
                "psnr-rgb": psnr_uint8(image, coded.decoded),
                "ms-ssim-rgb": ms_ssim_uint8(image, coded.decoded),
                **(realism_metrics(image, coded.decoded) if realism else {}),
                "encoding_time": coded.encoding_time,
                "decoding_time": coded.decoding_time,
            }

        return measure

    order, results = rd_sweep(qs, range(len(images)), coder_at, c.name, progress)
    return {
        "name": c.label,
        "description": c.description(),
        "meta": _meta(c, paths, order),
        "results": results,
    }


def _inputs(
    c: BaselineCodec,
    image_paths: Iterable[str | os.PathLike[str]],
    qualities: Sequence[float] | None,
    caller: str,
) -> tuple[list[Path], list[float]]:
    """The sweep's image paths and qualities (the codec's default sweep unless given), after
    checking the codec runs here; ``ValueError`` naming ``caller`` if either is empty."""
    c.check_available()
    paths = [Path(p) for p in image_paths]
    if not paths:
        raise ValueError(f"{caller} needs at least one image")
    qs = [_tidy(q) for q in (c.default_qualities if qualities is None else qualities)]
    if not qs:
        raise ValueError(f"{caller} needs at least one quality")
    return paths, qs


def _meta(c: BaselineCodec, paths: list[Path], order: list[float]) -> dict[str, Any]:
    """The ``meta`` block of a sweep's results."""
    return {
        "chroma": c.chroma,
        "codec": c.name,
        "encoder": c.version(),
        "settings": c.settings(),
        "parameter": c.parameter,
        "qualities": order,
        "dataset": paths[0].parent.name if len({p.parent for p in paths}) == 1 else "mixed",
        "num_images": len(paths),
        "type": "image",
        "source": "licodec baseline",
        "timing": (
            f"mean wall-clock seconds per image on {os.cpu_count()} CPU cores "
            f"({platform.machine()}), encoder and decoder calls only"
            + (
                ", including ffmpeg start-up and colour conversion"
                if isinstance(c, FfmpegCodec)
                else ""
            )
        ),
    }


def run_yuv_baseline(
    codec: str | BaselineCodec,
    image_paths: Iterable[str | os.PathLike[str]],
    qualities: Sequence[float] | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """:func:`run_baseline` on YUV 4:2:0 planes (:func:`load_yuv420`), fed to the codec as
    they are (no RGB round trip): per quality the means of ``bpp`` (bits over luma pixels),
    ``psnr-y``, ``psnr-u``, ``psnr-v``, ``psnr-yuv`` and ``ms-ssim-y``
    (:func:`licodec.core.metrics.yuv_metrics`) and the times.

    Raises:
        BaselineError: the codec does not code 4:2:0 planes (HEVC 4:2:0 and VVC do).
        ValueError: no images or qualities.
    """
    c = get_codec(codec) if isinstance(codec, str) else codec
    if not isinstance(c, FfmpegCodec):
        raise BaselineError(f"{c.label} takes RGB images, not YUV planes: use hevc-420 or vvc-420")
    paths, qs = _inputs(c, image_paths, qualities, "run_yuv_baseline")
    pictures = [load_yuv420(p) for p in paths]

    def coder_at(quality: float) -> Callable[[int], dict[str, float]]:
        def measure(index: int) -> dict[str, float]:
            picture = pictures[index]
            start = time.perf_counter()
            data = c.encode_planes(picture, quality)
            middle = time.perf_counter()
            decoded = c.decode_planes(data, picture.height, picture.width, picture.bits)
            end = time.perf_counter()
            return {
                "bpp": 8 * len(data) / (picture.height * picture.width),
                **yuv_metrics(picture, decoded),
                "encoding_time": middle - start,
                "decoding_time": end - middle,
            }

        return measure

    order, results = rd_sweep(qs, range(len(pictures)), coder_at, c.name, progress)
    meta = {**_meta(c, paths, order), "chroma": "4:2:0", "input": "YUV 4:2:0 planes"}
    return {
        "name": c.label,
        "description": (
            f"{c.label}. {c.version()}; YUV 4:2:0 planes coded as given, no colour conversion "
            f"by ffmpeg (RGB sources: BT.709 limited range, licodec.core.yuv); "
            f"swept parameter: {c.parameter}"
        ),
        "meta": meta,
        "results": results,
    }
