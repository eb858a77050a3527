"""``licodec encode IN -o OUT.lic``: compress an image into a real file.

4:2:0 inputs — ``.y4m`` (``--frame N`` picks a frame of several) or raw ``.yuv`` (``--size
WxH``, ``--pix-fmt``) — are coded by the zoo's YUV model unless ``--model`` names another.

The default output is ``IN.lic`` beside the input; an existing output is replaced only with
``-f/--force``. ``-`` reads the image from standard input, ``-o -`` writes the file to
standard output.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from PIL import Image

from licodec.app import codec, ratecontrol, zoo
from licodec.core.bitstream import unpack
from licodec.core.files import STDIO, OutputExistsError, read_input, write_output
from licodec.core.image import DEFAULT_MAX_PIXELS, load_image, open_image_bytes
from licodec.core.labels import DEFAULT_MARGIN, KeepRule, parse_classes, read_label_map
from licodec.core.yuv import PIX_FMTS, YuvPlanes, is_yuv_path, read_y4m, read_yuv
from licodec.errors import ImageInputError, ModelError
from licodec.models import CompressionModel


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
    parser.add_argument("--size", help="WxH of a raw .yuv input")
    parser.add_argument(
        "--pix-fmt", choices=sorted(PIX_FMTS), default="yuv420p", help="layout of a raw .yuv"
    )
    parser.add_argument("--strip", action="store_true", help="drop the ICC profile")
    parser.add_argument(
        "--no-post-filter",
        action="store_true",
        help="never switch the model's post-filter on (faster encode; models with one)",
    )
    parser.add_argument(
        "--labels", type=Path, help="label map PNG of class ids (selective models, gan-sc)"
    )
    keep = parser.add_mutually_exclusive_group()
    keep.add_argument(
        "--keep-classes", help="code only these classes, e.g. car,pedestrian (with --labels)"
    )
    keep.add_argument("--keep-box", help="code only the box X0,Y0,X1,Y1 (pixels, end exclusive)")
    keep.add_argument("--keep-mask", type=Path, help="code only the non-zero pixels of this PNG")
    parser.add_argument(
        "--keep-margin",
        type=int,
        help=f"also code this many latent blocks around the kept ones (default {DEFAULT_MARGIN})",
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
    yuv = is_yuv_path(args.input)
    default = zoo.DEFAULT_YUV_MODEL if yuv else zoo.DEFAULT_MODEL
    if args.size is not None and not args.input.lower().endswith(".yuv"):
        raise ImageInputError("--size is for raw .yuv input")
    if args.max_bytes is None and args.max_bpp is None:
        model_name = args.model or (None if args.weights is not None else default)
        model = zoo.load_model(model_name, args.quality, args.weights)
        model.try_post_filter = not args.no_post_filter
        side = _side_inputs(args, model)
        _check_output(output, args.force)
        source = _source(args)
        start = time.perf_counter()
        data = codec.encode(source, model, args.max_pixels, args.frame, args.strip, side)
    else:  # several encodes; the time includes loading each model
        if any(
            v is not None
            for v in (
                args.labels,
                args.keep_classes,
                args.keep_box,
                args.keep_mask,
                args.keep_margin,
            )
        ):
            raise ModelError("--max-bytes and --max-bpp take no --labels or --keep-* options")
        if args.weights is not None:
            raise ModelError("--max-bytes and --max-bpp pick a shipped quality: drop --weights")
        _check_output(output, args.force)
        source = _source(args)
        start = time.perf_counter()
        budget = args.max_bytes
        if budget is None:
            if isinstance(source, YuvPlanes):
                height, width = source.height, source.width
            else:
                height, width = load_image(source, args.max_pixels)[0].shape[:2]
            budget = ratecontrol.bytes_for_bpp(args.max_bpp, height, width)
        data, _ = ratecontrol.encode_within(
            source, budget, args.model or default, max_pixels=args.max_pixels
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


def _side_inputs(args: argparse.Namespace, model: CompressionModel) -> dict[str, Any]:
    """The side inputs the options name: ``labels`` (a label map) and ``keep`` (a
    :class:`~licodec.core.labels.KeepRule`); the model refuses those it does not take."""
    side: dict[str, Any] = {}
    if args.labels is not None:
        side["labels"] = read_label_map(args.labels)
    if args.keep_classes is not None:
        names = getattr(model, "class_names", ())
        side["keep"] = KeepRule(classes=parse_classes(args.keep_classes, names))
    elif args.keep_box is not None:
        side["keep"] = KeepRule(box=_box(args.keep_box))
    elif args.keep_mask is not None:
        side["keep"] = KeepRule.mask_png(args.keep_mask)
    if args.keep_margin is not None:
        if "keep" not in side:
            raise ImageInputError("--keep-margin widens a --keep-classes/-box/-mask rule: name one")
        side["keep"] = replace(side["keep"], margin=args.keep_margin)
    return side


def _box(text: str) -> tuple[int, int, int, int]:
    """``"X0,Y0,X1,Y1"`` → four integers.

    Raises:
        ImageInputError: not four integers.
    """
    try:
        x0, y0, x1, y1 = (int(part) for part in text.split(","))
    except ValueError:
        raise ImageInputError(f"--keep-box is X0,Y0,X1,Y1, e.g. 0,0,128,96, got {text!r}") from None
    return x0, y0, x1, y1


def _source(args: argparse.Namespace) -> Path | Image.Image | YuvPlanes:
    """The input picture: a path, the decoded bytes of standard input, or the planes of a
    ``.y4m`` / ``.yuv`` file."""
    name = args.input
    if name == STDIO:
        return open_image_bytes(read_input(name))
    if name.lower().endswith(".y4m"):
        return read_y4m(name, args.frame)
    if name.lower().endswith(".yuv"):
        if args.size is None:
            raise ImageInputError(f"{name}: a raw .yuv input needs --size WxH (and --pix-fmt)")
        return read_yuv(name, *_size(args.size), args.pix_fmt, args.frame)
    return Path(name)


def _size(text: str) -> tuple[int, int]:
    """``"WxH"`` → ``(W, H)``.

    Raises:
        ImageInputError: not two positive integers joined by ``x``.
    """
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise ImageInputError(f"--size is WxH, e.g. 768x512, got {text!r}") from None
    if width < 1 or height < 1:
        raise ImageInputError(f"--size must be positive, got {text!r}")
    return width, height
