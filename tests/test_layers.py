"""Layers whose inference path differs from the training path must compute the same map."""

from __future__ import annotations

import pytest
import torch

from licodec.components.layers import (
    GDN,
    PolyphaseConvTranspose2d,
    ResidualBlock,
    ResidualBlockUpsample,
)


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


@pytest.mark.parametrize(
    ("kernel", "stride", "in_ch", "out_ch", "height", "width"),
    [(5, 2, 16, 3, 7, 9), (5, 2, 8, 8, 4, 5), (3, 2, 8, 4, 5, 3), (9, 4, 4, 2, 3, 6)],
)
def test_polyphase_inference_equals_transposed_convolution(
    kernel: int, stride: int, in_ch: int, out_ch: int, height: int, width: int
) -> None:
    torch.manual_seed(0)
    layer = PolyphaseConvTranspose2d(in_ch, out_ch, kernel, stride)
    x = torch.randn(2, in_ch, height, width)
    transposed = layer(x)  # training mode: nn.ConvTranspose2d itself
    layer.eval()
    polyphase = layer(x)
    assert polyphase.shape == (2, out_ch, stride * height, stride * width)
    assert torch.allclose(polyphase, transposed, atol=1e-5, rtol=0)
    assert not torch.equal(layer.phase_weight(), torch.zeros_like(layer.phase_weight()))


def test_polyphase_needs_an_odd_kernel() -> None:
    with pytest.raises(ValueError, match="odd kernel"):
        PolyphaseConvTranspose2d(4, 4, kernel=4)
