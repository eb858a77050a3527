"""LVQAC: the lattice quantizer, its coset bits, the A-law compander and the models using them."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from conftest import random_image
from test_context_models import kodak, loud_model
from test_integer_path import assert_decodes_identically_everywhere
from torch import Tensor, nn

from licodec.app import codec
from licodec.components.entropy.coder import Decoder, Encoder
from licodec.components.entropy.companded import CompandedGaussianConditional
from licodec.components.latent.companded_head import CompandedMeanScaleHead
from licodec.components.quant.companding import a_law, a_law_inverse
from licodec.components.quant.lattice import LatticeQuantizer
from licodec.core.image import to_tensor
from licodec.models import CompressionModel

pytestmark = pytest.mark.filterwarnings("ignore:TF32 acceleration:UserWarning")


def test_lattice_point_is_the_nearest_point_of_d4_star() -> None:
    quantizer = LatticeQuantizer(8, group=4)
    v = torch.randn(64, 8) * 3
    half_units = quantizer.quantize(v.view(64, 8, 1, 1)).view(64, 2, 4)
    # a D_4* point: all four half units share their parity
    assert torch.all(torch.remainder(half_units - half_units[:, :, :1], 2) == 0)
    chosen = ((v.view(64, 2, 4) - half_units / 2) ** 2).sum(-1)
    # brute force over the points of both cosets around v (floor/ceil in every coordinate)
    best = torch.full((64, 2), float("inf"))
    grouped = v.view(64, 2, 4)
    for shift in (0.0, 0.5):
        base = torch.floor(grouped - shift) + shift
        for corner in itertools.product((0.0, 1.0), repeat=4):
            point = base + torch.tensor(corner)
            best = torch.minimum(best, ((grouped - point) ** 2).sum(-1))
    torch.testing.assert_close(chosen, best)


def test_lattice_symbols_split_into_cosets_and_integers_and_back() -> None:
    quantizer = LatticeQuantizer(16, group=8)
    y, mean = torch.randn(2, 16, 3, 5) * 4, torch.randn(2, 16, 3, 5)
    symbols = quantizer.quantize(y, mean)
    bits = quantizer.side_symbols(symbols)
    assert bits.shape == (2, 2, 3, 5) and set(bits.unique().tolist()) == {0, 1}
    integers = quantizer.integer_parts(symbols, bits)
    assert torch.equal(quantizer.join(integers, bits), symbols)
    y_hat = quantizer.reconstruct(symbols, mean)
    offsets = quantizer.grid_index(bits, symbols) * 0.5
    torch.testing.assert_close(y_hat, integers + offsets + mean)


def test_lattice_training_value_is_hard_with_a_soft_gradient_and_tau_anneals() -> None:
    quantizer = LatticeQuantizer(8, group=4).train()
    y = (torch.randn(4, 8, 2, 2) * 3).requires_grad_()
    value = quantizer.relax_value(y)
    assert torch.equal(value.detach(), quantizer.eval().round(y.detach()))
    value.sum().backward()
    assert y.grad is not None and torch.all(torch.isfinite(y.grad)) and y.grad.abs().sum() > 0
    quantizer.set_progress(0, 100)
    start = float(quantizer.tau)
    quantizer.set_progress(100, 100)
    assert start == pytest.approx(0.5) and float(quantizer.tau) == pytest.approx(0.02)


def test_a_law_inverts_is_monotone_and_is_the_identity_for_a_1_inside_the_range() -> None:
    v = torch.linspace(-100, 100, 4001, dtype=torch.float64)
    for a in (1.0, 2.5, 16.0):
        u = a_law(v, a, 16.0)
        assert torch.all(torch.diff(u) > 0)
        torch.testing.assert_close(a_law_inverse(u, a, 16.0), v, rtol=1e-12, atol=1e-12)
    inside = v[v.abs() <= 16]
    torch.testing.assert_close(a_law(inside, 1.0, 16.0), inside)
    slope = float(a_law(torch.tensor(1e-3, dtype=torch.float64), 16.0, 16.0) / 1e-3)
    assert slope == pytest.approx(16 / (1 + np.log(16)))


def test_companded_tables_are_distributions_over_touching_cells() -> None:
    conditional = CompandedGaussianConditional((1.0, 4.0), 16.0, (0.0, 0.5), levels=8)
    conditional.update()
    tables = conditional.tables
    assert len(tables) == 8 * 2 * 2
    assert np.all(tables.counts.sum(axis=1) == 1 << 16)
    q = torch.arange(-5, 6, dtype=torch.float64)
    for grid in range(4):
        lower, upper = conditional.grid_edges(grid, q)
        torch.testing.assert_close(upper[:-1], lower[1:])  # cells partition the line
    mid = 5 * 2 * 2 + 3  # scale level 5, A = 4, coset ½
    scale = float(conditional.scale_table[5])
    radius = conditional.grid_radius(3, scale)
    lower, upper = conditional.grid_edges(3, torch.arange(-radius, radius + 1.0).double())
    cdf = conditional.standard_cdf
    mass = float((cdf(upper / scale) - cdf(lower / scale)).sum())
    assert mass > 1 - 1e-6 and tables.length[mid] == 2 * radius + 2


def test_coset_rows_are_the_same_from_float_and_fixed_point_scales() -> None:
    quantizer = LatticeQuantizer(16, group=4)
    scales_fixed = torch.randint(0, 3 << 12, (3, 16, 4, 4))
    scales_float = scales_fixed.double() * 2.0**-12
    rows_float = quantizer.cosets.rows(scales_float)
    rows_fixed = quantizer.cosets.rows(scales_fixed, 12)
    assert torch.equal(rows_float, rows_fixed)
    assert rows_fixed.unique().numel() > 4
    bits = torch.randint(0, 2, rows_fixed.shape)
    quantizer.cosets.update()
    encoder = Encoder()
    quantizer.cosets.encode(encoder, bits, scales_fixed, 12)
    decoder = Decoder(encoder.to_bytes())
    assert torch.equal(quantizer.cosets.decode(decoder, scales_fixed, 12), bits)
    decoder.finish()


def test_coset_fit_sets_each_row_to_its_smoothed_frequency() -> None:
    quantizer = LatticeQuantizer(8, group=4)
    rows = torch.tensor([0] * 40 + [3] * 10)
    bits = torch.tensor([1] * 10 + [0] * 30 + [1] * 10)
    before = torch.sigmoid(quantizer.cosets.logits.detach().flatten())
    quantizer.cosets.fit(bits, rows)
    after = torch.sigmoid(quantizer.cosets.logits.detach().flatten())
    assert after[0] == pytest.approx(10.5 / 41, rel=1e-3)
    assert after[3] == pytest.approx(10.5 / 11, rel=1e-3)
    torch.testing.assert_close(after[[1, 2, 4]], before[[1, 2, 4]], rtol=1e-3, atol=0)  # no samples
    counts = quantizer.cosets.tables.counts
    assert counts[3, 1] > 0.9 * (1 << 16)  # the tables follow


def loud_lvqac(name: str) -> CompressionModel:
    """:func:`loud_model` (latents and scales a few units wide) with a random compander whose
    output on a Kodak crop spans ``t ∈ [−2, 3]`` (several ``A`` levels instead of the identity
    start), calibrated."""
    model = loud_model(name)
    head = model.latent_codec.y_codec.head
    if isinstance(head, CompandedMeanScaleHead):
        seen: list[Tensor] = []
        hook = head.compander.register_forward_hook(lambda _m, _i, out: seen.append(out))
        with torch.no_grad():
            nn.init.normal_(head.compander[0].weight, std=0.5)
            nn.init.normal_(head.compander[2].weight, std=1.0)
            model(kodak(64, 128))
            hook.remove()
            t = torch.cat([x.flatten() for x in seen])
            gain = 5.0 / float(t.max() - t.min())
            head.compander[2].weight.mul_(gain)
            head.compander[2].bias.copy_((head.compander[2].bias - t.min()) * gain - 2.0)
    model.calibrate([to_tensor(random_image(64, 64, seed=seed)) for seed in range(6)])
    return model


@pytest.fixture(
    scope="module", params=["mbt2018-ckbd-lvqac", "mbt2018-lvqac", "cheng2020-ckbd-lattice"]
)
def lvqac(request: pytest.FixtureRequest) -> CompressionModel:
    return loud_lvqac(request.param)


def test_companding_levels_vary_and_files_decode_identically_in_any_setting(lvqac) -> None:
    head = lvqac.latent_codec.y_codec.head
    pixels = (kodak(64, 128)[0].permute(1, 2, 0) * 255).round().to(torch.uint8).numpy()
    if isinstance(head, CompandedMeanScaleHead):
        seen: list[Tensor] = []
        levels = head.levels

        def recording(params: Tensor) -> tuple[Tensor, Tensor | None]:
            a, level = levels(params)
            seen.append(level.flatten())
            return a, level

        head.levels = recording
        try:
            codec.encode(pixels, lvqac)
        finally:
            del head.levels
        assert torch.cat(seen).unique().numel() > 2  # several A levels in use
    data = codec.encode(pixels, lvqac)
    other = codec.encode(random_image(64, 128, seed=8), lvqac)
    assert_decodes_identically_everywhere(lvqac, pixels, data, other)


def test_real_bits_match_the_estimate_cosets_included(lvqac) -> None:
    """The float path codes within 0.5% of the eval forward's estimate (plus the seals); the
    integer path within 1%: its parameters differ from the float ones in the last bits, and
    a level or coset decided on the other side of a threshold moves a symbol's cell."""
    x = to_tensor(random_image(128, 128, seed=3))
    with torch.no_grad():
        out = lvqac(x)
        integer = lvqac.compress(x).sections
        with lvqac.coding_path(False):
            float_path = lvqac.compress(x).sections
    estimate = {k: float(-torch.log2(v.double()).sum()) for k, v in out["likelihoods"].items()}
    assert set(estimate) == {"y", "z", "coset"} and estimate["coset"] > 0
    total = sum(estimate.values())
    for sections, tolerance in ((float_path, 0.005), (integer, 0.01)):
        real = 8 * sum(len(s) for s in sections) - 8 * 2 * len(sections)  # less the seals
        assert abs(real - total) < tolerance * total + 64, (real, total)
