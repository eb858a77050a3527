"""Real files from untrained (seeded) models: exact decoding, real bits, every image size."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import random_image, seeded_model

import licodec
from licodec.app import codec
from licodec.core.bitstream import HEADER_OVERHEAD_MAX, unpack
from licodec.core.image import load_image, pad_to_multiple, to_pixels, to_tensor
from licodec.errors import BitstreamError

FOUNDATION_MODELS = ["bmshj2018-factorized", "bmshj2018-hyperprior", "mbt2018-mean"]


def estimated_bits(model, pixels: np.ndarray) -> float:
    """−log2 likelihood of the rounded latents, from the model's own forward pass."""
    x = pad_to_multiple(to_tensor(pixels), model.pad_multiple)
    with torch.no_grad():
        likelihoods = model(x)["likelihoods"]
    return sum(float(-torch.log2(lik.double()).sum()) for lik in likelihoods.values())


@pytest.mark.parametrize("name", FOUNDATION_MODELS)
def test_kodak_file_decodes_to_reconstruction_and_costs_its_likelihood(name, kodim01) -> None:
    model = seeded_model(name)
    pixels, _ = load_image(kodim01)
    data = licodec.compress(pixels, model=model)
    decoded = np.asarray(licodec.decompress(data, model=model))
    x = pad_to_multiple(to_tensor(pixels), model.pad_multiple)
    with torch.no_grad():
        forward = model(x)["x_hat"][..., : pixels.shape[0], : pixels.shape[1]]
    assert np.array_equal(decoded, to_pixels(forward))
    section_bits = 8 * sum(len(s) for s in unpack(data).sections)
    estimate = estimated_bits(model, pixels)
    assert section_bits <= 1.005 * estimate
    assert section_bits >= 0.99 * estimate  # the coder cannot beat the model by much
    assert len(data) * 8 <= 1.005 * estimate + 8 * HEADER_OVERHEAD_MAX


@pytest.mark.parametrize("size", [(1, 1), (7, 13), (13, 7), (64, 64), (769, 513)])
def test_any_size_round_trips(size) -> None:
    model = seeded_model("mbt2018-mean")
    pixels = random_image(*size)
    data = codec.encode(pixels, model)
    decoded = np.asarray(codec.decode(data, model))
    assert decoded.shape == (*size, 3)
    assert np.array_equal(decoded, to_pixels(codec.reconstruct(pixels, model)))
    assert unpack(data).header.height == size[0] and unpack(data).header.width == size[1]


def test_grayscale_round_trips_as_grayscale() -> None:
    model = seeded_model("bmshj2018-hyperprior")
    gray = random_image(20, 30)[:, :, 0]
    decoded = licodec.decompress(licodec.compress(gray, model=model), model=model)
    assert decoded.mode == "L" and decoded.size == (30, 20)


def test_decoding_is_identical_with_one_and_two_threads(kodim01) -> None:
    model = seeded_model("mbt2018-mean")
    data = codec.encode(kodim01, model)
    before = torch.get_num_threads()
    try:
        outputs = []
        for threads in (1, 2):
            torch.set_num_threads(threads)
            outputs.append(np.asarray(codec.decode(data, model)))
    finally:
        torch.set_num_threads(before)
    assert np.array_equal(outputs[0], outputs[1])


def test_broken_files_raise_bitstream_error() -> None:
    model = seeded_model("bmshj2018-factorized")
    data = codec.encode(random_image(32, 48), model)
    broken = [b"", data[:-1], data[: len(data) // 2], b"\x89PNG\r\n\x1a\n" + data[8:]]
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0x10
    broken.append(bytes(flipped))
    for sample in broken:
        with pytest.raises(BitstreamError):
            codec.decode(sample, model)


def test_file_of_another_model_is_refused() -> None:
    data = codec.encode(random_image(16, 16), seeded_model("bmshj2018-factorized"))
    with pytest.raises(BitstreamError, match="written by bmshj2018-factorized"):
        codec.decode(data, seeded_model("mbt2018-mean"))


def test_escape_coding_loses_nothing_for_huge_latents() -> None:
    """Latents far outside every table still decode exactly (escape path)."""
    model = seeded_model("mbt2018-mean")
    with torch.no_grad():
        model.g_a[-1].bias.add_(3000.0)
    pixels = random_image(64, 64)
    decoded = np.asarray(codec.decode(codec.encode(pixels, model), model))
    assert np.array_equal(decoded, to_pixels(codec.reconstruct(pixels, model)))
