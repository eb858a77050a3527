"""``licodec allocate``: one file per image so that a whole folder meets one size budget."""

from __future__ import annotations

import argparse
from pathlib import Path

from licodec.app import allocation
from licodec.cli.options import add_images_option, images_of


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``allocate`` subcommand."""
    parser = subparsers.add_parser(
        "allocate",
        help="meet a size budget over a folder of images (one model and quality per image)",
        description=(
            "Encodes every image with every candidate model and quality, then chooses one file "
            "per image that maximises the quality of the whole set (pooled PSNR, or mean "
            "MS-SSIM) within the budget, exactly (a multiple-choice knapsack solved by dynamic "
            "programming over bytes). Writes IMAGE.lic files and allocation.json into -o."
        ),
    )
    add_images_option(parser)
    budget = parser.add_mutually_exclusive_group(required=True)
    budget.add_argument("--budget-bpp", type=float, help="bits per pixel of the whole set")
    budget.add_argument("--budget-bytes", type=int, help="bytes of all files together")
    parser.add_argument("-o", "--output", type=Path, required=True, help="output folder")
    parser.add_argument(
        "--models",
        nargs="+",
        metavar="MODEL[:Q1-Q5]",
        help="candidates (default: every shipped model and quality)",
    )
    parser.add_argument("--metric", choices=allocation.METRICS, default="psnr")
    parser.add_argument("-f", "--force", action="store_true", help="replace existing files")
    parser.add_argument("--no-progress", action="store_true")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Allocate, write the files, print the totals."""
    images = images_of(args)
    candidates = allocation.parse_candidates(args.models) if args.models else None
    result = allocation.allocate(
        images,
        args.output,
        budget_bytes=args.budget_bytes,
        budget_bpp=args.budget_bpp,
        candidates=candidates,
        metric=args.metric,
        force=args.force,
        progress=not args.no_progress,
    )
    totals = result["totals"]
    print(
        f"{totals['images']} images -> {args.output}: {totals['bytes']} of "
        f"{result['budget_bytes']} bytes, {totals['bpp']:.4f} bpp, pooled PSNR "
        f"{totals['pooled_psnr_rgb']:.2f} dB, mean MS-SSIM {totals['mean_ms_ssim_rgb']:.4f}"
    )
    return 0
