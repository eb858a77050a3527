"""``licodec plot A.json B.json ... -o rd.png``: rate-distortion curves as a PNG."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from licodec.app import report


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``plot`` subcommand."""
    parser = subparsers.add_parser(
        "plot",
        help="plot RD curves (PSNR and MS-SSIM vs bpp) from result JSON files",
        description="Plot CompressAI-layout result files (ours or published anchors): "
        "PSNR-RGB vs bpp and MS-SSIM-RGB in dB, -10*log10(1 - MS-SSIM), vs bpp.",
    )
    parser.add_argument("results", type=Path, nargs="+", help="result JSON files")
    parser.add_argument("-o", "--output", type=Path, default=Path("rd.png"), help="PNG to write")
    parser.add_argument(
        "--metric",
        choices=("both", "psnr", "ms-ssim", "yuv", "psnr-yuv"),
        default="both",
        help="which panel(s) to draw (default: both)",
    )
    parser.add_argument("--title", help="title above each panel")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Load the files, draw, write the PNG."""
    try:
        out = report.plot_rd(args.results, args.output, metric=args.metric, title=args.title)
    except (ValueError, FileNotFoundError) as err:
        print(f"licodec: error: {err}", file=sys.stderr)
        return 2
    print(f"wrote {out}")
    return 0
