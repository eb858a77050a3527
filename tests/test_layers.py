"""Layers whose inference path differs from the training path must compute the same values."""

from __future__ import annotations

import pytest
import torch

from licodec.components.layers import GDN, ResidualBlock, ResidualBlockUpsample


@pytest.mark.parametrize(
    "layer",
    [GDN(8), GDN(8, inverse=True), ResidualBlock(8, 8), ResidualBlockUpsample(8, 8)],
    ids=["gdn", "igdn", "residual", "residual-upsample"],
)
def test_in_place_inference_matches_training_path(layer: torch.nn.Module) -> None:
    torch.manual_seed(0)
    with torch.no_grad():
        for parameter in layer.parameters():
            parameter.add_(0.05 * torch.randn_like(parameter)).abs_()
    x = torch.randn(2, 8, 6, 5)
    with torch.enable_grad():
        trained = layer(x.clone().requires_grad_(True)).detach()
    with torch.no_grad():
        inferred = layer(x.clone())
    assert not torch.allclose(trained, x.new_zeros(()).expand_as(trained))
    assert torch.equal(trained, inferred)
