"""``licodec eval MODEL``: RD points from real files, in CompressAI's JSON layout."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from licodec.app import evaluate, zoo
from licodec.cli.options import add_images_option, images_of
from licodec.core.files import write_json
from licodec.errors import ModelError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``eval`` subcommand."""
    parser = subparsers.add_parser("eval", help="evaluate a model on an image folder")
    parser.add_argument("model", nargs="?", default=zoo.DEFAULT_MODEL)
    parser.add_argument("--qualities", type=int, nargs="+", help="default: every shipped one")
    add_images_option(parser)
    parser.add_argument("--weights-dir", type=Path, help="folder of {model}-q{q}.safetensors")
    parser.add_argument(
        "--yuv420",
        action="store_true",
        help="measure on 4:2:0 pictures (.y4m, or images converted with BT.709) in "
        "PSNR-Y/U/V/YUV and MS-SSIM-Y",
    )
    parser.add_argument(
        "--realism",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="add BRISQUE, NIQE, Butteraugli and SSIMULACRA 2 (default: for gan models)",
    )
    parser.add_argument(
        "--lpips-weights",
        type=Path,
        help="LPIPS (AlexNet) weights: AlexNet features + LPIPS heads in one state dict "
        "(none ship: they cannot be downloaded here)",
    )
    parser.add_argument("-o", "--output", type=Path, help="write the JSON here")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Evaluate, print the JSON or write it."""
    qualities = args.qualities or zoo.shipped_qualities(args.model)
    if not qualities:
        raise ModelError(f"no shipped weights for {args.model}: pass --qualities")
    result = evaluate.evaluate(
        args.model,
        qualities,
        images_of(args),
        args.weights_dir,
        yuv420=args.yuv420,
        realism=args.realism,
        lpips=args.lpips_weights,
    )
    text = json.dumps(result, indent=2)
    if args.output:
        write_json(args.output, text)
        print(f"wrote {args.output}")
    else:
        print(text)
    return 0
