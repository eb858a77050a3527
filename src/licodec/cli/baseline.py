"""``licodec baseline CODEC``: run a classic codec over an image folder, CompressAI JSON out.

Example::

    licodec baseline jpeg -o results/kodak/jpeg.json
    licodec baseline hevc --images ~/kodak --qualities 22 27 32 37

The image folder defaults to ``$LICODEC_KODAK``, else ``../shared/data/kodak`` relative to the
current directory.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from licodec.app import baselines
from licodec.cli.options import add_images_option, images_of
from licodec.core.files import write_json


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``baseline`` subcommand."""
    names = ", ".join(baselines.CODECS)
    parser = subparsers.add_parser(
        "baseline",
        help="run a classic codec (JPEG, WebP, JPEG 2000, AVIF, JPEG XL, HEVC, VVC)",
        description="Encode every image with a classic codec at each quality, decode it, "
        "and write mean bpp / PSNR / MS-SSIM per quality in CompressAI's JSON layout.",
    )
    parser.add_argument("codec", help=f"one of: {names} (aliases: hevc, vvc, jxl, j2k, bpg)")
    add_images_option(parser)
    parser.add_argument(
        "--qualities",
        type=float,
        nargs="+",
        help="quality values to sweep (codec's own parameter; default: a 0.1-2 bpp sweep)",
    )
    parser.add_argument(
        "--yuv420",
        action="store_true",
        help="code YUV 4:2:0 planes (.y4m as it is, other images converted with BT.709 "
        "limited range) and report PSNR-Y/U/V/YUV and MS-SSIM-Y (hevc-420, vvc-420, "
        "jpeg-420, av1-420)",
    )
    parser.add_argument(
        "--realism",
        action="store_true",
        help="add BRISQUE, NIQE, Butteraugli and SSIMULACRA 2 (RGB sweeps)",
    )
    parser.add_argument("-o", "--output", type=Path, help="write the JSON here (default: stdout)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the sweep, print a summary to stderr and the JSON to ``-o`` or stdout."""
    try:
        codec = baselines.get_codec(args.codec)
        images = images_of(args)
        if args.yuv420:
            if args.realism:
                raise ValueError("--realism measures RGB pictures: drop --yuv420")
            result = baselines.run_yuv_baseline(
                codec, images, args.qualities, progress=not args.no_progress
            )
        else:
            result = baselines.run_baseline(
                codec, images, args.qualities, not args.no_progress, realism=args.realism
            )
    except (ValueError, FileNotFoundError, baselines.BaselineError) as err:
        print(f"licodec: error: {err}", file=sys.stderr)
        return 2
    res = result["results"]
    psnr, ssim = ("psnr-yuv", "ms-ssim-y") if args.yuv420 else ("psnr-rgb", "ms-ssim-rgb")
    print(f"{result['description']}", file=sys.stderr)
    print(f"{'quality':>8} {'bpp':>8} {psnr:>8} {ssim:>11}", file=sys.stderr)
    for q, b, p, m in zip(
        result["meta"]["qualities"], res["bpp"], res[psnr], res[ssim], strict=True
    ):
        print(f"{q:>8g} {b:>8.4f} {p:>8.2f} {m:>11.4f}", file=sys.stderr)
    text = json.dumps(result, indent=2)
    if args.output:
        write_json(args.output, text)
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        print(text)
    return 0
