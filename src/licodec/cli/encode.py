"""``licodec encode IN -o OUT.lic``: compress an image into a real file."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from licodec.app import codec, ratecontrol, zoo
from licodec.core.bitstream import unpack
from licodec.core.image import load_image
from licodec.errors import ModelError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``encode`` subcommand."""
    parser = subparsers.add_parser("encode", help="compress an image into a .lic file")
    parser.add_argument("input", type=Path, help="image file (PNG, JPEG, ...)")
    parser.add_argument("-o", "--output", type=Path, help="output .lic (default: INPUT.lic)")
    parser.add_argument(
        "--model",
        help=f"model name (see `zoo`; default: the one --weights names, or {zoo.DEFAULT_MODEL})",
    )
    rate = parser.add_mutually_exclusive_group()
    rate.add_argument("--quality", type=int, help="quality (default: middle shipped one)")
    rate.add_argument(
        "--max-bytes", type=int, help="highest shipped quality whose file fits this many bytes"
    )
    rate.add_argument(
        "--max-bpp", type=float, help="highest shipped quality within these bits per pixel"
    )
    parser.add_argument("--weights", type=Path, help=".safetensors weights for the model")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Encode, write atomically, print the real size and time."""
    if args.max_bytes is None and args.max_bpp is None:
        model = zoo.load_model(args.model, args.quality, args.weights)
        start = time.perf_counter()
        data = codec.encode(args.input, model)
    else:  # several encodes; the time includes loading each model
        start = time.perf_counter()
        if args.weights is not None:
            raise ModelError("--max-bytes and --max-bpp pick a shipped quality: drop --weights")
        budget = args.max_bytes
        if budget is None:
            height, width = load_image(args.input)[0].shape[:2]
            budget = ratecontrol.bytes_for_bpp(args.max_bpp, height, width)
        data, _ = ratecontrol.encode_within(args.input, budget, args.model or zoo.DEFAULT_MODEL)
    seconds = time.perf_counter() - start
    output = args.output or args.input.with_suffix(".lic")
    write_atomic(output, data)
    header = unpack(data).header
    bpp = codec.file_size_bpp(data, header.height, header.width)
    print(
        f"{args.input} -> {output}: {len(data)} bytes, {bpp:.4f} bpp "
        f"({header.model} q{header.quality}, {header.width}x{header.height}, {seconds:.2f} s)"
    )
    return 0


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file, so no partial file is left."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
