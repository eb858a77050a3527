"""``licodec eval MODEL``: RD points from real files, in CompressAI's JSON layout."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from licodec.app import evaluate, zoo
from licodec.errors import ModelError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``eval`` subcommand."""
    parser = subparsers.add_parser("eval", help="evaluate a model on an image folder")
    parser.add_argument("model", nargs="?", default=zoo.DEFAULT_MODEL)
    parser.add_argument("--qualities", type=int, nargs="+", help="default: every shipped one")
    parser.add_argument("--images", type=Path, default=Path("../shared/data/kodak"))
    parser.add_argument("--weights-dir", type=Path, help="folder of {model}-q{q}.safetensors")
    parser.add_argument("-o", "--output", type=Path, help="write the JSON here")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Evaluate, print the JSON or write it."""
    qualities = args.qualities or zoo.shipped_qualities(args.model)
    if not qualities:
        raise ModelError(f"no shipped weights for {args.model}: pass --qualities")
    result = evaluate.evaluate(
        args.model, qualities, evaluate.image_files(args.images), args.weights_dir
    )
    text = json.dumps(result, indent=2)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text + "\n")
        print(f"wrote {args.output}")
    else:
        print(text)
    return 0
