"""``licodec calibrate WEIGHTS --data DIR``: add the integer (fixed-point) path to weights."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from licodec.app.calibration import DEFAULT_CROP, DEFAULT_CROPS, calibrate_weights


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``calibrate`` subcommand."""
    parser = subparsers.add_parser(
        "calibrate",
        help="add the bit-exact integer path to a weights file",
        description=(
            "Post-training fixed-point quantization of the networks that decide entropy-coding "
            "probabilities (int8 per-channel weights, calibrated activation units, exact "
            "integer accumulation), calibrated on random crops of training images. Files "
            "written with the result decode bit-exactly on any machine."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("weights", type=Path, help=".safetensors with its JSON manifest")
    parser.add_argument("--data", type=Path, required=True, help="folder of training images")
    parser.add_argument("-o", "--output", type=Path, help="output weights (default: in place)")
    parser.add_argument("--crops", type=int, default=DEFAULT_CROPS, help="calibration crops")
    parser.add_argument("--crop", type=int, default=DEFAULT_CROP, help="crop side (×64)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Calibrate and export; print where the weights went."""
    start = time.perf_counter()
    output = calibrate_weights(args.weights, args.data, args.output, args.crops, args.crop)
    seconds = time.perf_counter() - start
    print(f"{args.weights} -> {output}: integer path from {args.crops} crops ({seconds:.1f} s)")
    return 0
