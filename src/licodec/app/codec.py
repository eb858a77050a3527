"""Images to ``.lic`` bytes and back with a :class:`~licodec.models.CompressionModel`."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from licodec.components.entropy.coder import unsealed_streams
from licodec.core.bitstream import Container, Flags, Header, SectionTag, pack, unpack
from licodec.core.colour import CodedFormat, ColourMode
from licodec.core.image import (
    DEFAULT_MAX_PIXELS,
    ImageLike,
    check_pixels,
    load_image,
    read_picture,
    to_output_image,
    to_pixels,
    to_tensor,
)
from licodec.core.picture import Coded, Picture
from licodec.core.yuv import (
    YuvPlanes,
    is_yuv_path,
    picture_to_planes,
    planes_to_picture,
    read_y4m,
    rgb_to_yuv420,
    yuv420_to_rgb,
)
from licodec.errors import BitstreamError, ImageInputError, ModelError
from licodec.models import CompressionModel
from licodec.models.identity import format_id

ICC_MAX_BYTES = 4 << 20
"""Largest ICC profile a file carries (``[D]``: real profiles are a few kB to about 1 MB)."""

OPTIONAL_SECTIONS = frozenset({SectionTag.ICC})
"""Sections the codec (not the model) may add after the model's sections."""


def encode(
    image: ImageLike | YuvPlanes,
    model: CompressionModel,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    frame: int | None = None,
    strip: bool = False,
    side: dict[str, Any] | None = None,
) -> bytes:
    """Compress ``image`` with ``model`` into the bytes of a ``.lic`` file.

    ``image`` is anything :func:`~licodec.core.image.read_picture` reads, or 4:2:0 planes
    (:class:`~licodec.core.yuv.YuvPlanes`, or the path of a ``.y4m`` file); it is converted
    to the planes the model codes (:func:`picture_of`). The header's ``INTEGER_PATH`` flag
    records whether the entropy parameters came from the model's fixed-point path (see
    :meth:`CompressionModel.calibrate`), and its weights id which weights wrote it. The
    picture's ICC profile travels in an ``ICC`` section (after the model's sections) unless
    ``strip``; ``frame`` picks one frame of a multi-frame file; ``side`` holds the model's
    side inputs (e.g. ``labels`` and ``keep`` of ``gan-sc``).
    """
    picture, mode, icc = picture_of(image, model, max_pixels, frame)
    model.eval()
    coded = model.compress(picture, **(side or {}))
    sections, tags = list(coded.sections), list(model.section_tags)
    if icc and not strip and _is_icc(icc):
        sections.append(icc)
        tags.append(SectionTag.ICC)
    flags = Flags.INTEGER_PATH if model.integer_path else Flags.NONE
    header = Header(
        model.name, model.quality, picture.height, picture.width, mode, flags,
        model.input_format, coded.model_flags, model.weights_id,
    )  # fmt: skip
    return pack(header, sections, tags)


def picture_of(
    image: ImageLike | YuvPlanes,
    model: CompressionModel,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    frame: int | None = None,
) -> tuple[Picture, ColourMode, bytes | None]:
    """``(picture, mode, ICC profile)``: ``image`` as the planes ``model`` codes, and how the
    decoder returns it.

    4:2:0 planes (or a ``.y4m`` path) go to a YUV model as they are and come back as planes
    (``ColourMode.YUV``); an RGB model gets them converted to RGB
    (:func:`~licodec.core.yuv.yuv420_to_rgb`). An RGB or grey image goes to a YUV model
    converted by :func:`~licodec.core.yuv.rgb_to_yuv420` and comes back in its own mode.

    Raises:
        ImageInputError: unreadable or refused input (see :func:`read_picture`,
            :func:`~licodec.core.yuv.read_y4m`), a raw ``.yuv`` path (its size is not in
            the file: read it with :func:`~licodec.core.yuv.read_yuv`).
        ModelError: planes of another bit depth than the model codes.
    """
    if is_yuv_path(image):
        if Path(image).suffix.lower() == ".yuv":
            raise ImageInputError(
                f"{image}: a raw .yuv file does not say its size: pass --size WxH "
                "(and --pix-fmt), or read it with licodec.core.yuv.read_yuv"
            )
        image = read_y4m(image, frame)
    if isinstance(image, YuvPlanes):
        check_pixels(image.height, image.width, max_pixels)
        if model.input_format == CodedFormat.RGB444:
            return Picture.rgb(to_tensor(yuv420_to_rgb(image))), ColourMode.RGB, None
        return model.picture(planes_to_picture(image)), ColourMode.YUV, None
    loaded = read_picture(image, max_pixels, frame)
    if model.input_format == CodedFormat.RGB444:
        return Picture.rgb(to_tensor(loaded.pixels)), loaded.mode, loaded.icc
    return model.picture(planes_to_picture(rgb_to_yuv420(loaded.pixels))), loaded.mode, loaded.icc


def read(data: bytes) -> Container:
    """Validate a file's bytes and return its header and sections."""
    return unpack(data)


def decode(
    data: bytes | Container, model: CompressionModel, max_pixels: int = DEFAULT_MAX_PIXELS
) -> Image.Image:
    """Decompress ``.lic`` bytes with ``model``, which must be the model that wrote them, into
    an image (RGB, or grey for grey originals; 4:2:0 planes are converted to RGB — use
    :func:`decode_planes` to keep them)."""
    container = data if isinstance(data, Container) else unpack(data)
    pixels = decode_pixels(container, model, max_pixels)
    mode = container.header.mode
    image = to_output_image(pixels, ColourMode.RGB if mode == ColourMode.YUV else mode)
    icc = extra_sections(container, model).get(SectionTag.ICC)
    if icc is not None:
        image.info["icc_profile"] = icc
    return image


