"""Context models (mbt2018, cheng2020, checkerboard variants): exact, ordered, efficient coding.

Untrained analysis transforms give latents within ±0.3 that all round to zero, which would
make every check below trivially true; :func:`loud_model` rescales the last analysis layer
and sets the predicted scales' bias so that the latents carry a few bits per element.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import Tensor, nn

from licodec.components.entropy import GaussianMixtureConditional
from licodec.components.entropy.base import TabledEntropyModel
from licodec.components.entropy.coder import Decoder, Encoder
from licodec.components.latent.checkerboard import CheckerboardLatentCodec, anchor_mask
from licodec.components.latent.context import ContextLatentCodec
from licodec.components.latent.fronts import schedule_violations, wavefront_slope
from licodec.components.latent.heads import EntropyHead, MeanScaleHead, MixtureHead
from licodec.components.latent.serial import SerialContextLatentCodec
from licodec.components.layers import MaskedConv2d, kernel_mask
from licodec.core.image import crop, pad_to_multiple
from licodec.models import MSE_LAMBDAS, CompressionModel, build, spec

KODIM01 = Path(__file__).resolve().parents[2] / "shared" / "data" / "kodak" / "kodim01.png"
CONTEXT_MODELS = ["mbt2018", "mbt2018-ckbd", "cheng2020-anchor", "cheng2020-attn", "cheng2020-ckbd"]


def loud_model(
    name: str, quality: int = 1, gain: float = 30.0, scale: float = 2.0
) -> CompressionModel:
    """Seeded untrained model whose latents and predicted scales are a few units wide."""
    torch.manual_seed(0)
    model = build(name, quality).eval()
    last_conv = [m for m in model.g_a.modules() if isinstance(m, nn.Conv2d)][-1]
    y_codec = model.latent_codec.y_codec
    with torch.no_grad():
        last_conv.weight.mul_(gain)
        last_conv.bias.mul_(gain)
        if hasattr(y_codec, "entropy_parameters"):  # context models; mbt2018-mean: gain only
            y_codec.entropy_parameters[-1].bias[y_codec.head.scale_slice(y_codec.channels)] = scale
    return model


def random_image(height: int, width: int, seed: int = 0) -> Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(1, 3, height, width, generator=generator)


def kodak(height: int | None = None, width: int | None = None) -> Tensor:
    pixels = np.asarray(Image.open(KODIM01).convert("RGB"), dtype=np.float32) / 255
    x = torch.from_numpy(pixels).permute(2, 0, 1).unsqueeze(0)
    return x[:, :, :height, :width].contiguous()


def total_bits(likelihoods: Tensor) -> float:
    return float(-torch.log2(likelihoods.double()).sum())


@pytest.fixture(scope="module", params=CONTEXT_MODELS)
def model(request: pytest.FixtureRequest) -> CompressionModel:
    return loud_model(request.param)


# --- exact coding -------------------------------------------------------------------------


@pytest.mark.parametrize("size", [(64, 96), (70, 50)])
def test_decode_equals_encoder_and_eval_forward(model: CompressionModel, size: tuple) -> None:
    height, width = size
    x = random_image(height, width)
    with torch.no_grad():
        coded = model.compress(x, reconstruct=True)
        sections, encoded = coded.sections, coded.reconstruction.tensor
        decoded = model.decompress(coded, height, width).tensor
        forward = model(pad_to_multiple(x, model.pad_multiple))["x_hat"]
    assert len(sections[-1]) > 500, "the y section should carry real information"
    assert torch.equal(decoded, encoded)
    assert torch.equal(decoded, crop(forward, height, width).clamp(0, 1))


@pytest.mark.parametrize("codec_type", [SerialContextLatentCodec, CheckerboardLatentCodec])
@pytest.mark.parametrize("head_type", [MeanScaleHead, MixtureHead])
@pytest.mark.parametrize("shape", [(7, 5), (1, 9), (9, 1), (1, 1)])
def test_latent_codec_round_trip(
    codec_type: type[ContextLatentCodec], head_type: type[EntropyHead], shape: tuple
) -> None:
    torch.manual_seed(1)
    codec = codec_type(8, 16, head_type()).eval()
    for module in codec.modules():
        if isinstance(module, TabledEntropyModel):
            module.update()
    y = 4 * torch.randn(2, 8, *shape)
    side = torch.randn(2, 16, *shape)
    with torch.no_grad():
        data, y_hat = codec.compress(y, side)
        decoded = codec.decompress(data, side)
        forward = codec(y, side)
    assert torch.equal(decoded, y_hat)
    assert torch.equal(forward.y_hat, y_hat)
    assert torch.all((y_hat - y).abs() <= 0.5 + 1e-5)


@pytest.mark.parametrize("name", ["mbt2018", "cheng2020-anchor"])
def test_decode_independent_of_thread_count(name: str) -> None:
    """Encoded with 2 threads, the latents decode bit for bit with 1 or 2 threads.

    The synthesis transform after them is plain float convolution whose summation order
    may follow the thread count (the image can move by a rounding error, nothing more).
    """
    model = loud_model(name)
    x = kodak(128, 192)
    latent_codec, shape = model.latent_codec, (128 // 16, 192 // 16)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        with torch.no_grad():
            sections, y_hat = latent_codec.compress(model.g_a(x))
            images = []
            for count in (1, 2):
                torch.set_num_threads(count)
                assert torch.equal(latent_codec.decompress(sections, shape), y_hat)
                images.append(model.decompress(sections, 128, 192).tensor)
    finally:
        torch.set_num_threads(threads)
    torch.testing.assert_close(images[0], images[1], rtol=0, atol=1e-5)


PROBABILITY_MODELS = ["mbt2018-mean", *CONTEXT_MODELS]


def threads_seen_by_parameter_networks(model: CompressionModel, run) -> set[int]:
    """Intra-op thread counts torch had while ``h_s`` and the context networks ran."""
    seen: set[int] = set()
    latent = model.latent_codec
    networks = [latent.h_s, latent.h_s_int]
    for name in ("context", "entropy_parameters", "context_int", "entropy_parameters_int"):
        if hasattr(latent.y_codec, name):
            networks.append(getattr(latent.y_codec, name))
    hooks = [
        module.register_forward_pre_hook(lambda *_: seen.add(torch.get_num_threads()))
        for network in networks
        for module in network.modules()
    ]
    try:
        with torch.no_grad():
            run()
    finally:
        for hook in hooks:
            hook.remove()
    return seen


@pytest.mark.parametrize("name", PROBABILITY_MODELS)
def test_parameter_networks_run_on_one_thread(name: str) -> None:
    """The policy of :mod:`licodec.components.threads`: encode, decode and the eval forward
    run every network that decides a probability on one thread whatever the caller set."""
    model = loud_model(name)
    x = kodak(64, 64)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        sections = model.compress(x).sections
        runs = {
            "compress": lambda: model.compress(x),
            "decompress": lambda: model.decompress(sections, 64, 64),
            "forward": lambda: model(x),
        }
        for what, run in runs.items():
            assert threads_seen_by_parameter_networks(model, run) == {1}, what
            assert torch.get_num_threads() == 2, what
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize("name", PROBABILITY_MODELS)
def test_float_path_decode_under_random_thread_counts(name: str) -> None:
    """Stress: encode and decode each at a random thread count (1–4), several times."""
    model = loud_model(name)
    x = kodak(64, 128)
    rng = np.random.default_rng(7)
    before = torch.get_num_threads()
    try:
        with torch.no_grad():
            torch.set_num_threads(int(rng.integers(1, 5)))
            sections = model.compress(x).sections
            reference = model.decompress_latent(sections, 64, 128)
            for _ in range(4):
                torch.set_num_threads(int(rng.integers(1, 5)))
                again = model.compress(x).sections
                assert again == sections
                torch.set_num_threads(int(rng.integers(1, 5)))
                assert torch.equal(model.decompress_latent(sections, 64, 128), reference)
    finally:
        torch.set_num_threads(before)


def test_calibration_independent_of_thread_count() -> None:
    """``cheng2020-ckbd`` calibrated at 1 and at 2 threads stores the same integer path."""
    crops = [kodak(64, 64), kodak(128, 64)[:, :, 64:]]
    states = []
    before = torch.get_num_threads()
    try:
        for threads in (1, 2):
            torch.set_num_threads(threads)
            model = loud_model("cheng2020-ckbd")
            model.calibrate(crops)
            states.append({k: v for k, v in model.state_dict().items() if "_int" in k})
    finally:
        torch.set_num_threads(before)
    assert states[0].keys() == states[1].keys() and states[0]
    for key, value in states[0].items():
        assert torch.equal(value, states[1][key]), key


def test_context_fronts_restore_thread_count() -> None:
    threads = torch.get_num_threads()
    codec = CheckerboardLatentCodec(4, 8, MixtureHead()).eval()
    codec.compress(torch.randn(1, 4, 5, 6), torch.randn(1, 8, 5, 6))
    assert torch.get_num_threads() == threads


# --- rate ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "size"),
    [("cheng2020-anchor", (None, None)), ("mbt2018", (192, 256)), ("cheng2020-ckbd", (192, 256))],
)
def test_real_bits_close_to_likelihood(name: str, size: tuple) -> None:
    """The coded y section is within 0.5% of its −log2 likelihood (Kodak)."""
    model = loud_model(name)
    x = kodak(*size)
    with torch.no_grad():
        sections = model.compress(x).sections
        likelihoods = model(pad_to_multiple(x, model.pad_multiple))["likelihoods"]
    y_bits, y_estimate = 8 * len(sections[-1]), total_bits(likelihoods["y"])
    assert y_estimate > 5e4
    assert abs(y_bits / y_estimate - 1) < 0.005, (y_bits, y_estimate)
    all_bits = 8 * sum(len(s) for s in sections)
    estimate = sum(total_bits(v) for v in likelihoods.values())
    assert abs(all_bits / estimate - 1) < 0.01, (all_bits, estimate)


def test_mixture_exact_with_escapes_and_close_to_likelihood() -> None:
    generator = torch.Generator().manual_seed(5)
    shape = (1, 3, 16, 24, 24)
    means = 3 * torch.randn(shape, generator=generator)
    scales = torch.exp(torch.randn(shape, generator=generator))
    logits = 3 * torch.randn(shape, generator=generator)
    logits[:, 2, :4] = -40  # negligible components do not widen the window
    weights = logits.softmax(dim=1)
    values = torch.round(means[:, 0] + scales[:, 0] * torch.randn(shape[:1] + shape[2:]))
    mixture = GaussianMixtureConditional(3)
    estimate = total_bits(mixture.likelihood(values, means, scales, weights))
    values[0, 0, 0, :5] = torch.tensor([400.0, -4000.0, 2.0**40, -(2.0**40), 77.0])
    encoder = Encoder()
    mixture.encode(encoder, values, means, scales, weights)
    data = encoder.to_bytes()
    decoded = mixture.decode(Decoder(data), means, scales, weights)
    assert torch.equal(decoded, values)
    assert 8 * len(data) < 1.005 * estimate + 5 * 120


# --- order --------------------------------------------------------------------------------


def test_wavefront_slope_is_derived_from_the_mask() -> None:
    assert wavefront_slope(kernel_mask(5, "A")) == 3
    assert wavefront_slope(kernel_mask(3, "A")) == 2
    with pytest.raises(ValueError, match="not causal"):
        wavefront_slope(kernel_mask(5, "checkerboard"))


def test_every_unmasked_tap_points_to_an_earlier_wavefront() -> None:
    codec = SerialContextLatentCodec(4, 8, MeanScaleHead())
    height, width = 9, 11
    schedule = codec.schedule(height, width)
    mask = codec.context.mask
    for dy, dx in np.argwhere(mask.numpy() > 0) - 2:
        for i in range(height):
            for j in range(width):
                if 0 <= i + dy < height and 0 <= j + dx < width:
                    assert schedule[i + dy, j + dx] < schedule[i, j], (i, j, dy, dx)
    assert not schedule_violations(schedule, mask).any()
    rows, cols = np.indices((height, width))
    too_steep = schedule_violations(2 * rows + cols, mask)
    assert too_steep[1:, : width - 2].all()  # (i − 1, j + 2) shares the front of (i, j)


def test_fronts_hold_the_expected_positions() -> None:
    codec = SerialContextLatentCodec(4, 8, MeanScaleHead())
    fronts = codec.fronts(4, 6)
    assert len(fronts) == 3 * (4 - 1) + 6
    seen = torch.cat([f.flat for f in fronts]).sort().values
    assert torch.equal(seen, torch.arange(24))
    rows, cols = fronts[6].flat // 6, fronts[6].flat % 6
    assert torch.equal(3 * rows + cols, torch.full_like(rows, 6))
    board = CheckerboardLatentCodec(4, 8, MeanScaleHead()).fronts(5, 7)
    assert len(board) == 2 and board[0].taps is None and board[1].taps is not None
    assert set(board[0].flat.tolist()) == set(np.flatnonzero(anchor_mask(5, 7)).tolist())


def test_partial_context_schedules_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    codec = SerialContextLatentCodec(4, 8, MeanScaleHead())
    monkeypatch.setattr(
        codec, "schedule", lambda h, w: 2 * np.indices((h, w))[0] + np.indices((h, w))[1]
    )
    with pytest.raises(ValueError, match="part of its context"):
        codec.fronts(5, 6)


def _one_pass_params(codec: ContextLatentCodec, y_hat: Tensor, side: Tensor) -> Tensor:
    """Training-style parameters from the final ``ŷ`` with one full masked convolution."""
    return codec.entropy_parameters(torch.cat([side, codec.training_context(y_hat)], dim=1))


@pytest.mark.parametrize("codec_type", [SerialContextLatentCodec, CheckerboardLatentCodec])
def test_fronts_see_what_training_sees(
    codec_type: type[ContextLatentCodec], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Front-by-front parameters equal the one-pass (training) ones; a wrong order does not."""
    torch.manual_seed(2)
    codec = codec_type(6, 12, MixtureHead()).eval()
    y, side = 3 * torch.randn(1, 6, 8, 10), torch.randn(1, 12, 8, 10)
    with torch.no_grad():
        y_hat, params = codec._run(y, side, lambda y_f, p: codec.head.round(y_f, p))
        torch.testing.assert_close(
            params, _one_pass_params(codec, y_hat, side), rtol=1e-4, atol=1e-4
        )
        reverse = codec.schedule(8, 10).max() - codec.schedule(8, 10)
        monkeypatch.setattr(codec, "schedule", lambda h, w: reverse)
        y_hat, params = codec._run(y, side, lambda y_f, p: codec.head.round(y_f, p))
        assert not torch.allclose(params, _one_pass_params(codec, y_hat, side), atol=1e-3)


