"""``licodec demo``: offline comparison of licodec with JPEG and WebP at matching sizes."""

from __future__ import annotations

import argparse
from pathlib import Path

from licodec.app import demo


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``demo`` subcommand."""
    parser = subparsers.add_parser("demo", help="compress a bundled photo vs JPEG/WebP")
    parser.add_argument("--image", type=Path, default=demo.SAMPLE, help="image to use")
    parser.add_argument("-o", "--output", type=Path, default=Path("licodec-demo.png"))
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the table and write the side-by-side PNG."""
    rows = demo.run_demo(args.image, args.output)
    print(f"{'codec':<16}{'bytes':>9}{'bpp':>9}{'PSNR dB':>10}")
    for row in rows:
        print(f"{row['codec']:<16}{row['bytes']:>9}{row['bpp']:>9.4f}{row['psnr']:>10.2f}")
    print(f"side-by-side image: {args.output}")
    return 0