def decode_planes(
    data: bytes | Container, model: CompressionModel, max_pixels: int = DEFAULT_MAX_PIXELS
) -> YuvPlanes:
    """The decoded picture as 4:2:0 planes: a YUV model's as decoded, an RGB model's
    converted (:func:`~licodec.core.yuv.rgb_to_yuv420`)."""
    container = data if isinstance(data, Container) else unpack(data)
    picture = decode_picture(container, model, max_pixels)
    if picture.format == CodedFormat.RGB444:
        return rgb_to_yuv420(to_pixels(picture.tensor))
    return picture_to_planes(picture)


def decode_pixels(
    container: Container, model: CompressionModel, max_pixels: int = DEFAULT_MAX_PIXELS
) -> np.ndarray:
    """The decoded H×W×3 uint8 pixels of a parsed file (4:2:0 planes converted to RGB)."""
    picture = decode_picture(container, model, max_pixels)
    if picture.format == CodedFormat.RGB444:
        return to_pixels(picture.tensor)
    return yuv420_to_rgb(picture_to_planes(picture))


def decode_picture(
    container: Container, model: CompressionModel, max_pixels: int = DEFAULT_MAX_PIXELS
) -> Picture:
    """The decoded :class:`Picture` of a parsed file, computing the entropy parameters with
    the path (integer or float) that the file's flags name.

    Raises:
        BitstreamError: the file belongs to another model, does not hold the sections or
            flags the model writes, or its data is corrupted.
        ModelError: the file was written with other weights (another weights id), or by the
            integer path and ``model`` has no fixed-point calibration.
    """
    header = container.header
    check_pixels(header.height, header.width, max_pixels)  # before anything is allocated
    check_fits(container, model)
    integer = bool(header.flags & Flags.INTEGER_PATH)
    model.eval()
    legacy = unsealed_streams() if container.version == 1 else nullcontext()
    try:
        with model.coding_path(integer), legacy:
            coded = Coded(container.sections[: len(model.section_tags)], header.model_flags)
            return model.decompress(coded, header.height, header.width)
    except BitstreamError:
        raise
    except (ValueError, OverflowError, RuntimeError, IndexError) as err:
        raise BitstreamError(f"corrupted section data: {err}") from err


def check_fits(container: Container, model: CompressionModel) -> None:
    """Refuse a file that ``model`` did not write: another model or quality, other weights,
    another coded format, model flags it does not own, or sections it does not write."""
    header = container.header
    if (header.model, header.quality) != (model.name, model.quality):
        raise BitstreamError(
            f"file was written by {header.model} q{header.quality}, "
            f"not {model.name} q{model.quality}"
        )
    if header.flags & Flags.INTEGER_PATH and not model.calibrated:
        raise ModelError(
            f"the file was written by the integer (fixed-point) path of {header.model} "
            f"q{header.quality}, but these weights have no fixed-point calibration: load "
            "calibrated weights (or call calibrate() with the encoder's calibration)"
        )
    if header.weights_id is not None and header.weights_id != model.weights_id:
        raise ModelError(
            f"the file was written with weights {format_id(header.weights_id)} of "
            f"{header.model} q{header.quality}, these weights are {format_id(model.weights_id)}: "
            "decode with the weights that wrote it"
        )
    if header.format != model.input_format:
        raise BitstreamError(
            f"malformed header: {model.name} codes {model.input_format.name}, the file says "
            f"{header.format.name}"
        )
    model.check_model_flags(header.model_flags)
    expected = model.section_tags
    if container.tags is None:  # format v1: untagged
        if len(container.sections) != len(expected):
            raise BitstreamError(
                f"malformed file: {len(container.sections)} sections, {model.name} writes "
                f"{len(expected)}"
            )
    elif container.tags[: len(expected)] != expected:
        raise BitstreamError(
            f"malformed file: sections {[t.name for t in container.tags]}, {model.name} "
            f"writes {[t.name for t in expected]}"
        )
    extra_sections(container, model)


def extra_sections(container: Container, model: CompressionModel) -> dict[SectionTag, bytes]:
    """The sections after the model's own ones: optional payloads of the codec (an ICC
    profile), each at most once and validated.

    Raises:
        BitstreamError: an unknown or repeated extra section, or an ICC section that is not
            an ICC profile.
    """
    if container.tags is None:
        return {}
    count = len(model.section_tags)
    extras: dict[SectionTag, bytes] = {}
    for tag, data in zip(container.tags[count:], container.sections[count:], strict=True):
        if tag not in OPTIONAL_SECTIONS or tag in extras:
            raise BitstreamError(
                f"malformed file: {'a repeated' if tag in extras else 'an unexpected'} "
                f"{tag.name} section after the sections {model.name} writes"
            )
        if tag == SectionTag.ICC and not _is_icc(data):
            raise BitstreamError("malformed file: the ICC section does not hold an ICC profile")
        extras[tag] = data
    return extras


def _is_icc(data: bytes) -> bool:
    """An ICC profile: its header's size field matches and it bears the ``acsp`` signature."""
    return (
        128 <= len(data) <= ICC_MAX_BYTES
        and data[36:40] == b"acsp"
        and int.from_bytes(data[:4], "big") == len(data)
    )


def reconstruct(image: ImageLike, model: CompressionModel) -> torch.Tensor:
    """The model's own reconstruction from rounded latents (what decoding must return)."""
    pixels, _ = load_image(image)
    model.eval()
    return model.compress(to_tensor(pixels), reconstruct=True).reconstruction.tensor


def file_size_bpp(data: bytes, height: int, width: int) -> float:
    """Bits per pixel of a whole file (header, sections and CRC included)."""
    return len(data) * 8 / (height * width)
