"""Latent codecs skip the positions a mask leaves out: no bits, ŷ = 0, exact round trips."""

from __future__ import annotations

import pytest
import torch
from test_context_models import loud_model

from licodec.models import build

MODELS = ["bmshj2018-factorized", "mbt2018-mean", "mbt2018-ckbd", "cheng2020-anchor", "mbt2018"]


def latent_of(name: str) -> tuple:
    """A loud seeded model's latent codec and the latents of a random 128×128 picture."""
    if name == "bmshj2018-factorized":  # no hyperprior: only the analysis gain
        torch.manual_seed(0)
        model = build(name, 1).eval()
        with torch.no_grad():
            model.g_a[-1].weight.mul_(30)
            model.g_a[-1].bias.mul_(30)
    else:
        model = loud_model(name)
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(1, 3, 128, 128, generator=generator)
    with torch.no_grad():
        y = model.analyze(x)
    return model.latent_codec, y


@pytest.mark.parametrize("name", MODELS)
def test_masked_positions_cost_nothing_and_decode_to_zero(name: str) -> None:
    codec, y = latent_of(name)
    shape = tuple(y.shape[-2:])
    rows, cols = torch.meshgrid(torch.arange(shape[0]), torch.arange(shape[1]), indexing="ij")
    mask = (rows < shape[0] // 2)[None, None] | (cols == 0)[None, None]
    with torch.no_grad():
        full, _ = codec.compress(y)
        sections, y_hat = codec.compress(y, mask)
        decoded = codec.decompress(sections, shape, mask)
        nothing, _ = codec.compress(y, torch.zeros_like(mask))
        forward = codec(y, mask)
    assert torch.equal(decoded, y_hat)
    assert torch.equal(forward.y_hat, y_hat)
    assert (y_hat[:, :, ~mask[0, 0]] == 0).all() and (y_hat[:, :, mask[0, 0]] != 0).any()
    assert len(sections[-1]) < 0.75 * len(full[-1])
    assert len(nothing[-1]) <= 8  # the seal alone
    assert (forward.likelihoods["y"][:, :, ~mask[0, 0]] == 1).all()
    if len(full) > 1:
        assert sections[0] == full[0]  # the hyper-latent is always coded whole


def test_masked_training_pass_has_no_rate_where_masked() -> None:
    codec, y = latent_of("mbt2018-ckbd")
    codec.train()
    mask = torch.zeros(1, 1, *y.shape[-2:], dtype=torch.bool)
    mask[..., :2, :] = True
    out = codec(y, mask)
    codec.eval()
    assert (out.likelihoods["y"][:, :, 2:] == 1).all() and (out.y_hat[:, :, 2:] == 0).all()
    assert (out.likelihoods["y"][:, :, :2] < 1).any()
