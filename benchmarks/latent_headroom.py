"""How much a finer latent could still buy: cca-yuv420 and its RGB twin decoding their own
latent rounded (the coded step), at half the step, and not quantized at all.

Why shipped qualities do not reach 1 bpp on Kodak (issue 14): a larger λ, or a finer
quantization step at the same λ, only pays if the synthesis turns a finer latent into a
better picture. This decodes ``g_s(ŷ)`` (with the ACEM on, as in training) for
``ŷ = round(y)``, ``round(2y)/2`` and ``y`` itself and prints the mean PSNR-YUV on Kodak as
4:2:0, scored as a decoded file is (8-bit samples, :func:`licodec.core.metrics.yuv_metrics`);
the unquantized column is the ceiling of the trained transforms at any rate. The rounded
column rounds ``y`` itself, not its distance to the context model's mean as the files do, so
it can sit a little off the coded files' PSNR (``results/kodak-yuv420``); no rates are
estimated here. The twin codes the planes' RGB conversion and is scored after converting back
(BT.709, as ``licodec eval --yuv420``). Run from the repository root:

    python benchmarks/latent_headroom.py --images ../shared/data/kodak [--twin-runs RUNS]

``--twin-runs`` holds ``cheng-qQ/cheng2020-anchor-qQ.safetensors`` (``tools/cca_twins.sh``).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from licodec.app import zoo
from licodec.core.colour import CodedFormat
from licodec.core.files import list_images
from licodec.core.metrics import yuv_metrics
from licodec.core.picture import Picture
from licodec.core.yuv import (
    YuvPlanes,
    load_yuv420,
    picture_to_planes,
    planes_to_picture,
    rgb_to_yuv420_batch,
    yuv420_to_rgb,
)
from licodec.models.base import CompressionModel

STEPS: dict[str, Callable[[Tensor], Tensor]] = {
    "rounded": torch.round,
    "half_step": lambda y: torch.round(2 * y) / 2,
    "unquantized": lambda y: y,
}
"""The latents decoded: name → ``ŷ`` of ``y``."""


def planes(path: Path) -> tuple[YuvPlanes, Tensor, Tensor, Tensor]:
    """One picture as 4:2:0 samples, as model planes (``1×1×H×W``, ``1×2×H/2×W/2``) and as
    their RGB conversion (``1×3×H×W``), all cropped to multiples of 64, in [0, 1]."""
    yuv = load_yuv420(path)
    h, w = yuv.height // 64 * 64, yuv.width // 64 * 64
    yuv = YuvPlanes(yuv.y[:h, :w], yuv.u[: h // 2, : w // 2], yuv.v[: h // 2, : w // 2])
    y, uv = planes_to_picture(yuv).planes
    rgb = torch.from_numpy(yuv420_to_rgb(yuv).copy()).permute(2, 0, 1)[None].float() / 255
    return yuv, y, uv, rgb


@torch.no_grad()
def headroom(model: CompressionModel, images: list[Path], yuv_model: bool) -> dict[str, float]:
    """Mean PSNR-YUV over ``images`` of each :data:`STEPS` latent."""
    scores: dict[str, list[float]] = {name: [] for name in STEPS}
    for path in images:
        reference, y, uv, rgb = planes(path)
        latent = (model.analyze(y, uv) if yuv_model else model.analyze(rgb)).float()
        for name, step in STEPS.items():
            if yuv_model:
                decoded = model.reconstruct(step(latent))
            else:
                decoded = rgb_to_yuv420_batch(model.synthesize(step(latent)).clamp(0, 1))
            samples = picture_to_planes(Picture(decoded, CodedFormat.YUV420))
            scores[name].append(yuv_metrics(reference, samples)["psnr-yuv"])
    return {name: round(float(np.mean(v)), 3) for name, v in scores.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=Path, required=True)
    parser.add_argument("--qualities", type=int, nargs="+", default=[1, 2, 3, 4])
    parser.add_argument("--twin-runs", type=Path)
    parser.add_argument("--out", type=Path, default=Path("results/kodak-yuv420/cca/headroom.json"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    images = list_images(args.images)
    result: dict[str, dict[str, dict[str, float]]] = {"cca-yuv420": {}, "rgb-twin": {}}
    for q in args.qualities:
        result["cca-yuv420"][f"q{q}"] = headroom(zoo.load_model("cca-yuv420", q), images, True)
        if args.twin_runs:
            weights = args.twin_runs / f"cheng-q{q}" / f"cheng2020-anchor-q{q}.safetensors"
            twin = zoo.load_model("cheng2020-anchor", q, weights)
            result["rgb-twin"][f"q{q}"] = headroom(twin, images, False)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
