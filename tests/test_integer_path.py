"""The integer (fixed-point) path: files decode to the same latents under any setting.

Small seeded models (few channels) calibrated on a handful of random images; decoding is
repeated with one and two threads, with oneDNN (mkldnn) on and off, inside a batch with other
images, under random combinations of these, and with ±1 ulp noise added to every float
activation of the parameter networks.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import random_image
from torch import nn

from licodec.app import codec, zoo
from licodec.app.calibration import calibrate_weights
from licodec.app.weights import export_weights, load_weights
from licodec.components.entropy import GaussianMixtureConditional
from licodec.components.entropy.coder import Decoder, Encoder
from licodec.components.entropy.fixed_mixture import FixedPointMixture
from licodec.components.fixedpoint import IntegerConv, IntegerNetwork
from licodec.components.fixedpoint.arith import fixed_multiplier, requantize
from licodec.core.bitstream import Flags, unpack
from licodec.core.image import to_tensor
from licodec.errors import ModelError
from licodec.models import CompressionModel, available, build, spec

pytestmark = pytest.mark.filterwarnings("ignore:TF32 acceleration:UserWarning")

TABLES_ONLY = ("bmshj2018-factorized", "gan-gc", "gan-sc")
"""Models whose coding probabilities come from tables alone (no network decides one)."""
NETWORK_MODELS = [name for name in available() if name not in TABLES_ONLY]
SMALL = {"n": 32, "m": 48}


def small_model(name: str) -> CompressionModel:
    """``name`` at quality 1 with few channels and fixed random weights, in eval mode."""
    torch.manual_seed(0)
    config = spec(name).qualities[1]
    return build(name, 1, **{k: v for k, v in SMALL.items() if k in config}).eval()


@pytest.fixture(scope="module")
def calibrated() -> dict[str, CompressionModel]:
    """Every network model, calibrated on six random 64×64 images (built once)."""
    images = [to_tensor(random_image(64, 64, seed=seed)) for seed in range(6)]
    models = {}
    for name in NETWORK_MODELS:
        models[name] = small_model(name)
        models[name].calibrate(images)
    return models


def latents(model: CompressionModel, data: bytes) -> torch.Tensor:
    """The ``ŷ`` a file decodes to, with the path its flags name."""
    container = unpack(data)
    header = container.header
    with model.coding_path(bool(header.flags & Flags.INTEGER_PATH)):
        return model.decompress_latent(container.sections, header.height, header.width)


def latents_in_batch(model: CompressionModel, data: bytes, others: list[bytes]) -> torch.Tensor:
    """``ŷ`` of ``data`` decoded in one batch with ``others`` (files of the same image size)."""
    containers = [unpack(d) for d in (data, *others)]
    header = containers[0].header
    files = [c.sections for c in containers]
    with model.coding_path(bool(header.flags & Flags.INTEGER_PATH)):
        return model.decompress_latent_batch(files, header.height, header.width)[:1]


@contextmanager
def setting(threads: int, mkldnn: bool) -> Iterator[None]:
    """Torch with ``threads`` intra-op threads and oneDNN on or off, restored afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with torch.backends.mkldnn.flags(enabled=mkldnn):
            yield
    finally:
        torch.set_num_threads(before)


def assert_decodes_identically_everywhere(
    model: CompressionModel, pixels: np.ndarray, data: bytes, other: bytes
) -> None:
    """``data`` (the file of ``pixels``) decodes to the same ``ŷ`` with 1 or 2 threads,
    oneDNN on or off and in a batch with ``other`` (a file of the same size), and ``pixels``
    encode to the same bytes in each setting."""
    reference = latents(model, data)
    for threads, onednn, batched in ((2, False, False), (1, True, True), (2, True, True)):
        with setting(threads, onednn):
            if batched:
                assert torch.equal(latents_in_batch(model, data, [other]), reference)
            else:
                assert torch.equal(latents(model, data), reference)
            assert codec.encode(pixels, model) == data


@contextmanager
def ulp_noise(model: CompressionModel, seed: int) -> Iterator[None]:
    """Move every float activation of the latent codec's networks one ulp up or down at
    random (every leaf layer but the fixed-point ones)."""
    generator = torch.Generator().manual_seed(seed)

    def nudge(_module: nn.Module, _args: object, output: torch.Tensor) -> torch.Tensor:
        up = torch.rand(output.shape, generator=generator) < 0.5
        target = torch.where(up, torch.inf, -torch.inf).to(output.dtype)
        return torch.nextafter(output, target)

    with ExitStack() as stack:
        for module in model.latent_codec.modules():
            if not list(module.children()) and not isinstance(module, IntegerConv):
                stack.callback(module.register_forward_hook(nudge).remove)
        yield


