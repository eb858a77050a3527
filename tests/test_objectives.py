"""The training-objective seam: several optimizers, no rate term, frozen parts, annealing
hooks, exports without training-only modules, and exact resume of all of it."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from test_train import _config, images  # noqa: F401 - the images fixture
from torch import Tensor, nn

from licodec.app.training import OBJECTIVES, Objective, RateDistortion, train
from licodec.app.training.objectives import multistep
from licodec.components.quant import ScalarQuantizer
from licodec.models import build


class ToyAdversarial(Objective):
    """A GAN-shaped objective: the codec is a generator trained against a small
    discriminator (LSGAN) plus MSE, with no rate term; the two optimizers alternate."""

    name = "test-adversarial"
    terms = ("loss", "d_loss", "mse")
    progress_terms = ("loss", "d_loss")

    def __init__(self, model, config) -> None:  # noqa: ANN001
        super().__init__(model, config)
        self.discriminator = nn.Sequential(
            nn.Conv2d(3, 4, 4, 2), nn.LeakyReLU(), nn.Conv2d(4, 1, 3)
        )
        self.modules["discriminator"] = self.discriminator
        g = torch.optim.Adam(model.parameters(), lr=config.lr)
        d = torch.optim.Adam(self.discriminator.parameters(), lr=config.lr)
        self.optimizers = {"model": g, "discriminator": d}
        self.schedulers = {key: multistep(opt, config) for key, opt in self.optimizers.items()}

    def step(self, x: Tensor) -> dict[str, Tensor]:
        x_hat = self.net(x)["x_hat"]
        d = self.optimizers["discriminator"]
        d.zero_grad(set_to_none=True)
        d_loss = (self.discriminator(x) - 1).pow(2).mean() + self.discriminator(x_hat.detach()).pow(
            2
        ).mean()
        d_loss.backward()
        d.step()
        g = self.optimizers["model"]
        g.zero_grad(set_to_none=True)
        mse = (x_hat - x).pow(2).mean()
        loss = (self.discriminator(x_hat) - 1).pow(2).mean() + 10 * mse
        loss.backward()
        g.step()
        for scheduler in self.schedulers.values():
            scheduler.step()
        return {"loss": loss, "d_loss": d_loss, "mse": mse}


if ToyAdversarial.name not in OBJECTIVES:
    OBJECTIVES[ToyAdversarial.name] = ToyAdversarial


def test_two_optimizers_resume_exactly_and_only_the_codec_ships(images: Path, tmp_path) -> None:  # noqa: F811
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    result = train(_config(images, straight, steps=4, objective="test-adversarial"))
    train(_config(images, resumed, steps=2, objective="test-adversarial"))
    train(_config(images, resumed, steps=4, objective="test-adversarial", resume=True))
    a = torch.load(straight / "checkpoint.pt", weights_only=True)
    b = torch.load(resumed / "checkpoint.pt", weights_only=True)
    for key, value in a["model"].items():
        assert torch.equal(value, b["model"][key]), key
    for key, value in a["objective"]["modules"]["discriminator"].items():
        assert torch.equal(value, b["objective"]["modules"]["discriminator"][key]), key
    assert set(a["objective"]["optimizers"]) == {"model", "discriminator"}
    header = (straight / "log.csv").read_text().splitlines()[0]
    assert header == "step,loss,d_loss,mse,lr,seconds"
    with safe_open(str(result.weights), framework="pt") as handle:
        keys = list(handle.keys())
    assert keys and not any("discriminator" in k for k in keys)
    assert result.manifest["objective"] == "test-adversarial"


def test_frozen_prefixes_are_not_trained(images: Path, tmp_path) -> None:  # noqa: F811
    config = _config(images, tmp_path / "run", steps=2, freeze=("g_a", "latent_codec"))
    torch.manual_seed(0)
    before = build("mbt2018-mean", 1, **config.model_args).state_dict()
    result = train(config)
    after = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)["model"]
    for key in before:
        if key.startswith(("g_a", "latent_codec")):
            assert torch.equal(before[key], after[key]), key
    assert any(not torch.equal(before[k], after[k]) for k in before if k.startswith("g_s"))
    assert result.manifest["objective"] == "rate-distortion"


class RecordingQuantizer(ScalarQuantizer):
    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[int, int]] = []

    def set_progress(self, step: int, steps: int) -> None:
        self.seen.append((step, steps))


def test_progress_reaches_every_quantizer(tmp_path) -> None:
    model = build("mbt2018-mean", 1, n=16, m=16)
    quantizer = RecordingQuantizer()
    model.latent_codec.y_codec.head.quantizer = quantizer
    objective = RateDistortion(model, _config(tmp_path, tmp_path))
    objective.set_progress(3, 10)
    assert quantizer.seen == [(3, 10)]


def test_unknown_objective_is_named(images: Path, tmp_path) -> None:  # noqa: F811
    with pytest.raises(ValueError, match="unknown training objective 'nope'"):
        train(_config(images, tmp_path / "x", objective="nope"))
