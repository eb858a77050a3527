"""licodec: learned image compression that writes real files.

>>> import licodec
>>> data = licodec.compress("photo.png")            # bytes of a .lic file
>>> image = licodec.decompress(data)                 # PIL.Image.Image
>>> data = licodec.compress("clip.y4m")             # 4:2:0 planes, the YUV model
>>> planes = licodec.decompress_yuv(data)            # licodec.core.yuv.YuvPlanes

The model and quality are read from the file when decoding. Defaults come from the
weights shipped in the package (:mod:`licodec.app.zoo`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, BinaryIO

from PIL import Image

from licodec.core.bitstream import Container
from licodec.core.image import DEFAULT_MAX_PIXELS, ImageLike
from licodec.core.yuv import YuvPlanes
from licodec.errors import (
    BitstreamError,
    BudgetError,
    ImageInputError,
    LicodecError,
    ModelError,
)
from licodec.models import CompressionModel

__version__ = "0.1.0"
__all__ = [
    "BitstreamError",
    "BudgetError",
    "ImageInputError",
    "LicodecError",
    "ModelError",
    "__version__",
    "compress",
    "decompress",
    "decompress_yuv",
]


def compress(
    image: ImageLike | YuvPlanes,
    model: str | CompressionModel | None = None,
    quality: int | None = None,
    weights: str | os.PathLike | None = None,
    max_bytes: int | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    **side: Any,
) -> bytes:
    """Compress an image (PIL image, H×W×C uint8 array, path, bytes of an image file or a
    binary file object) or 4:2:0 planes (:class:`~licodec.core.yuv.YuvPlanes`, a ``.y4m``
    path) into ``.lic`` bytes.

    Args:
        model: a registered model name (default: the zoo's default, its YUV model for
            planes) or a model instance.
        quality: the quality of a named model (default: the middle shipped quality).
        weights: a ``.safetensors`` file for a named model (default: shipped weights).
        max_bytes: instead of a quality, a size budget: the file of the highest shipped
            quality that fits it (:mod:`licodec.app.ratecontrol`; :class:`BudgetError` if
            none does).
        max_pixels: larger pictures are refused (``ImageInputError``) before decoding.
        side: the model's side inputs, e.g. ``labels=`` (an ``H×W`` uint8 class map) and
            ``keep=`` (a :class:`~licodec.core.labels.KeepRule`) for ``gan-sc``.
    """
    from licodec.app import codec, ratecontrol, zoo
    from licodec.core.yuv import is_yuv_path

    yuv = isinstance(image, YuvPlanes) or is_yuv_path(image)
    default = zoo.DEFAULT_YUV_MODEL if yuv else zoo.DEFAULT_MODEL
    if max_bytes is not None:
        if quality is not None or weights is not None or isinstance(model, CompressionModel):
            raise ModelError("max_bytes picks a shipped quality: pass no quality or weights")
        if side:
            raise ModelError("max_bytes takes no side inputs")
        model = model or default
        return ratecontrol.encode_within(image, max_bytes, model, max_pixels=max_pixels)[0]
    if not isinstance(model, CompressionModel):
        model = zoo.load_model(model or default, quality, weights)
    return codec.encode(image, model, max_pixels, side=side)


def decompress(
    data: bytes | str | os.PathLike | BinaryIO,
    model: CompressionModel | None = None,
    weights: str | os.PathLike | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> Image.Image:
    """Decode a ``.lic`` file (bytes, a path or a binary file object) into a PIL image (RGB,
    or L for grayscale originals).

    The model named in the file is loaded from the zoo (or ``weights``) unless a model
    instance is given, which must match the file. Files claiming more than ``max_pixels``
    pixels are refused before anything is allocated.
    """
    from licodec.app import codec

    container, model = _open(data, model, weights)
    return codec.decode(container, model, max_pixels)


def _open(
    data: bytes | str | os.PathLike | BinaryIO,
    model: CompressionModel | None,
    weights: str | os.PathLike | None,
) -> tuple[Container, CompressionModel]:
    """The parsed file and the model that decodes it (the file's, unless given)."""
    from licodec.app import codec, zoo

    if isinstance(data, str | os.PathLike):
        data = Path(data).read_bytes()
    elif hasattr(data, "read"):
        data = data.read()
    container = codec.read(data)
    if model is None:
        header = container.header
        model = zoo.load_model(header.model, header.quality, weights)
    return container, model


def decompress_yuv(
    data: bytes | str | os.PathLike | BinaryIO,
    model: CompressionModel | None = None,
    weights: str | os.PathLike | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> YuvPlanes:
    """Decode a ``.lic`` file into 4:2:0 planes (a YUV model's as decoded, an RGB model's
    converted with BT.709, :mod:`licodec.core.yuv`); arguments as :func:`decompress`."""
    from licodec.app import codec

    container, model = _open(data, model, weights)
    return codec.decode_planes(container, model, max_pixels)
