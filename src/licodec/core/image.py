"""Image input/output: every accepted input becomes an H×W×3 uint8 array plus a colour mode.

Accepted inputs and what happens to them:

* RGB, 8 bits per channel: coded as is.
* Grayscale (``L``, 2-D arrays, H×W×1): coded as R = G = B and decoded back to one channel.
* Palette, CMYK, YCbCr, LAB, HSV and 1-bit images: converted to RGB (or L for 1-bit) first.
* Alpha (RGBA, LA, palette with transparency): accepted only when every pixel is fully
  opaque, since then nothing is lost; otherwise :class:`ImageInputError` — licodec never
  drops transparency silently.
* 16-bit and float images: :class:`ImageInputError` naming the bit depth; licodec codes
  8-bit images and will not guess how to map other ranges.
* Empty images (a side of 0): :class:`ImageInputError`.
* Files (paths, bytes, file objects) are decoded by Pillow with: the EXIF orientation applied,
  so the picture is coded as viewers show it; 16-bit data refused for colour as for grey
  (Pillow would silently drop the low byte of 16-bit RGB); multi-frame files (animations,
  multi-page TIFFs) refused rather than coding frame 0 silently; pictures of more than
  ``max_pixels`` (:data:`DEFAULT_MAX_PIXELS`) refused before they are decoded.
"""

from __future__ import annotations

import io
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps, UnidentifiedImageError

from licodec.core.colour import ColourMode
from licodec.errors import ImageInputError

ImageLike = Image.Image | np.ndarray | str | os.PathLike | bytes | BinaryIO

DEFAULT_MAX_PIXELS = 200_000_000
"""Largest picture coded by default (``[D]``): with the transforms run in bands of rows,
the shipped models peak near 70 bytes per pixel plus about 1 GB (a 12000×12000 photo: 10.0
GB to encode, 7.4 GB to decode, ``benchmarks/memory.py``), so 200 MP stays within a 24 GiB
machine. Raise it with ``max_pixels`` (``--max-pixels``) where memory allows."""

_CONVERT_TO_RGB = {"P", "PA", "CMYK", "YCbCr", "LAB", "HSV", "RGBX"}
_SIXTEEN_BIT = {"I;16", "I;16B", "I;16L", "I;16N", "I", "F"}


@dataclass(frozen=True)
class LoadedImage:
    """An input picture as licodec codes it: H×W×3 uint8 ``pixels``, the ``mode`` it is
    returned in, and its ICC profile (``None`` if it has none)."""

    pixels: np.ndarray
    mode: ColourMode
    icc: bytes | None = None


def read_picture(
    image: ImageLike, max_pixels: int = DEFAULT_MAX_PIXELS, frame: int | None = None
) -> LoadedImage:
    """Load ``image`` — a PIL image, an array, a path, the bytes of an image file or a binary
    file object — with the rules of the module docstring; ``frame`` picks one frame of a
    multi-frame file.

    Raises:
        ImageInputError: unreadable file, empty, multi-frame (without ``frame``) or too large
            image, non-opaque alpha, 16-bit or float data.
    """
    if isinstance(image, np.ndarray):
        pixels, mode = _from_array(image)
        check_pixels(*pixels.shape[:2], max_pixels)
        return LoadedImage(pixels, mode)
    if isinstance(image, str | os.PathLike):
        image = open_image(Path(image), max_pixels, frame)
    elif isinstance(image, bytes | bytearray | memoryview):
        image = open_image_bytes(bytes(image), max_pixels, frame)
    elif hasattr(image, "read"):
        image = _decode(image, "the image data", max_pixels, frame)
    if not isinstance(image, Image.Image):
        raise ImageInputError(
            f"expected a PIL image, a numpy array, a path, bytes or a file object, got "
            f"{type(image).__name__}"
        )
    check_pixels(image.height, image.width, max_pixels)
    pixels, mode = _from_pil(image)
    return LoadedImage(pixels, mode, image.info.get("icc_profile") or None)