def test_requantization_rounds_half_up_and_stays_exact_in_float64() -> None:
    acc = torch.tensor([-6, -5, -3, -1, 1, 3, 5, 6], dtype=torch.float64)
    half = torch.tensor(0.5, dtype=torch.float64)  # M = 1, S = 1
    assert requantize(acc, half, half).tolist() == [-3, -2, -1, 0, 1, 2, 3, 3]  # ⌊acc/2 + ½⌋
    ratio = np.array([1e-6, 0.37, 1.0, 250.0])
    bound = np.array([2**40, 2**34, 2**20, 2**30])
    multiplier, shift = fixed_multiplier(ratio, bound)
    for m, s, r, b in zip(multiplier.tolist(), shift.tolist(), ratio, bound.tolist(), strict=True):
        assert m * b + 2 ** (s - 1) < 2**53
        assert abs(m / 2**s - r) <= r * 2**-8


def test_integer_network_is_close_to_float_and_rejects_unknown_layers() -> None:
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.ConvTranspose2d(8, 12, 5, 2, 2, 1),
        nn.LeakyReLU(),
        nn.Sequential(nn.Conv2d(12, 16, 3, 1, 1), nn.PixelShuffle(2)),
        nn.ReLU(),
        nn.Conv2d(4, 6, 3, 1, 1),
    )
    twin = IntegerNetwork(net, output_bits=32)
    inputs = [torch.round(3 * torch.randn(2, 8, 5, 7)) for _ in range(3)]
    unit = torch.full((6,), 2.0**-16, dtype=torch.float64)
    twin.calibrate(net, inputs, torch.ones(8, dtype=torch.float64), unit)
    with torch.no_grad():
        expected = net(inputs[0]).double()
    error = (twin(inputs[0]).double() * 2.0**-16 - expected).abs().max()
    assert error <= 0.02 * expected.abs().max()
    with pytest.raises(TypeError, match="BatchNorm2d"):
        IntegerNetwork(nn.Sequential(nn.Conv2d(3, 3, 1), nn.BatchNorm2d(3)))


def encoder_latents(model: CompressionModel, pixels: np.ndarray) -> torch.Tensor:
    """The ``ŷ`` the encoder codes (and the decoder must return), from the picture the codec
    gives the model."""
    planes = model.padded(codec.picture_of(pixels, model)[0])
    with torch.no_grad():
        return model.latent_codec.compress(model.analyze(*planes))[1]


def test_fixed_point_mixture_round_trips_at_the_float_mixtures_rate() -> None:
    torch.manual_seed(0)
    shape = (1, 3, 8, 16, 16)  # B×K×C×H×W
    logits, means = 2 * torch.randn(shape), 3 * torch.randn(shape)
    scales = torch.exp(1.5 * torch.randn(shape))
    weights = logits.softmax(1)
    component = torch.multinomial(weights.movedim(1, -1).reshape(-1, 3), 1).reshape(1, 1, 8, 16, 16)
    centre, width = means.gather(1, component)[:, 0], scales.gather(1, component)[:, 0]
    values = torch.round(centre + width * torch.randn_like(centre))
    fixed = [
        torch.round(t * 2.0**bits).long() for t, bits in ((logits, 8), (means, 8), (scales, 12))
    ]
    encoder = Encoder()
    FixedPointMixture().encode(encoder, values, *fixed)
    data = encoder.to_bytes()
    assert torch.equal(FixedPointMixture().decode(Decoder(data), *fixed), values)
    reference = Encoder()
    GaussianMixtureConditional().encode(reference, values, means, scales, weights)
    assert abs(len(data) / len(reference.to_bytes()) - 1) < 0.005


@pytest.mark.parametrize("name", NETWORK_MODELS)
def test_integer_file_is_flagged_and_decodes_exactly_in_any_setting(name, calibrated) -> None:
    model = calibrated[name]
    pixels = random_image(64, 96, seed=7)
    data = codec.encode(pixels, model)
    assert unpack(data).header.flags & Flags.INTEGER_PATH
    reference = latents(model, data)
    assert torch.equal(reference, encoder_latents(model, pixels))
    others = [codec.encode(random_image(64, 96, seed=seed), model) for seed in (8, 9)]
    # every thread count and oneDNN setting, alone and in a batch (a covering design)
    for threads, mkldnn, batched in (
        (1, True, False),
        (2, False, False),
        (2, True, True),
        (1, False, True),
    ):
        with setting(threads, mkldnn):
            if batched:
                assert torch.equal(latents_in_batch(model, data, others), reference)
            else:
                assert torch.equal(latents(model, data), reference)


