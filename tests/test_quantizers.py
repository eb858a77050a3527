"""Quantizers as components, and entropy models that integrate a symbol's cell."""

from __future__ import annotations

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