def load_image(
    image: ImageLike, max_pixels: int = DEFAULT_MAX_PIXELS
) -> tuple[np.ndarray, ColourMode]:
    """``(pixels, mode)`` of :func:`read_picture`."""
    loaded = read_picture(image, max_pixels)
    return loaded.pixels, loaded.mode


def check_pixels(height: int, width: int, max_pixels: int = DEFAULT_MAX_PIXELS) -> None:
    """Refuse a picture of more than ``max_pixels`` pixels, naming the limit and its switch.

    Raises:
        ImageInputError: the picture is larger than the limit.
    """
    if height * width > max_pixels:
        raise ImageInputError(
            f"{width}×{height} is {height * width:,} pixels, above the limit of "
            f"{max_pixels:,} (about 70 bytes of memory per pixel): raise it with "
            "--max-pixels (max_pixels=) if the machine has the memory"
        )


def open_image(
    path: Path, max_pixels: int = DEFAULT_MAX_PIXELS, frame: int | None = None
) -> Image.Image:
    """Read and decode the image file at ``path`` (any format Pillow reads).

    Raises:
        ImageInputError: missing, unreadable, multi-frame, 16-bit or too large image.
    """
    if not path.is_file():
        raise ImageInputError(f"no such image file: {path}")
    with open(path, "rb") as handle:
        return _decode(handle, str(path), max_pixels, frame)


def open_image_bytes(
    data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS, frame: int | None = None
) -> Image.Image:
    """Decode the bytes of an image file (see :func:`open_image`)."""
    if not data:
        raise ImageInputError("empty input: no image data")
    return _decode(io.BytesIO(data), "the image data", max_pixels, frame)


def _decode(handle: BinaryIO, name: str, max_pixels: int, frame: int | None) -> Image.Image:
    """Pillow's decode of ``handle`` with the checks of the module docstring, the size
    checked from the header before any pixel is decoded."""
    pillow_limit = Image.MAX_IMAGE_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            Image.MAX_IMAGE_PIXELS = None  # our own limit, checked from the header below
            image = Image.open(handle)
            Image.MAX_IMAGE_PIXELS = pillow_limit
            check_pixels(image.height, image.width, max_pixels)
            frames = getattr(image, "n_frames", 1)
            if frame is None and frames > 1:
                raise ImageInputError(
                    f"{name} holds {frames} frames (an animation or multi-page file): "
                    f"licodec codes one picture; pick one with --frame N (0..{frames - 1})"
                )
            if frame is not None:
                if not 0 <= frame < frames:
                    raise ImageInputError(f"{name} has no frame {frame} (frames 0..{frames - 1})")
                image.seek(frame)
                check_pixels(image.height, image.width, max_pixels)
            if any(";16" in str(tile[3]) for tile in getattr(image, "tile", [])):
                raise ImageInputError(
                    f"{name} has 16 bits per channel: licodec codes 8-bit pictures; "
                    "convert it to 8 bits per channel first"
                )
            image.load()
            icc = image.info.get("icc_profile")
            upright = ImageOps.exif_transpose(image)
            if icc:
                upright.info["icc_profile"] = icc
            return upright
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise ImageInputError(f"{name} is too large to decode safely: {err}") from err
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as err:
        if isinstance(err, ImageInputError):
            raise
        raise ImageInputError(f"cannot read {name} as an image: {err}") from err
    finally:
        Image.MAX_IMAGE_PIXELS = pillow_limit


