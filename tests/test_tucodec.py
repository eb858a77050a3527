"""Tucodec: learned centres, windowed non-local attention, the post-filter and its stage."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import random_image
from test_context_models import kodak, loud_model
from test_integer_path import assert_decodes_identically_everywhere, latents

from licodec.app import codec, zoo
from licodec.app.training import TrainConfig
from licodec.app.training.postfilter import PostFilterStage
from licodec.app.weights import load_weights
from licodec.components.entropy import LaplaceConditional
from licodec.components.entropy.tables import quantize_pmf
from licodec.components.layers import NonLocalAttentionBlock
from licodec.components.layers.attention import windowed_attention
from licodec.components.quant import ScalarQuantizer
from licodec.components.quant.centres import LearnedCentreQuantizer
from licodec.core.bitstream import unpack
from licodec.core.image import to_pixels, to_tensor
from licodec.models import CompressionModel, build
from licodec.models.base import POST_FILTERED

pytestmark = pytest.mark.filterwarnings("ignore:TF32 acceleration:UserWarning")


def random_centres(seed: int = 0, learned: int = 4) -> LearnedCentreQuantizer:
    quantizer = LearnedCentreQuantizer(learned=learned)
    with torch.no_grad():
        quantizer.log_gaps.copy_(
            torch.randn(learned, generator=torch.Generator().manual_seed(seed))
        )
    return quantizer.eval()


def test_symbol_is_the_nearest_centre_and_cells_partition_the_line() -> None:
    quantizer = random_centres()
    table = quantizer.fixed_magnitudes()
    assert torch.all(torch.diff(table) >= 2.0**-8)
    assert torch.equal(table * 256, torch.round(table * 256))  # fixed point
    k = torch.arange(-40, 41)
    centres = quantizer.centre(k, table)
    assert torch.all(torch.diff(centres) > 0) and centres[40] == 0
    torch.testing.assert_close(centres[:40], -centres[41:].flip(0))  # symmetric
    torch.testing.assert_close(torch.diff(centres[-5:]), torch.ones(4, dtype=torch.float64))
    y, mean = torch.randn(2, 5, 7, 9) * 6, torch.randn(2, 5, 7, 9)
    symbols = quantizer.quantize(y, mean)
    nearest = (y - mean).unsqueeze(-1).double().sub(centres).abs().argmin(-1) - 40
    assert torch.equal(symbols.to(torch.int64), nearest)
    y_hat = quantizer.reconstruct(symbols, mean)
    torch.testing.assert_close(y_hat, (quantizer.centre(nearest, table) + mean).float())
    cell = quantizer.cells(y_hat, mean)
    assert torch.all(cell.lower < 0) and torch.all(cell.upper > 0)
    lower, upper = quantizer.table_edges(0, k[1:-1].double())
    torch.testing.assert_close(upper[:-1], lower[1:])  # Voronoi cells touch
    torch.testing.assert_close(lower, (centres[:-2] + centres[1:-1]) / 2)


def test_integer_centres_round_like_the_scalar_quantizer() -> None:
    quantizer = LearnedCentreQuantizer(learn=False).eval()
    assert not list(quantizer.parameters())
    y, mean = torch.randn(3, 4, 5, 6) * 20, torch.randn(3, 4, 5, 6)
    scalar = ScalarQuantizer()
    assert torch.equal(quantizer.quantize(y, mean), scalar.quantize(y, mean))
    assert torch.equal(quantizer.round(y, mean), scalar.round(y, mean))


def test_training_value_is_hard_with_soft_centre_gradients_and_sigma_anneals() -> None:
    quantizer = random_centres().train()
    y = (torch.randn(4, 3, 5, 5) * 3).requires_grad_()
    value = quantizer.relax_value(y)
    hard = quantizer.centre(quantizer.nearest(y.detach(), quantizer.magnitudes()))
    torch.testing.assert_close(value.detach(), hard.detach())
    (value * torch.arange(y.numel()).view_as(y)).sum().backward()
    torch.testing.assert_close(y.grad, torch.arange(y.numel()).view_as(y).float())  # identity
    assert quantizer.log_gaps.grad is not None and torch.all(quantizer.log_gaps.grad != 0)
    quantizer.set_progress(0, 10)
    start = float(quantizer.sigma)
    quantizer.set_progress(10, 10)
    assert (start, float(quantizer.sigma)) == pytest.approx((2.0, 20.0))


def test_refit_moves_the_centres_to_the_means_of_their_cells() -> None:
    quantizer = LearnedCentreQuantizer(learned=2)
    # magnitudes clustered at 0, 1.5 and 2.2: the two learned centres go to 1.5 and 2.2
    clusters = torch.tensor([0.0, 1.5, 2.2]).repeat_interleave(1000)
    residuals = (clusters + torch.randn(3000) * 0.05) * torch.where(torch.rand(3000) < 0.5, -1, 1)
    quantizer.refit(residuals)
    centres = quantizer.eval().fixed_magnitudes()
    torch.testing.assert_close(
        centres[1:], torch.tensor([1.5, 2.2], dtype=torch.float64), atol=0.02, rtol=0
    )


def test_centre_tables_are_the_laplace_masses_of_the_voronoi_cells() -> None:
    quantizer = random_centres(seed=1)
    conditional = LaplaceConditional(levels=8, scale_max=64.0)
    conditional.bind_cells(quantizer)
    conditional.update()
    counts = conditional.tables.counts
    assert np.all(counts.sum(axis=1) == 1 << 16)
    level = 4
    scale = float(conditional.scale_table[level])
    radius = conditional.grid_radius(0, scale)
    q = torch.arange(-radius, radius + 1.0, dtype=torch.float64)
    lower, upper = quantizer.table_edges(0, q)
    cdf = conditional.standard_cdf
    mass = (cdf(upper / scale) - cdf(lower / scale)).numpy()
    assert mass.sum() > 1 - 1e-8
    assert np.array_equal(counts[level, : len(q) + 1], quantize_pmf(mass))


def test_windowed_attention_is_attention_within_each_window() -> None:
    generator = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(2, 4, 11, 21, generator=generator) for _ in range(3))
    out = windowed_attention(q, k, v, 8)
    for top in range(0, 11, 8):
        for left in range(0, 21, 8):
            window = (slice(None), slice(None), slice(top, top + 8), slice(left, left + 8))
            qs, ks, vs = (t[window].flatten(2) for t in (q, k, v))
            weights = torch.softmax(qs.transpose(1, 2) @ ks / 2.0, dim=-1)
            expected = (weights @ vs.transpose(1, 2)).transpose(1, 2)
            torch.testing.assert_close(out[window].flatten(2), expected, rtol=1e-5, atol=1e-5)
    with torch.no_grad():
        torch.testing.assert_close(windowed_attention(q, k, v, 8), out)


def test_attention_block_starts_as_the_identity_so_tucodec_starts_as_its_twin() -> None:
    block = NonLocalAttentionBlock(16, window=4)
    x = torch.randn(1, 16, 9, 7)
    assert torch.equal(block(x), x)
    torch.manual_seed(0)
    plain = build("tucodec", 1, n=8, m=12, attention=0).eval()
    attended = build("tucodec", 1, n=8, m=12).eval()
    attended.load_state_dict(plain.state_dict(), strict=False)
    x = kodak(64, 128)
    with torch.no_grad():
        assert torch.equal(attended.analyze(x), plain.analyze(x))
        out, twin = attended(x), plain(x)
    assert torch.equal(out["x_hat"], twin["x_hat"])


def loud_tucodec() -> CompressionModel:
    model = loud_model("tucodec", 3)
    with torch.no_grad():
        model.latent_codec.y_codec.head.quantizer.log_gaps.normal_(0.0, 0.3)
        for module in model.modules():
            if isinstance(module, NonLocalAttentionBlock):
                module.gain.fill_(0.5)
    model.update()
    model.calibrate([to_tensor(random_image(64, 64, seed=seed)) for seed in range(4)])
    return model


@pytest.fixture(scope="module")
def tucodec() -> CompressionModel:
    return loud_tucodec()


def test_tucodec_files_decode_identically_in_any_setting(tucodec) -> None:
    pixels = (kodak(64, 128)[0].permute(1, 2, 0) * 255).round().to(torch.uint8).numpy()
    data = codec.encode(pixels, tucodec)
    reference = latents(tucodec, data)
    centres = tucodec.latent_codec.y_codec.head.quantizer.fixed_magnitudes()
    assert torch.any(torch.remainder(reference * 256, 256) != 0)  # off the integer grid
    assert not torch.allclose(centres, torch.arange(len(centres), dtype=torch.float64))
    other = codec.encode(random_image(64, 128, seed=8), tucodec)
    assert_decodes_identically_everywhere(tucodec, pixels, data, other)


def test_tucodec_real_bits_match_the_estimate(tucodec) -> None:
    x = to_tensor(random_image(128, 128, seed=3))
    with torch.no_grad():
        out = tucodec(x)
        with tucodec.coding_path(False):
            sections = tucodec.compress(x).sections
    estimate = sum(float(-torch.log2(v.double()).sum()) for v in out["likelihoods"].values())
    real = 8 * sum(len(s) for s in sections) - 8 * 2 * len(sections)
    assert abs(real - estimate) < 0.005 * estimate + 64, (real, estimate)


def test_post_filter_is_flagged_only_where_it_helps_and_the_decoder_follows(tucodec) -> None:
    pixels = random_image(64, 96, seed=5)
    x = to_tensor(pixels)
    data = codec.encode(pixels, tucodec)
    assert unpack(data).header.model_flags == 0  # the identity filter does not help
    unfiltered = codec.decode_pixels(unpack(data), tucodec)
    last = tucodec.post_filter.body[-1]
    with torch.no_grad():
        x_hat = tucodec.compress(x, reconstruct=True).reconstruction.tensor
        offset = (x - x_hat).mean(dim=(0, 2, 3))  # the filter x̂ + offset lowers the error
    error = float(((x - x_hat) ** 2).mean())
    gain_db = 10 * np.log10(error / (error - float((offset**2).mean())))
    try:
        for sign, threshold, flagged in (
            (1.0, 0.0, True),
            (-1.0, 0.0, False),
            (1.0, 2 * gain_db, False),
        ):
            tucodec.post_filter_min_gain_db = threshold  # the best offset gains gain_db
            with torch.no_grad():
                last.bias.copy_(sign * offset)
            data = codec.encode(pixels, tucodec)
            assert bool(unpack(data).header.model_flags & POST_FILTERED) is flagged
            decoded = codec.decode_pixels(unpack(data), tucodec)
            expected = tucodec.compress(x, reconstruct=True).reconstruction.tensor
            assert np.array_equal(decoded, to_pixels(expected))
            assert np.array_equal(decoded, unfiltered) is not flagged
        tucodec.post_filter_min_gain_db = 0.0  # it would be on (first case) ...
        tucodec.try_post_filter = False  # ... but --no-post-filter: never on
        assert unpack(codec.encode(pixels, tucodec)).header.model_flags == 0
    finally:
        del tucodec.post_filter_min_gain_db, tucodec.try_post_filter
        with torch.no_grad():
            last.bias.zero_()


def test_post_filter_stage_trains_the_filter_alone(tmp_path) -> None:
    torch.manual_seed(0)
    model = build("tucodec", 1, n=8, m=12).train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    config = TrainConfig(model="tucodec", quality=1, data=tmp_path, out=tmp_path, lr=1e-3)
    stage = PostFilterStage(model, config)
    x = kodak(64, 64).repeat(2, 1, 1, 1)
    terms = [stage.step(x) for _ in range(3)]
    assert set(terms[0]) == {"loss", "psnr", "gain_db"}
    changed = {k for k, v in model.state_dict().items() if not torch.equal(v, before[k])}
    assert changed and all(k.startswith("post_filter.") for k in changed)
    assert float(terms[-1]["gain_db"]) != 0.0


def test_weights_without_the_post_filter_load_it_as_the_identity(tmp_path) -> None:
    torch.manual_seed(0)
    model = build("tucodec", 1, n=8, m=12)
    state = {k: v for k, v in model.state_dict().items() if not k.startswith("post_filter.")}
    fresh = build("tucodec", 1, n=8, m=12)
    with torch.no_grad():
        fresh.post_filter.body[-1].bias.fill_(0.5)
    fresh.load_state_dict(state)  # absent: kept as built
    assert float(fresh.post_filter.body[-1].bias[0]) == 0.5
    state["post_filter.body.0.bias"] = model.post_filter.body[0].bias
    with pytest.raises(RuntimeError, match="Missing key"):
        fresh.load_state_dict(state)  # partial: damaged


def test_bands_of_whole_attention_windows_give_the_whole_picture_result() -> None:
    torch.manual_seed(0)
    model = build("tucodec", 1, n=8, m=12, window=4).eval()
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, NonLocalAttentionBlock):
                module.gain.fill_(1.0)
        model.post_filter.body[-1].weight.normal_(0.0, 0.1)
    generator = torch.Generator().manual_seed(1)
    x, y_hat = torch.rand(1, 3, 448, 64, generator=generator), torch.randn(1, 12, 28, 4) * 3
    with torch.no_grad():
        whole = model.analyze(x), model.synthesize(y_hat), model.enhance(x.clone())
        model.band_pixels = 64 * 64  # bands of 64 input rows: edges at multiples of 16·4
        banded = model.analyze(x), model.synthesize(y_hat), model.enhance(x.clone())
    assert model.analysis_align == 64 and model.synthesis_align == 4
    for a, b in zip(whole, banded, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_a_warm_start_keeps_the_models_own_scale_grid_and_rebuilds_its_tables() -> None:
    model = build("tucodec", 3, n=64, m=96)
    path = zoo.PACKAGE_WEIGHTS / zoo.weights_filename("mbt2018-ckbd", 2)
    load_weights(model, path, partial=True)
    conditional = model.latent_codec.y_codec.head.conditional
    assert float(conditional.scale_table.max()) == pytest.approx(64.0)  # ckbd's grid: to 256
    donor = zoo.load_model("mbt2018-ckbd", 2)
    assert torch.equal(model.g_a[0].weight, donor.g_a[0].weight.float())
    # the hyper-latent's tables follow the loaded density, as the donor's did
    assert torch.equal(
        model.latent_codec.z_codec.prior._counts, donor.latent_codec.z_codec.prior._counts
    )
