"""Rate-distortion sweeps: per-quality means over images, in CompressAI's results layout.

For each quality ``q`` and image ``i`` a measurement gives ``bpp``, ``psnr-rgb``,
``ms-ssim-rgb``, ``encoding_time`` and ``decoding_time``; a sweep reports their means over
the images, one entry per quality, the entries sorted by mean bpp (the order the RD curves
and the Bjøntegaard integrals of :mod:`licodec.app.report` expect).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

import numpy as np

RESULT_KEYS = ("bpp", "psnr-rgb", "ms-ssim-rgb", "encoding_time", "decoding_time")
"""The ``results`` columns of CompressAI's JSON layout, in its order."""

Quality = TypeVar("Quality", int, float)
Item = TypeVar("Item")
Measure = Callable[[Item], dict[str, float]]


def rd_sweep(
    qualities: Sequence[Quality],
    images: Sequence[Item],
    coder_at: Callable[[Quality], Measure[Item]],
    desc: str,
    progress: bool = True,
) -> tuple[list[Quality], dict[str, list[float]]]:
    """Measure every image at every quality; means per quality, sorted by bpp.

    Args:
        qualities: the sweep's settings, in any order.
        images: what each measurement codes (paths, arrays, …).
        coder_at: ``coder_at(q)`` prepares quality ``q`` once (loads a model, say) and
            returns the measurement of one image, a dict with ``bpp`` and the other
            :data:`RESULT_KEYS` it measures (YUV sweeps have ``psnr-yuv`` instead of the RGB
            metrics); further keys, the same for every image, are averaged too and follow.
        desc: progress bar label.
        progress: show a progress bar (tqdm) with the running bpp and PSNR.

    Returns:
        ``(qualities sorted by their mean bpp, {key: means in that order})``.
    """
    from tqdm import tqdm

    per_quality: list[tuple[Quality, dict[str, float]]] = []
    with tqdm(total=len(qualities) * len(images), desc=desc, disable=not progress) as bar:
        for quality in qualities:
            measure = coder_at(quality)
            rows = []
            for image in images:
                rows.append(measure(image))
                bar.update(1)
            standard = [key for key in RESULT_KEYS if key in rows[0]]
            keys = (*standard, *(key for key in rows[0] if key not in RESULT_KEYS))
            means = {key: float(np.mean([row[key] for row in rows])) for key in keys}
            psnr = means.get("psnr-rgb", means.get("psnr-yuv", float("nan")))
            bar.set_postfix(q=quality, bpp=f"{means['bpp']:.3f}", psnr=f"{psnr:.2f}")
            per_quality.append((quality, means))
    per_quality.sort(key=lambda item: item[1]["bpp"])
    columns = {key: [means[key] for _, means in per_quality] for key in per_quality[0][1]}
    return [quality for quality, _ in per_quality], columns