def test_masked_conv_ignores_later_positions() -> None:
    torch.manual_seed(0)
    conv = MaskedConv2d(3, 4, 5, "A")
    x = torch.randn(1, 3, 9, 9)
    later = x.clone()
    later[:, :, 4, 4:] = torch.randn(3, 5)
    later[:, :, 5:] = torch.randn(3, 4, 9)
    assert torch.equal(conv(x)[:, :, 4, 4], conv(later)[:, :, 4, 4])
    assert int(kernel_mask(5, "A").sum()) == 12 and kernel_mask(5, "A")[2, 2] == 0
    board = kernel_mask(5, "checkerboard")
    assert int(board.sum()) == 12 and board[2, 2] == 0 and board[2, 1] == 1 and board[1, 1] == 0


# --- training -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["mbt2018", "mbt2018-ckbd", "cheng2020-attn", "cheng2020-ckbd"])
def test_training_forward_is_differentiable(name: str) -> None:
    torch.manual_seed(0)
    model = build(name, 1).train()
    x = random_image(64, 64)
    out = model(x)
    assert out["x_hat"].shape == x.shape
    assert set(out["likelihoods"]) == {"y", "z"}
    rate = sum(-torch.log2(v).sum() for v in out["likelihoods"].values())
    (rate + ((out["x_hat"] - x) ** 2).sum()).backward()
    y_codec = model.latent_codec.y_codec
    assert y_codec.context.weight.grad is not None
    assert y_codec.context.weight.grad.abs().sum() > 0
    assert torch.all(y_codec.context.weight.grad[:, :, 2, 2] == 0)


def test_registered_configurations() -> None:
    assert spec("mbt2018").qualities[4]["m"] == 192
    assert spec("mbt2018").qualities[5]["m"] == 320
    assert sorted(spec("cheng2020-attn").qualities) == [1, 2, 3, 4, 5, 6]
    assert spec("cheng2020-ckbd").qualities[3]["n"] == 128
    assert spec("cheng2020-anchor").qualities[4]["n"] == 192
    assert spec("cheng2020-anchor").qualities[6]["lmbda"] == MSE_LAMBDAS[5]
    head = build("cheng2020-ckbd", 1).latent_codec.y_codec.head
    assert isinstance(head, MixtureHead) and head.mixture.components == 3
