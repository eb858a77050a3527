"""Shrink the training photos into a compact copy for a remote training machine.

Each image is reduced (antialiased) so its short side is at most ``--short`` pixels and
re-encoded as JPEG at ``--quality``; the random downscale of training then starts from
that size. Usage: python tools/pack_train_subset.py SRC DST [--short 320] [--quality 92]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("src", type=Path)
    parser.add_argument("dst", type=Path)
    parser.add_argument("--short", type=int, default=320)
    parser.add_argument("--quality", type=int, default=92)
    args = parser.parse_args()
    files = sorted(p for p in args.src.rglob("*") if p.suffix.lower() in {".jpg", ".jpeg", ".png"})
    args.dst.mkdir(parents=True, exist_ok=True)
    total = 0
    for i, path in enumerate(files):
        image = Image.open(path).convert("RGB")
        scale = min(1.0, args.short / min(image.size))
        if scale < 1.0:
            size = (round(image.width * scale), round(image.height * scale))
            image = image.resize(size, Image.Resampling.LANCZOS)
        out = args.dst / f"{i:05d}.jpg"
        image.save(out, quality=args.quality)
        total += out.stat().st_size
    print(f"{len(files)} images, {total / 2**20:.1f} MiB in {args.dst}")


if __name__ == "__main__":
    main()