def _from_pil(image: Image.Image) -> tuple[np.ndarray, ColourMode]:
    if image.width == 0 or image.height == 0:
        raise ImageInputError(f"empty image ({image.width}×{image.height})")
    mode = image.mode
    if mode in _SIXTEEN_BIT:
        raise ImageInputError(
            f"{mode} images (16-bit or float) are not supported: convert to 8 bits per channel"
        )
    if mode == "P" and "transparency" in image.info:
        image, mode = image.convert("RGBA"), "RGBA"
    if mode == "1":
        image, mode = image.convert("L"), "L"
    if mode in _CONVERT_TO_RGB:
        image, mode = image.convert("RGB"), "RGB"
    if mode in ("RGBA", "LA", "La", "RGBa"):
        alpha = np.asarray(image.getchannel("A"))
        _require_opaque(alpha)
        mode = "L" if mode.startswith("L") else "RGB"
        image = image.convert(mode)
    if mode == "L":
        return _gray_to_rgb(np.asarray(image)), ColourMode.GRAY
    if mode != "RGB":
        raise ImageInputError(f"unsupported image mode {mode!r}")
    return np.ascontiguousarray(np.asarray(image, dtype=np.uint8)), ColourMode.RGB


def _from_array(array: np.ndarray) -> tuple[np.ndarray, ColourMode]:
    if array.dtype != np.uint8:
        raise ImageInputError(
            f"arrays must be uint8 (8 bits per channel), got {array.dtype}: "
            "convert 16-bit or float data yourself"
        )
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or array.shape[0] == 0 or array.shape[1] == 0:
        raise ImageInputError(f"expected an H×W or H×W×C array with H, W >= 1, got {array.shape}")
    if array.ndim == 2:
        return _gray_to_rgb(array), ColourMode.GRAY
    channels = array.shape[2]
    if channels == 4:
        _require_opaque(array[:, :, 3])
        array = array[:, :, :3]
    elif channels == 2:
        _require_opaque(array[:, :, 1])
        return _gray_to_rgb(array[:, :, 0]), ColourMode.GRAY
    elif channels != 3:
        raise ImageInputError(f"expected 1, 2, 3 or 4 channels, got {channels}")
    return np.ascontiguousarray(array), ColourMode.RGB


def _require_opaque(alpha: np.ndarray) -> None:
    if alpha.size and int(alpha.min()) < 255:
        raise ImageInputError(
            "image has transparent pixels: licodec codes colour only and will not drop alpha; "
            "flatten it onto a background first"
        )


def _gray_to_rgb(gray: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.repeat(gray[:, :, None], 3, axis=2))


def to_output_image(pixels: np.ndarray, colour: ColourMode) -> Image.Image:
    """Build the decoded PIL image: RGB, or one channel (the mean of R, G, B) for GRAY."""
    if colour == ColourMode.GRAY:
        mean = (pixels.astype(np.uint16).sum(axis=2) + 1) // 3
        return Image.fromarray(mean.astype(np.uint8), mode="L")
    return Image.fromarray(pixels, mode="RGB")


def to_tensor(pixels: np.ndarray) -> torch.Tensor:
    """H×W×3 uint8 → 1×3×H×W float32 in [0, 1]."""
    return (
        torch.from_numpy(np.ascontiguousarray(pixels).copy())
        .permute(2, 0, 1)
        .unsqueeze(0)
        .float()
        .div_(255.0)
    )


def to_pixels(x: torch.Tensor) -> np.ndarray:
    """1×3×H×W float in [0, 1] → H×W×3 uint8, rounding half to even after clamping."""
    x = x.detach().clamp(0.0, 1.0)  # one float copy; the rest in place
    x.mul_(255.0).round_()
    return x[0].permute(1, 2, 0).to(torch.uint8).cpu().numpy()


def pad_to_multiple(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """Replicate-pad the bottom and right of N×C×H×W so H and W are multiples of ``multiple``.

    Replicating the edge costs fewer bits than zeros; :func:`crop` undoes it.
    """
    height, width = x.shape[-2:]
    pad_h = (-height) % multiple
    pad_w = (-width) % multiple
    if pad_h == 0 and pad_w == 0:
        return x
    # replicate needs a side >= 1 and pads of any size work in PyTorch's replicate mode.
    return F.pad(x, (0, pad_w, 0, pad_h), mode="replicate")


def crop(x: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Keep the top-left ``height``×``width`` of N×C×H×W."""
    return x[..., :height, :width]
