"""``licodec encode IN -o OUT.lic``: compress an image into a real file.

The default output is ``IN.lic`` beside the input; an existing output is replaced only with
``-f/--force``. ``-`` reads the image from standard input, ``-o -`` writes the file to
standard output.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from PIL import Image

from licodec.app import codec, ratecontrol, zoo
from licodec.core.bitstream import unpack
from licodec.core.files import STDIO, OutputExistsError, read_input, write_output
from licodec.core.image import DEFAULT_MAX_PIXELS, load_image, open_image_bytes
from licodec.errors import ImageInputError, ModelError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``encode`` subcommand."""
    parser = subparsers.add_parser("encode", help="compress an image into a .lic file")
    parser.add_argument("input", help="image file (PNG, JPEG, ...), or - for standard input")
    parser.add_argument("-o", "--output", help="output .lic (default: INPUT.lic; - for stdout)")
    parser.add_argument("-f", "--force", action="store_true", help="replace an existing output")
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
    parser.add_argument("--frame", type=int, help="frame to code of a multi-frame input")
    parser.add_argument("--strip", action="store_true", help="drop the ICC profile")
    parser.add_argument(
        "--no-post-filter",
        action="store_true",
        help="never switch the model's post-filter on (faster encode; models with one)",
    )
    parser.add_argument(
        "--max-pixels",
        type=int,
        default=DEFAULT_MAX_PIXELS,
        help="refuse larger pictures before allocating anything",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Encode, write atomically, print the real size and time."""
    if args.output is None and args.input == STDIO:
        raise ImageInputError("encoding standard input needs -o OUTPUT (or -o - for stdout)")
    output = args.output or str(Path(args.input).with_suffix(".lic"))
    if args.max_bytes is None and args.max_bpp is None:
        model = zoo.load_model(args.model, args.quality, args.weights)
        model.try_post_filter = not args.no_post_filter
        _check_output(output, args.force)
        source = _source(args.input)
        start = time.perf_counter()
        data = codec.encode(source, model, args.max_pixels, args.frame, args.strip)
    else:  # several encodes; the time includes loading each model
        if args.weights is not None:
            raise ModelError("--max-bytes and --max-bpp pick a shipped quality: drop --weights")
        _check_output(output, args.force)
        source = _source(args.input)
        start = time.perf_counter()
        budget = args.max_bytes
        if budget is None:
            height, width = load_image(source, args.max_pixels)[0].shape[:2]
            budget = ratecontrol.bytes_for_bpp(args.max_bpp, height, width)
        data, _ = ratecontrol.encode_within(
            source, budget, args.model or zoo.DEFAULT_MODEL, max_pixels=args.max_pixels
        )
    seconds = time.perf_counter() - start
    write_output(output, lambda handle: handle.write(data), args.force)
    header = unpack(data).header
    bpp = codec.file_size_bpp(data, header.height, header.width)
    print(
        f"{args.input} -> {output}: {len(data)} bytes, {bpp:.4f} bpp "
        f"({header.model} q{header.quality}, {header.width}x{header.height}, {seconds:.2f} s)",
        file=sys.stderr if output == STDIO else sys.stdout,
    )
    return 0


def _check_output(output: str, force: bool) -> None:
    """Refuse an existing output before any work is done (``write_output`` checks again)."""
    if output != STDIO and Path(output).exists() and not force:
        raise OutputExistsError(f"{output} exists: pass -f/--force to replace it")


def _source(name: str) -> Path | Image.Image:
    """The input image: a path, or the decoded bytes of standard input."""
    return open_image_bytes(read_input(name)) if name == STDIO else Path(name)
