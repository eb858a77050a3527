"""Which plane each latent channel serves, for cca-yuv420 and an RGB model side by side.

    python benchmarks/latent_planes.py --image ../shared/data/kodak/kodim01.png \
        --cca WEIGHTS.safetensors --rgb WEIGHTS.safetensors

Both models see the same 4:2:0 picture (the RGB model through BT.709 limited range both
ways, as in ``benchmarks/cca.py``). For each latent channel ``c`` of the rounded latent
``ŷ`` (the training forward in eval mode), ``ŷ_c`` is replaced by its rounded spatial mean
— the channel's information removed, its level kept — and the picture decoded (cca with its
ACEM on). Per channel: its estimated bits (``−log₂`` of the latent's likelihoods, not a file
size) and the PSNR-Y and PSNR-UV (U and V pooled) drops. A channel *serves* a plane when its
drop there is over 3× the other's; the JSON gives, per model, the share of latent bits in
luma- and chroma-serving channels and the bit-weighted share ``Σ b_c·ΔY_c/(ΔY_c + ΔUV_c)``
attributed to luma. dB drops are relative to each plane's own error, so a cleaner plane
shows a larger drop for the same damage: compare models at similar plane PSNRs.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from licodec.app import zoo
from licodec.core.image import crop, pad_to_multiple, to_tensor
from licodec.core.metrics import psnr
from licodec.core.yuv import load_yuv420, planes_to_picture, rgb_to_yuv420_batch, yuv420_to_rgb
from licodec.models import CompressionModel

Decoder = Callable[[Tensor], tuple[Tensor, Tensor]]
SERVES = 3.0
"""A channel serves a plane when its dB drop there exceeds ``SERVES`` times the other's."""


def cca_latent(model: Any, y: Tensor, uv: Tensor) -> tuple[Any, Decoder]:
    """The latent codec's output for the planes, and ``ŷ → (Ŷ, ÛV)`` with the ACEM on."""
    padded = pad_to_multiple(y, model.pad_multiple), pad_to_multiple(uv, model.pad_multiple // 2)
    out = model.latent_codec(model.analyze(*padded))

    def decode(y_hat: Tensor) -> tuple[Tensor, Tensor]:
        luma, chroma = model.reconstruct(y_hat)
        return crop(luma, *y.shape[-2:]), crop(chroma, *uv.shape[-2:])

    return out, decode


def rgb_latent(model: CompressionModel, rgb: Tensor, y: Tensor) -> tuple[Any, Decoder]:
    """As :func:`cca_latent` for an RGB model, its output taken back to 4:2:0."""
    out = model.latent_codec(model.analyze(pad_to_multiple(rgb, model.pad_multiple)))

    def decode(y_hat: Tensor) -> tuple[Tensor, Tensor]:
        return rgb_to_yuv420_batch(crop(model.synthesize(y_hat).clamp(0, 1), *y.shape[-2:]))

    return out, decode


def channel_rows(out: Any, decode: Decoder, y: Tensor, uv: Tensor) -> dict[str, Any]:
    """Bits and per-plane drops of every channel, and the shares (module docstring)."""
    y_hat = out.y_hat
    bits = (-torch.log2(out.likelihoods["y"])).sum(dim=(0, 2, 3)) / y.numel()
    luma, chroma = decode(y_hat)
    base = float(psnr(luma, y)), float(psnr(chroma, uv))
    rows = []
    for c in range(y_hat.shape[1]):
        removed = y_hat.clone()
        removed[:, c] = y_hat[:, c].mean().round()
        luma, chroma = decode(removed)
        rows.append({"bpp": float(bits[c]), "drop_y_db": base[0] - float(psnr(luma, y)),
                     "drop_uv_db": base[1] - float(psnr(chroma, uv))})  # fmt: skip
    total = sum(r["bpp"] for r in rows)

    def share(keep: Callable[[dict], bool]) -> float:
        return sum(r["bpp"] for r in rows if keep(r)) / total

    return {
        "psnr_y": base[0],
        "psnr_uv": base[1],
        "latent_bpp_estimate": total,
        "luma_serving_share": share(lambda r: r["drop_y_db"] > SERVES * r["drop_uv_db"]),
        "chroma_serving_share": share(lambda r: r["drop_uv_db"] > SERVES * r["drop_y_db"]),
        "luma_attributed_share": sum(
            r["bpp"] * r["drop_y_db"] / (r["drop_y_db"] + r["drop_uv_db"])
            for r in rows
            if r["drop_y_db"] + r["drop_uv_db"] > 1e-3
        )
        / total,
        "channels": rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", type=Path, required=True)
    parser.add_argument("--cca", type=Path, required=True, help="cca-yuv420 weights")
    parser.add_argument("--rgb", type=Path, required=True, help="an RGB model's weights")
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    args = parser.parse_args()
    torch.set_num_threads(1)
    planes = load_yuv420(args.image)
    y, uv = planes_to_picture(planes).planes
    rgb = to_tensor(yuv420_to_rgb(planes))
    cca, twin = (zoo.load_model(None, None, w).eval() for w in (args.cca, args.rgb))
    with torch.no_grad():
        report = {
            "image": args.image.name,
            "cca": {"weights": str(args.cca), **channel_rows(*cca_latent(cca, y, uv), y, uv)},
            "rgb": {"weights": str(args.rgb), **channel_rows(*rgb_latent(twin, rgb, y), y, uv)},
        }
    text = json.dumps(report, indent=2)
    if args.out:
        args.out.write_text(text + "\n")
    summary = {k: {n: v for n, v in r.items() if n != "channels"} for k, r in report.items()
               if isinstance(r, dict)}  # fmt: skip
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
