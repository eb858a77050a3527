"""Images to ``.lic`` bytes and back with a :class:`~licodec.models.CompressionModel`."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from licodec.core.bitstream import Container, Flags, Header, pack, unpack
from licodec.core.image import ImageLike, load_image, to_output_image, to_pixels, to_tensor
from licodec.errors import BitstreamError, ModelError
from licodec.models import CompressionModel


def encode(image: ImageLike, model: CompressionModel) -> bytes:
    """Compress ``image`` with ``model`` into the bytes of a ``.lic`` file.

    The header's ``INTEGER_PATH`` flag records whether the entropy parameters came from the
    model's fixed-point path (see :meth:`CompressionModel.calibrate`).
    """
    pixels, colour = load_image(image)
    height, width = pixels.shape[:2]
    model.eval()
    sections, _ = model.compress(to_tensor(pixels))
    flags = Flags.INTEGER_PATH if model.integer_path else Flags.NONE
    header = Header(model.name, model.quality, height, width, colour, flags)
    return pack(header, sections)


def read(data: bytes) -> Container:
    """Validate a file's bytes and return its header and sections."""
    return unpack(data)


def decode(data: bytes | Container, model: CompressionModel) -> Image.Image:
    """Decompress ``.lic`` bytes with ``model``, which must be the model that wrote them."""
    container = data if isinstance(data, Container) else unpack(data)
    return to_output_image(decode_pixels(container, model), container.header.colour)


def decode_pixels(container: Container, model: CompressionModel) -> np.ndarray:
    """The decoded H×W×3 uint8 pixels of a parsed file, computing the entropy parameters with
    the path (integer or float) that the file's flags name.

    Raises:
        BitstreamError: the file belongs to another model or is malformed.
        ModelError: the file was written by the integer path and ``model`` has no
            fixed-point calibration.
    """
    header = container.header
    if (header.model, header.quality) != (model.name, model.quality):
        raise BitstreamError(
            f"file was written by {header.model} q{header.quality}, "
            f"not {model.name} q{model.quality}"
        )
    if len(container.sections) != model.n_sections:
        raise BitstreamError(
            f"malformed file: {len(container.sections)} sections, {model.name} writes "
            f"{model.n_sections}"
        )
    integer = bool(header.flags & Flags.INTEGER_PATH)
    if integer and not model.calibrated:
        raise ModelError(
            f"the file was written by the integer (fixed-point) path of {header.model} "
            f"q{header.quality}, but these weights have no fixed-point calibration: load "
            "calibrated weights (or call calibrate() with the encoder's calibration)"
        )
    model.eval()
    try:
        with model.coding_path(integer):
            x_hat = model.decompress(container.sections, header.height, header.width)
    except (ValueError, OverflowError, RuntimeError, IndexError) as err:
        raise BitstreamError(f"corrupted section data: {err}") from err
    return to_pixels(x_hat)


def reconstruct(image: ImageLike, model: CompressionModel) -> torch.Tensor:
    """The model's own reconstruction from rounded latents (what decoding must return)."""
    pixels, _ = load_image(image)
    model.eval()
    return model.compress(to_tensor(pixels))[1]


def file_size_bpp(data: bytes, height: int, width: int) -> float:
    """Bits per pixel of a whole file (header, sections and CRC included)."""
    return len(data) * 8 / (height * width)
