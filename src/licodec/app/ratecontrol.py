"""Rate control: the highest quality whose real file fits a size budget.

Each zoo quality is its own network trained at a larger λ, so an image's file grows with the
quality; a binary search over the available qualities finds the highest one whose file is at
most ``max_bytes`` with ``⌈log2(n + 1)⌉`` encodes for ``n`` qualities. Only files that were
actually encoded and measured (header and CRC included) are returned, so the budget holds
even where the sizes of two qualities happen to cross.

A budget in bits per pixel is ``max_bytes = ⌊bpp · H · W / 8⌋`` (:func:`bytes_for_bpp`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

from licodec.app import codec, zoo
from licodec.core.image import DEFAULT_MAX_PIXELS, ImageLike, open_image, open_image_bytes
from licodec.core.yuv import is_yuv_path
from licodec.errors import BudgetError, ModelError
from licodec.models import CompressionModel

ModelLoader = Callable[[str, int], CompressionModel]


def bytes_for_bpp(bpp: float, height: int, width: int) -> int:
    """Whole bytes that a budget of ``bpp`` bits per pixel allows an ``H×W`` image.

    Raises:
        BudgetError: ``bpp`` is not positive.
    """
    if not bpp > 0:
        raise BudgetError(f"a bits-per-pixel budget must be positive, got {bpp}")
    return int(bpp * height * width // 8)


def encode_within(
    image: ImageLike,
    max_bytes: int,
    model: str = zoo.DEFAULT_MODEL,
    qualities: Sequence[int] | None = None,
    load: ModelLoader = zoo.load_model,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> tuple[bytes, int]:
    """``(file bytes, quality)`` of the highest quality whose file has at most ``max_bytes``.

    Args:
        image: what :func:`licodec.app.codec.encode` accepts.
        max_bytes: the budget for the whole file.
        model: zoo model name.
        qualities: candidates (default: the qualities whose weights ship).
        load: ``load(model, quality)`` → the model in eval mode (default: the zoo's).
        max_pixels: larger pictures are refused before they are decoded.

    Raises:
        ModelError: no candidate quality.
        BudgetError: ``max_bytes < 1``, or the lowest quality's file is already larger (the
            message gives its size).
    """
    if max_bytes < 1:
        raise BudgetError(f"a size budget must be at least one byte, got {max_bytes}")
    candidates = sorted(set(zoo.shipped_qualities(model) if qualities is None else qualities))
    if not candidates:
        raise ModelError(f"no qualities of {model!r} to choose from: none ship with weights")
    if isinstance(image, str | os.PathLike) and not is_yuv_path(image):
        image = open_image(Path(image), max_pixels)  # decode once, not once per candidate
    elif isinstance(image, bytes | bytearray | memoryview):
        image = open_image_bytes(bytes(image), max_pixels)
    elif hasattr(image, "read"):  # a file object can be read only once
        image = open_image_bytes(image.read(), max_pixels)
    best: tuple[bytes, int] | None = None
    smallest = None
    low, high = 0, len(candidates) - 1
    while low <= high:
        middle = (low + high) // 2
        data = codec.encode(image, load(model, candidates[middle]), max_pixels)
        if len(data) <= max_bytes:
            best, low = (data, candidates[middle]), middle + 1
        else:
            smallest, high = len(data), middle - 1
    if best is None:
        raise BudgetError(
            f"{max_bytes} bytes is too small for this image: {model} q{candidates[0]}, the "
            f"lowest quality, needs {smallest} bytes"
        )
    return best
