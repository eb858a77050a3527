"""Rate and decode-speed cost of the integer (fixed-point) path against the float path, on Kodak.

For each model and quality (``--qualities``, default the shipped ones): load its trained
weights when the zoo finds them (shipped or ``LICODEC_WEIGHTS``), else build it untrained
and seeded; calibrate it on ``--calibration`` random training crops (``calibration_crops``,
never Kodak); then code every Kodak image twice, through the float path and through the
integer path, and print one JSON line:

    {"model", "quality", "weights", "images", "calibration_crops", "calibrate_s",
     "float_bits", "integer_bits", "rate_overhead_pct", "float_psnr", "integer_psnr",
     "float_latent_decode_s", "integer_latent_decode_s", "float_decode_s",
     "integer_decode_s", "decode_ratio", "divergent_images"}

Bits are the files' section bits summed over the images (the header is the same for both);
``rate_overhead_pct`` is ``100·(integer/float − 1)``; PSNRs are means over images of the
decoded uint8 images; decode times are sums over images, ``*_latent_decode_s`` of entropy
decoding with the parameter networks (``decompress_latent``), ``*_decode_s`` with the
synthesis too, ``decode_ratio`` integer over float of the latter. ``divergent_images``
counts integer-path files whose decoded latents differ from the encoder's, decoding with the
process's threads and oneDNN on, then with one thread and oneDNN off (the target is zero).
With four or more qualities a model's last line is ``{"model", "qualities", "bd_rate_pct"}``:
the Bjøntegaard delta rate (bits per pixel against mean PSNR) of the integer path over the
float path.

Untrained analysis transforms give latents within ±0.3, which all round to zero and make
coding free; untrained models therefore get their analysis output multiplied by
``--latent-gain`` and the bias of their predicted scales set to ``--scale-bias`` (louder
but still untrained, as in ``decode_speed.py``). Their rate difference measures how much the
fixed-point path moves the probabilities of random networks — a proxy until trained weights
are there. Run from the repository root::

    PYTHONPATH=src python benchmarks/integer_path.py > results/integer_path.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from licodec.app import zoo
from licodec.app.calibration import calibration_crops
from licodec.app.report import bd_rate
from licodec.components.latent.context import ContextLatentCodec
from licodec.core.image import crop, load_image, pad_to_multiple, to_pixels, to_tensor
from licodec.core.metrics import psnr_uint8
from licodec.errors import ModelError
from licodec.models import CompressionModel, available, build

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def make_louder(model: CompressionModel, gain: float, scale_bias: float) -> None:
    """Untrained stand-in for a trained model: analysis output ×``gain`` (latents of a few
    units instead of ±0.3) and the predicted scales' bias set to ``scale_bias``."""
    model.g_a.register_forward_hook(lambda _module, _args, y: y * gain)
    y_codec = getattr(model.latent_codec, "y_codec", None)
    if y_codec is None:  # factorized prior: no predicted scales
        return
    if isinstance(y_codec, ContextLatentCodec):
        layer, scales = y_codec.entropy_parameters[-1], y_codec.head.scale_slice(y_codec.channels)
    else:
        layer = [m for m in model.latent_codec.h_s.modules() if isinstance(m, nn.Conv2d)][-1]
        scales = slice(0, layer.out_channels // (2 if y_codec.mean_scale else 1))
    with torch.no_grad():
        layer.bias[scales] = scale_bias


def load_model(name: str, quality: int, args: argparse.Namespace) -> tuple[CompressionModel, str]:
    """Trained weights when the zoo has them, else a seeded untrained model made louder."""
    try:
        return zoo.load_model(name, quality), str(zoo.find_weights(name, quality).resolve())
    except ModelError:
        torch.manual_seed(0)
        model = build(name, quality).eval()
        make_louder(model, args.latent_gain, args.scale_bias)
        return (
            model,
            f"untrained (seed 0, latents x{args.latent_gain:g}, scale bias {args.scale_bias:g})",
        )


def code(model: CompressionModel, x: torch.Tensor) -> dict[str, Any]:
    """Bits, decoded pixels, decode times and latent divergence of one image (current path).

    ``latent_s`` is entropy decoding with the parameter networks, ``decode_s`` adds the
    synthesis. An integer-path file is decoded once more with one thread and oneDNN off.
    """
    height, width = x.shape[-2:]
    with torch.no_grad():
        y = model.g_a(pad_to_multiple(x, model.pad_multiple))
        sections, y_hat = model.latent_codec.compress(y)
        start = time.perf_counter()
        decoded = model.decompress_latent(sections, height, width)
        latent_s = time.perf_counter() - start
        x_hat = crop(model.g_s(decoded), height, width).clamp(0, 1)
        decode_s = time.perf_counter() - start
        divergent = not torch.equal(decoded, y_hat)
        if model.integer_path:
            threads = torch.get_num_threads()
            torch.set_num_threads(1)
            with torch.backends.mkldnn.flags(enabled=False):
                divergent |= not torch.equal(
                    model.decompress_latent(sections, height, width), y_hat
                )
            torch.set_num_threads(threads)
    return {
        "bits": 8 * sum(len(s) for s in sections),
        "pixels": to_pixels(x_hat),
        "latent_s": latent_s,
        "decode_s": decode_s,
        "divergent": divergent,
    }


def measure(
    name: str, quality: int, args: argparse.Namespace, kodak: list[np.ndarray]
) -> dict[str, Any]:
    """One model at one quality: the JSON line described in the module docstring."""
    model, weights = load_model(name, quality, args)
    calibration = calibration_crops(SHARED / "train", args.calibration, args.crop)
    start = time.perf_counter()
    model.calibrate(calibration)
    calibrate_s = time.perf_counter() - start
    results: dict[bool, list[dict[str, Any]]] = {False: [], True: []}
    for pixels in kodak:
        for integer in (False, True):
            with model.coding_path(integer):
                results[integer].append(code(model, to_tensor(pixels)))

    def total(integer: bool, key: str) -> float:
        return sum(r[key] for r in results[integer])

    def mean_psnr(integer: bool) -> float:
        values = [psnr_uint8(r["pixels"], p) for r, p in zip(results[integer], kodak, strict=True)]
        return round(float(np.mean(values)), 4)

    return {
        "model": name,
        "quality": quality,
        "weights": weights,
        "images": len(kodak),
        "calibration_crops": args.calibration,
        "calibrate_s": round(calibrate_s, 2),
        "float_bits": int(total(False, "bits")),
        "integer_bits": int(total(True, "bits")),
        "rate_overhead_pct": round(100 * (total(True, "bits") / total(False, "bits") - 1), 4),
        "float_psnr": mean_psnr(False),
        "integer_psnr": mean_psnr(True),
        "float_latent_decode_s": round(total(False, "latent_s"), 3),
        "integer_latent_decode_s": round(total(True, "latent_s"), 3),
        "float_decode_s": round(total(False, "decode_s"), 3),
        "integer_decode_s": round(total(True, "decode_s"), 3),
        "decode_ratio": round(total(True, "decode_s") / total(False, "decode_s"), 3),
        "divergent_images": int(total(True, "divergent")),
    }


def bd_rate_line(name: str, lines: list[dict[str, Any]], pixels: int) -> dict[str, Any]:
    """BD-rate of the integer path against the float path over the measured qualities."""
    rate = {
        path: [line[f"{path}_bits"] / pixels for line in lines] for path in ("float", "integer")
    }
    psnr = {path: [line[f"{path}_psnr"] for line in lines] for path in ("float", "integer")}
    bd = bd_rate(rate["float"], psnr["float"], rate["integer"], psnr["integer"])
    return {"model": name, "qualities": [line["quality"] for line in lines], "bd_rate_pct": bd}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="*", default=available())
    parser.add_argument(
        "--qualities", type=int, nargs="*", help="default: the shipped ones, else quality 1"
    )
    parser.add_argument("--images", type=int, default=24, help="first N Kodak images")
    parser.add_argument("--calibration", type=int, default=200, help="training crops")
    parser.add_argument("--crop", type=int, default=256)
    parser.add_argument("--latent-gain", type=float, default=30.0)
    parser.add_argument("--scale-bias", type=float, default=2.0)
    args = parser.parse_args()
    files = sorted((SHARED / "kodak").glob("*.png"))[: args.images]
    kodak = [load_image(path)[0] for path in files]
    pixels = sum(p.shape[0] * p.shape[1] for p in kodak)
    for name in args.models:
        qualities = args.qualities or zoo.shipped_qualities(name) or [1]
        lines = []
        for quality in qualities:
            lines.append(measure(name, quality, args, kodak))
            print(json.dumps(lines[-1]), flush=True)
        if len(lines) >= 4:
            print(json.dumps(bd_rate_line(name, lines, pixels)), flush=True)


if __name__ == "__main__":
    main()
