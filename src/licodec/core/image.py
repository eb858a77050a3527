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
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, UnidentifiedImageError

from licodec.core.colour import ColourMode
from licodec.errors import ImageInputError

ImageLike = Image.Image | np.ndarray | str | os.PathLike

_CONVERT_TO_RGB = {"P", "PA", "CMYK", "YCbCr", "LAB", "HSV", "RGBX"}
_SIXTEEN_BIT = {"I;16", "I;16B", "I;16L", "I;16N", "I", "F"}


def load_image(image: ImageLike) -> tuple[np.ndarray, ColourMode]:
    """Return ``(pixels, colour)`` with ``pixels`` an H×W×3 uint8 array.

    Raises:
        ImageInputError: unreadable file, empty image, non-opaque alpha, 16-bit or float data.
    """
    if isinstance(image, np.ndarray):
        return _from_array(image)
    if isinstance(image, str | os.PathLike):
        image = open_image(Path(image))
    if not isinstance(image, Image.Image):
        raise ImageInputError(
            f"expected a PIL image, a numpy array or a path, got {type(image).__name__}"
        )
    return _from_pil(image)


def open_image(path: Path) -> Image.Image:
    """Read and decode the image file at ``path`` (any format Pillow reads).

    Raises:
        ImageInputError: missing or unreadable file.
    """
    if not path.is_file():
        raise ImageInputError(f"no such image file: {path}")
    try:
        image = Image.open(path)
        image.load()
    except (UnidentifiedImageError, OSError) as err:
        raise ImageInputError(f"cannot read {path} as an image: {err}") from err
    return image


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
    x = x.detach().clamp(0.0, 1.0).mul(255.0).round()
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
