"""Widening a trained model's latent keeps its reconstructions and its files."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import seeded_model
from PIL import Image

from licodec.app import codec, zoo
from licodec.app.widen import widen_latent
from licodec.errors import ModelError


@pytest.fixture(scope="module")
def crop(kodim01) -> np.ndarray:
    return np.asarray(Image.open(kodim01).convert("RGB"))[100:228, 200:328].copy()


def test_widened_model_starts_where_the_trained_one_was(crop) -> None:
    trained = zoo.load_model(zoo.DEFAULT_MODEL, 6)
    old_m = trained.config["m"]
    wide = widen_latent(trained, old_m + 32)
    assert wide.config == {**trained.config, "m": old_m + 32}
    assert wide.lmbda == trained.lmbda
    assert not wide.integer_path, "the widened model is not calibrated yet"
    x = torch.from_numpy(crop).permute(2, 0, 1)[None].float() / 255
    with torch.no_grad():
        before, after = trained(x), wide(x)
    torch.testing.assert_close(after["likelihoods"]["z"], before["likelihoods"]["z"])
    y_old, y_new = after["likelihoods"]["y"].split([old_m, 32], dim=1)
    torch.testing.assert_close(y_old, before["likelihoods"]["y"], atol=1e-6, rtol=1e-4)
    old_bits = float(-torch.log2(before["likelihoods"]["y"]).sum())
    assert 0 < float(-torch.log2(y_new).sum()) < 0.05 * old_bits

    with trained.coding_path(integer=False):
        data_before = codec.encode(crop, trained)
        decoded_before = np.asarray(codec.decode(data_before, trained), dtype=np.float64)
    data_after = codec.encode(crop, wide)
    assert len(data_before) < len(data_after) < 1.05 * len(data_before)
    decoded = np.asarray(codec.decode(data_after, wide), dtype=np.float64)
    original = crop.astype(np.float64)
    mse_before, mse_after = (np.mean((d - original) ** 2) for d in (decoded_before, decoded))
    assert abs(10 * np.log10(mse_after / mse_before)) < 0.05, "PSNR moved by 0.05 dB or more"


def test_new_channels_get_gradients_and_are_drawn_from_the_seed(crop) -> None:
    small = seeded_model("mbt2018-mean", n=16, m=16)
    first, again = widen_latent(small, 24, seed=3), widen_latent(small, 24, seed=3)
    for (name, a), b in zip(first.state_dict().items(), again.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    x = torch.from_numpy(crop[:64, :64]).permute(2, 0, 1)[None].float() / 255
    first.train()
    torch.mean((first(x)["x_hat"] - x) ** 2).backward()
    # ŷ_new is still 0, but the distortion must reach y_new (through g_s's new weights and
    # the straight-through rounding), or the rate term alone would keep it at zero
    assert first.g_a[-1].weight.grad[16:].abs().max() > 0, "new channels must not start dead"


def test_widening_refuses_other_models_and_narrower_latents() -> None:
    small = seeded_model("mbt2018-mean", n=16, m=16)
    with pytest.raises(ModelError, match="at least 16"):
        widen_latent(small, 8)
    with pytest.raises(ModelError, match="even"):
        widen_latent(small, 21)
    with pytest.raises(ModelError, match="cannot widen 'bmshj2018-hyperprior'"):
        widen_latent(seeded_model("bmshj2018-hyperprior", n=16, m=16), 24)
