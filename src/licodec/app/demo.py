"""The offline demo: a bundled photo coded at every shipped quality beside JPEG and WebP.

For each quality the JPEG and WebP qualities are searched (bisection over Pillow's 1..100)
for the largest file not bigger than licodec's, so every row compares at (at most) the same
size. The side-by-side PNG shows original | licodec | JPEG | WebP for the middle quality.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from licodec.app import codec, zoo
from licodec.core.image import load_image
from licodec.core.metrics import psnr_uint8
from licodec.errors import ModelError

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample.png"
"""Crop of Kodak kodim23 (Eastman Kodak, released for unrestricted use)."""


@dataclass
class Coded:
    """One coded version of the sample."""

    label: str
    size: int
    pixels: np.ndarray

    def bpp(self, pixels: int) -> float:
        return self.size * 8 / pixels


def code_with_pillow(pixels: np.ndarray, fmt: str, quality: int) -> Coded:
    """Encode with Pillow's JPEG or WebP at ``quality`` and decode back."""
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=fmt, quality=quality)
    decoded = np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))
    return Coded(f"{fmt} q{quality}", buffer.tell(), decoded)


def match_size(pixels: np.ndarray, fmt: str, budget: int) -> Coded:
    """The highest-quality ``fmt`` file not larger than ``budget`` bytes (or quality 1)."""
    lo, hi = 1, 100
    best = code_with_pillow(pixels, fmt, 1)
    while lo <= hi:
        mid = (lo + hi) // 2
        candidate = code_with_pillow(pixels, fmt, mid)
        if candidate.size <= budget:
            best, lo = candidate, mid + 1
        else:
            hi = mid - 1
    return best


def run_demo(image: Path = SAMPLE, out_png: Path = Path("licodec-demo.png")) -> list[dict]:
    """Code ``image`` at every shipped quality of the default model; returns table rows."""
    pixels, _ = load_image(image)
    count = pixels.shape[0] * pixels.shape[1]
    qualities = zoo.shipped_qualities(zoo.DEFAULT_MODEL)
    if not qualities:
        raise ModelError("no weights ship with this installation: nothing to demo")
    rows, panels = [], None
    for quality in qualities:
        model = zoo.load_model(zoo.DEFAULT_MODEL, quality)
        data = codec.encode(pixels, model)
        ours = Coded(f"licodec q{quality}", len(data), codec.decode_pixels(codec.read(data), model))
        others = [match_size(pixels, fmt, len(data)) for fmt in ("JPEG", "WEBP")]
        for coded in (ours, *others):
            rows.append(
                {
                    "codec": coded.label,
                    "bytes": coded.size,
                    "bpp": round(coded.bpp(count), 4),
                    "psnr": round(psnr_uint8(pixels, coded.pixels), 2),
                }
            )
        if quality == qualities[(len(qualities) - 1) // 2]:
            panels = [Coded("original", 0, pixels), ours, *others]
    save_side_by_side(panels, count, out_png)
    return rows


def save_side_by_side(panels: list[Coded], pixel_count: int, out_png: Path) -> None:
    """Write the panels next to each other with a caption under each."""
    height, width = panels[0].pixels.shape[:2]
    caption = 22
    canvas = Image.new("RGB", (width * len(panels), height + caption), "white")
    draw = ImageDraw.Draw(canvas)
    reference = panels[0].pixels
    for i, panel in enumerate(panels):
        canvas.paste(Image.fromarray(panel.pixels), (i * width, 0))
        text = panel.label
        if panel.size:
            psnr = psnr_uint8(reference, panel.pixels)
            text += f"  {panel.bpp(pixel_count):.3f} bpp  {psnr:.2f} dB"
        draw.text((i * width + 6, height + 5), text, fill="black")
    canvas.save(out_png)
