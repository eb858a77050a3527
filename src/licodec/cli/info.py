"""``licodec info IN.lic``: print a file's header (text or JSON) without decoding it."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from licodec.app import codec
from licodec.models.gan import rate_bound_of
from licodec.models.identity import format_id


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``info`` subcommand."""
    parser = subparsers.add_parser("info", help="show the header of a .lic file")
    parser.add_argument("input", type=Path, help=".lic file")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Validate the whole file (CRC included) and print its header fields."""
    data = args.input.read_bytes()
    container = codec.read(data)
    header = container.header
    info = {
        "file": str(args.input),
        "bytes": len(data),
        "bpp": codec.file_size_bpp(data, header.height, header.width),
        "model": header.model,
        "quality": header.quality,
        "width": header.width,
        "height": header.height,
        "version": container.version,
        "format": header.format.name,
        "mode": header.mode.name,
        "flags": [flag.name for flag in type(header.flags) if flag in header.flags and flag],
        "model_flags": header.model_flags,
        "weights_id": None if header.weights_id is None else format_id(header.weights_id),
        "sections": [
            {"tag": None if container.tags is None else container.tags[i].name, "bytes": len(s)}
            for i, s in enumerate(container.sections)
        ],
    }
    bound = rate_bound_of(header.model, header.quality)
    if bound is not None:
        info["rate_bound_bpp"] = bound
    if args.json:
        print(json.dumps(info))
    else:
        for key, value in info.items():
            print(f"{key:>14}: {value}")
    return 0