def test_stress_random_settings_models_sizes_and_batches(calibrated) -> None:
    rng = random.Random(2024)
    for _ in range(6):
        name = rng.choice(NETWORK_MODELS)
        model = calibrated[name]
        height, width = rng.randint(1, 130), rng.randint(1, 130)
        pixels = random_image(height, width, seed=rng.randrange(1 << 30))
        data = codec.encode(pixels, model)
        with setting(1, True):
            reference = latents(model, data)
        others = [
            codec.encode(random_image(height, width, seed=rng.randrange(1 << 30)), model)
            for _ in range(rng.randint(0, 2))
        ]
        with setting(rng.choice((1, 2)), rng.random() < 0.5):
            assert torch.equal(latents_in_batch(model, data, others), reference), name
        with setting(rng.choice((1, 2)), rng.random() < 0.5):
            assert torch.equal(latents(model, data), reference), name


@pytest.mark.parametrize("name", NETWORK_MODELS)
def test_ulp_noise_on_float_activations_leaves_integer_decoding_unchanged(name, calibrated):
    model = calibrated[name]
    pixels = random_image(64, 64, seed=11)
    data = codec.encode(pixels, model)
    reference = latents(model, data)
    z_hat = torch.round(torch.randn(1, model.latent_codec.h_s_int.convs[0].in_channels, 1, 1))
    with torch.no_grad():
        clean = model.latent_codec.h_s(z_hat)
        with ulp_noise(model, seed=0):
            assert not torch.equal(clean, model.latent_codec.h_s(z_hat))  # the noise is there
    for seed in range(2):
        with ulp_noise(model, seed=seed):
            assert torch.equal(latents(model, data), reference)


def test_float_file_decodes_with_the_float_path_of_a_calibrated_model(calibrated) -> None:
    model = calibrated["mbt2018-mean"]
    pixels = random_image(64, 64, seed=3)
    with model.coding_path(False):
        data = codec.encode(pixels, model)
        expected = np.asarray(codec.decode(data, model))
    assert not unpack(data).header.flags & Flags.INTEGER_PATH
    assert model.integer_path
    assert np.array_equal(np.asarray(codec.decode(data, model)), expected)


def test_integer_file_needs_a_calibrated_model(calibrated) -> None:
    data = codec.encode(random_image(32, 32), calibrated["mbt2018-mean"])
    uncalibrated = small_model("mbt2018-mean")
    assert not uncalibrated.calibrated and not uncalibrated.integer_path
    with pytest.raises(ModelError, match="no fixed-point calibration"):
        codec.decode(data, uncalibrated)
    with pytest.raises(ModelError, match="no fixed-point calibration"):
        with uncalibrated.coding_path(True):
            pass


def test_calibration_travels_with_the_weights(calibrated, tmp_path) -> None:
    model = calibrated["mbt2018-mean"]
    data = codec.encode(random_image(64, 64, seed=5), model)
    export_weights(model, tmp_path / "calibrated.safetensors", {})
    export_weights(small_model("mbt2018-mean"), tmp_path / "plain.safetensors", {})
    loaded = load_weights(small_model("mbt2018-mean"), tmp_path / "calibrated.safetensors")
    assert loaded.integer_path
    assert torch.equal(latents(loaded, data), latents(model, data))
    plain = load_weights(small_model("mbt2018-mean"), tmp_path / "plain.safetensors")
    assert not plain.calibrated
    state = {k: v for k, v in model.state_dict().items() if "h_s_int" not in k}
    fresh = small_model("mbt2018-mean")
    fresh.load_state_dict(state)  # strict: a state without the fixed-point path still loads
    assert not fresh.calibrated


def test_calibrate_weights_adds_the_integer_path_to_a_weights_file(tmp_path) -> None:
    model = small_model("mbt2018-mean")
    manifest = {"model": model.name, "quality": 1, "model_config": model.config}
    export_weights(model, tmp_path / "w.safetensors", manifest)
    train = Path(__file__).resolve().parents[2] / "shared" / "data" / "train"
    out = calibrate_weights(tmp_path / "w.safetensors", train, tmp_path / "c.safetensors", 2, 64)
    loaded = zoo.load_model("mbt2018-mean", 1, out)
    assert loaded.integer_path
    assert json.loads((tmp_path / "c.json").read_text())["calibration"]["crops"] == 2
