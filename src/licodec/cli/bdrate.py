"""``licodec bdrate --anchor ANCHOR.json A.json ...``: Bjøntegaard delta rate table."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from licodec.app import report


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``bdrate`` subcommand."""
    parser = subparsers.add_parser(
        "bdrate",
        help="BD-rate of result files against an anchor",
        description="Bjøntegaard delta rate (cubic fit of log-rate over quality in dB, or "
        "with --method pchip its piecewise cubic interpolation, averaged over the "
        "overlapping quality range) of each result file against the anchor. Negative means "
        "fewer bits than the anchor at equal quality.",
    )
    parser.add_argument("results", type=Path, nargs="+", help="result JSON files to compare")
    parser.add_argument("--anchor", type=Path, required=True, help="anchor result JSON file")
    parser.add_argument(
        "--metric",
        default="psnr-rgb",
        choices=(
            "psnr-rgb",
            "psnr",
            "ms-ssim-rgb",
            "ms-ssim",
            "ms-ssim-db-rgb",
            "psnr-yuv",
            "psnr-y",
            "ms-ssim-y",
        ),
        help="quality axis (MS-SSIM is fitted in dB); default psnr-rgb",
    )
    parser.add_argument(
        "--method",
        default="cubic",
        choices=report.BD_METHODS,
        help="log-rate model: least-squares cubic (default, the original metric) or the "
        "piecewise cubic interpolant, which does not swing between unevenly spaced points",
    )
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Compute the rows and print them as a table or JSON."""
    try:
        anchor = report.load_results(args.anchor)
        rows = report.bd_rate_table(anchor, args.results, args.metric, args.method)
    except (ValueError, FileNotFoundError) as err:
        print(f"licodec: error: {err}", file=sys.stderr)
        return 2
    if args.json:
        out = {"anchor": anchor["name"], "anchor_path": str(args.anchor), "rows": rows}
        print(json.dumps(out, indent=2))
    else:
        print(report.format_bd_table(rows, anchor["name"]))
    return 0
