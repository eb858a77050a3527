"""Inputs of every layout: converted where nothing is lost, refused with a reason otherwise."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from licodec.core.colour import ColourMode
from licodec.core.image import load_image, to_output_image
from licodec.errors import ImageInputError


def test_rgb_array_passes_through() -> None:
    pixels = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    out, colour = load_image(pixels)
    assert colour == ColourMode.RGB and np.array_equal(out, pixels)


@pytest.mark.parametrize("gray", [np.full((4, 5), 7, np.uint8), np.full((4, 5, 1), 7, np.uint8)])
def test_grayscale_arrays_become_gray_rgb(gray: np.ndarray) -> None:
    out, colour = load_image(gray)
    assert colour == ColourMode.GRAY and out.shape == (4, 5, 3) and (out == 7).all()


def test_gray_output_is_single_channel_mean() -> None:
    pixels = np.zeros((2, 2, 3), np.uint8)
    pixels[..., 0], pixels[..., 1], pixels[..., 2] = 10, 11, 13
    image = to_output_image(pixels, ColourMode.GRAY)
    assert image.mode == "L" and np.asarray(image)[0, 0] == 11


def test_opaque_alpha_is_dropped_losslessly_and_transparent_alpha_refused() -> None:
    rgba = np.full((3, 3, 4), 200, np.uint8)
    rgba[..., 3] = 255
    out, colour = load_image(Image.fromarray(rgba, "RGBA"))
    assert colour == ColourMode.RGB and (out == 200).all()
    rgba[1, 1, 3] = 0
    with pytest.raises(ImageInputError, match="transparent"):
        load_image(rgba)


@pytest.mark.parametrize("mode", ["P", "CMYK", "YCbCr", "1"])
def test_other_modes_are_converted(mode: str) -> None:
    """Palette, CMYK and YCbCr become Pillow's RGB values; bilevel becomes grey."""
    gradient = np.stack(np.meshgrid(np.arange(6) * 40, np.arange(4) * 60), -1).astype(np.uint8)
    image = Image.fromarray(np.dstack([gradient, gradient[..., :1]]), "RGB").convert(mode)
    out, colour = load_image(image)
    if mode == "1":
        grey = np.asarray(image.convert("L"))
        assert colour == ColourMode.GRAY and np.array_equal(out, np.dstack([grey] * 3))
    else:
        assert colour == ColourMode.RGB and np.array_equal(out, np.asarray(image.convert("RGB")))
    assert len(np.unique(out)) >= 2  # the test image is not flat


def test_sixteen_bit_and_float_inputs_are_refused() -> None:
    with pytest.raises(ImageInputError, match="16-bit"):
        load_image(Image.new("I;16", (4, 4)))
    with pytest.raises(ImageInputError, match="uint8"):
        load_image(np.zeros((4, 4, 3), np.uint16))
    with pytest.raises(ImageInputError, match="uint8"):
        load_image(np.zeros((4, 4, 3), np.float32))


def test_empty_images_and_missing_files_are_refused(tmp_path) -> None:
    with pytest.raises(ImageInputError, match="H, W >= 1"):
        load_image(np.zeros((0, 4, 3), np.uint8))
    with pytest.raises(ImageInputError, match="no such image"):
        load_image(tmp_path / "missing.png")
    (tmp_path / "junk.png").write_bytes(b"not an image")
    with pytest.raises(ImageInputError, match="cannot read"):
        load_image(tmp_path / "junk.png")
