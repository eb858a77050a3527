"""``licodec decode IN.lic -o OUT.png``: decode a file back into an image."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from licodec.app import codec, zoo


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``decode`` subcommand."""
    parser = subparsers.add_parser("decode", help="decode a .lic file into an image")
    parser.add_argument("input", type=Path, help=".lic file")
    parser.add_argument("-o", "--output", type=Path, help="output image (default: INPUT.png)")
    parser.add_argument("--weights", type=Path, help=".safetensors weights for the file's model")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Validate, decode, save (format from the output suffix)."""
    container = codec.read(args.input.read_bytes())
    header = container.header
    model = zoo.load_model(header.model, header.quality, args.weights)
    start = time.perf_counter()
    image = codec.decode(container, model)
    seconds = time.perf_counter() - start
    output = args.output or args.input.with_suffix(".png")
    tmp = output.with_name(output.name + ".tmp" + output.suffix)
    image.save(tmp)
    tmp.replace(output)
    print(f"{args.input} -> {output}: {image.width}x{image.height} {image.mode}, {seconds:.2f} s")
    return 0
