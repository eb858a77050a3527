"""licodec: learned image compression that writes real files.

>>> import licodec
>>> data = licodec.compress("photo.png")            # bytes of a .lic file
>>> image = licodec.decompress(data)                 # PIL.Image.Image

The model and quality are read from the file when decoding. Defaults come from the
weights shipped in the package (:mod:`licodec.app.zoo`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

from PIL import Image

from licodec.core.image import DEFAULT_MAX_PIXELS, ImageLike
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
]


def compress(
    image: ImageLike,
    model: str | CompressionModel | None = None,
    quality: int | None = None,
    weights: str | os.PathLike | None = None,
    max_bytes: int | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> bytes:
    """Compress an image (PIL image, H×W×C uint8 array, path, bytes of an image file or a
    binary file object) into ``.lic`` bytes.

    Args:
        model: a registered model name (default: the zoo's default) or a model instance.
        quality: the quality of a named model (default: the middle shipped quality).
        weights: a ``.safetensors`` file for a named model (default: shipped weights).
        max_bytes: instead of a quality, a size budget: the file of the highest shipped
            quality that fits it (:mod:`licodec.app.ratecontrol`; :class:`BudgetError` if
            none does).
        max_pixels: larger pictures are refused (``ImageInputError``) before decoding.
    """
    from licodec.app import codec, ratecontrol, zoo

    if max_bytes is not None:
        if quality is not None or weights is not None or isinstance(model, CompressionModel):
            raise ModelError("max_bytes picks a shipped quality: pass no quality or weights")
        model = model or zoo.DEFAULT_MODEL
        return ratecontrol.encode_within(image, max_bytes, model, max_pixels=max_pixels)[0]
    if not isinstance(model, CompressionModel):
        model = zoo.load_model(model or zoo.DEFAULT_MODEL, quality, weights)
    return codec.encode(image, model, max_pixels)


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
    from licodec.app import codec, zoo

    if isinstance(data, str | os.PathLike):
        data = Path(data).read_bytes()
    elif hasattr(data, "read"):
        data = data.read()
    container = codec.read(data)
    if model is None:
        header = container.header
        model = zoo.load_model(header.model, header.quality, weights)
    return codec.decode(container, model, max_pixels)
