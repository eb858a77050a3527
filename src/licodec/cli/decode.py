"""``licodec decode IN.lic -o OUT.png``: decode a file back into an image.

The default output is ``IN.decoded.png`` beside the input, so decoding never lands on the
original picture (``photo.png`` → ``photo.lic`` → ``photo.decoded.png``); an existing output
is replaced only with ``-f/--force``. ``-`` reads the file from standard input; ``-o -``
writes a PNG to standard output. The image format follows the output's suffix; ``.y4m`` and
``.yuv`` (raw ``yuv420p`` / ``yuv420p10le``) write 4:2:0 planes — a YUV model's as decoded,
an RGB model's converted (BT.709, :mod:`licodec.core.yuv`).
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path

from PIL import Image

from licodec.app import codec, zoo
from licodec.core.files import STDIO, OutputPathError, is_stream, read_input, write_output
from licodec.core.image import DEFAULT_MAX_PIXELS
from licodec.core.yuv import y4m_bytes, yuv_bytes
from licodec.errors import ImageInputError

DEFAULT_SUFFIX = ".decoded.png"
PLANE_WRITERS = {".y4m": y4m_bytes, ".yuv": yuv_bytes}
"""Output suffixes written as 4:2:0 planes."""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``decode`` subcommand."""
    parser = subparsers.add_parser("decode", help="decode a .lic file into an image")
    parser.add_argument("input", help=".lic file, or - for standard input")
    parser.add_argument(
        "-o", "--output", help=f"output image (default: INPUT{DEFAULT_SUFFIX}; - for stdout)"
    )
    parser.add_argument("-f", "--force", action="store_true", help="replace an existing output")
    parser.add_argument("--weights", type=Path, help=".safetensors weights for the file's model")
    parser.add_argument(
        "--max-pixels",
        type=int,
        default=DEFAULT_MAX_PIXELS,
        help="refuse larger pictures before allocating anything",
    )
    parser.set_defaults(func=run)


def output_format(output: str) -> str:
    """Pillow's format name for the output's suffix (PNG for standard output, pipes and
    devices).

    Raises:
        ImageInputError: no suffix, or one Pillow cannot write.
        OutputPathError: the output is a directory.
    """
    if is_stream(output):
        return "PNG"
    if Path(output).is_dir():
        raise OutputPathError(f"cannot write {output}: it is a directory")
    suffix = Path(output).suffix.lower()
    if suffix in PLANE_WRITERS:
        return suffix
    name = Image.registered_extensions().get(suffix)
    if name is None or name not in Image.SAVE:
        raise ImageInputError(
            f"cannot tell which image format to write for {output!r}: "
            "use a suffix such as .png, .tif or .bmp"
        )
    return name


def run(args: argparse.Namespace) -> int:
    """Validate, decode, save (format from the output suffix)."""
    if args.output is None and args.input == STDIO:
        raise ImageInputError("decoding standard input needs -o OUTPUT (or -o - for stdout)")
    output = args.output or str(Path(args.input).with_suffix("")) + DEFAULT_SUFFIX
    image_format = output_format(output)
    container = codec.read(read_input(args.input))
    header = container.header
    model = zoo.load_model(header.model, header.quality, args.weights)
    start = time.perf_counter()
    if image_format in PLANE_WRITERS:
        planes = codec.decode_planes(container, model, args.max_pixels)
        seconds = time.perf_counter() - start
        buffer = io.BytesIO(PLANE_WRITERS[image_format](planes))
        described = f"{planes.width}x{planes.height} YUV 4:2:0 {planes.bits}-bit"
    else:
        image = codec.decode(container, model, args.max_pixels)
        seconds = time.perf_counter() - start
        buffer = io.BytesIO()
        image.save(buffer, format=image_format)
        described = f"{image.width}x{image.height} {image.mode}"
    write_output(output, lambda handle: handle.write(buffer.getvalue()), args.force)
    print(
        f"{args.input} -> {output}: {described}, {seconds:.2f} s",
        file=sys.stderr if output == STDIO else sys.stdout,
    )
    return 0
