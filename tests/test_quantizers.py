"""Quantizers as components, and entropy models that integrate a symbol's cell."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from licodec.components.entropy import (
    GaussianConditional,
    GaussianMixtureConditional,
    LaplaceConditional,
)
from licodec.components.ops import std_normal_cdf
from licodec.components.quant import UNIT_CELL, Cell, ScalarQuantizer


def test_scalar_quantizer_symbols_reconstruction_and_cells() -> None:
    quantizer = ScalarQuantizer().eval()
    y = torch.tensor([-1.6, -0.4, 0.2, 2.7])
    means = torch.tensor([0.25, 0.25, -0.5, 1.0])
    symbols = quantizer.quantize(y, means)
    assert symbols.tolist() == [-2.0, -1.0, 1.0, 2.0]
    assert torch.equal(quantizer.reconstruct(symbols, means), symbols + means)
    assert torch.equal(quantizer.round(y), torch.round(y))
    assert quantizer.cells(y, means) is UNIT_CELL and UNIT_CELL.unit
    assert torch.equal(quantizer.relax_rate(y, means), quantizer.round(y, means))


def test_scalar_relaxations_in_training() -> None:
    quantizer = ScalarQuantizer().train()
    y = torch.linspace(-3, 3, 101, requires_grad=True)
    noisy = quantizer.relax_rate(y)
    assert 0 < (noisy - y).abs().max() <= 0.5
    passed = quantizer.relax_value(y, torch.full_like(y, 0.3))
    assert torch.equal(passed.detach(), torch.round(y.detach() - 0.3) + 0.3)
    passed.sum().backward()
    assert torch.equal(y.grad, torch.ones_like(y))  # straight through


@pytest.mark.parametrize("conditional", [GaussianConditional(), LaplaceConditional()])
def test_general_cells_match_the_unit_cell_and_integrate_wider_cells(conditional) -> None:
    values = torch.linspace(-6, 6, 49)
    scales = torch.full_like(values, 1.3)
    means = torch.full_like(values, 0.4)
    unit = conditional.likelihood(values, scales, means)
    as_tensors = Cell(torch.full_like(values, -0.5), torch.full_like(values, 0.5))
    assert not as_tensors.unit
    general = conditional.likelihood(values, scales, means, as_tensors)
    torch.testing.assert_close(general, unit, rtol=1e-5, atol=1e-9)
    wide = conditional.likelihood(values, scales, means, Cell(-1.0, 1.5))
    cdf = conditional.standard_cdf
    c = values - means
    torch.testing.assert_close(wide, cdf((c + 1.5) / scales) - cdf((c - 1.0) / scales))


def test_mixture_integrates_cells() -> None:
    mixture = GaussianMixtureConditional(components=2)
    values = torch.arange(-4.0, 5.0).reshape(1, 1, 9, 1)
    means = torch.tensor([-1.0, 2.0]).reshape(1, 2, 1, 1, 1).expand(1, 2, 1, 9, 1)
    scales = torch.ones_like(means)
    weights = torch.tensor([0.3, 0.7]).reshape(1, 2, 1, 1, 1).expand_as(means)
    unit = mixture.likelihood(values, means, scales, weights)
    cells = Cell(torch.full_like(values, -0.5), torch.full_like(values, 0.5))
    torch.testing.assert_close(mixture.likelihood(values, means, scales, weights, cells), unit)
    wide = mixture.likelihood(values, means, scales, weights, Cell(-1.0, 1.0))
    expected = sum(
        w * (std_normal_cdf(values - m + 1.0) - std_normal_cdf(values - m - 1.0))
        for w, m in ((0.3, -1.0), (0.7, 2.0))
    )
    torch.testing.assert_close(wide, expected)


def test_scale_tables_indexed_by_grid_offset_code_exactly_at_their_rate() -> None:
    """Tables over (scale level × grid offset): a coset-shifted grid ŷ = q + δ_k codes
    exactly, and the real bits match the probabilities of the shifted cells."""
    from licodec.components.entropy.coder import Decoder, Encoder

    conditional = GaussianConditional(offsets=(0.0, 0.5))
    conditional.update()
    generator = torch.Generator().manual_seed(0)
    scales = 0.5 + 4 * torch.rand(1, 8, 16, 16, generator=generator)
    y = scales * torch.randn(1, 8, 16, 16, generator=generator)
    coset = torch.randint(0, 2, y.shape, generator=generator)
    offset = 0.5 * coset
    symbols = torch.round(y - offset)
    encoder = Encoder()
    conditional.encode(encoder, symbols, scales, offset_index=coset.numpy())
    data = encoder.to_bytes()
    decoder = Decoder(data)
    decoded = conditional.decode(decoder, scales, offset_index=coset.numpy())
    decoder.finish()
    assert torch.equal(decoded, symbols)
    cell_centres = symbols + offset
    probability = conditional.likelihood(cell_centres, scales)
    estimate = float(-torch.log2(probability.double()).sum())
    assert abs(8 * len(data) / estimate - 1) < 0.01
    with pytest.raises(ValueError, match="needs its index"):
        conditional.index(scales)
    with pytest.raises(ValueError, match="out of range"):
        conditional.index(scales, offset_index=np.full(scales.shape, 2))
