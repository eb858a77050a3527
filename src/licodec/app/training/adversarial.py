"""The adversarial objective of generative compression (``"adversarial"``).

Generator side (the codec: encoder, generator, label features) and a multi-scale PatchGAN
discriminator ``D`` (:class:`~licodec.components.layers.generative.MultiScaleDiscriminator`,
conditioned on the one-hot label map for SC) alternate, one step each per batch, each with
its own Adam (``β = (0.5, 0.999)``, the run's learning-rate schedule, gradients clipped to
``clip_grad``, a step with a non-finite gradient skipped):

* ``D`` minimises the LSGAN loss ``Σ_s mean((D_s(x) − 1)²) + mean(D_s(x̂)²)`` over its scales;
* the codec minimises ``gan·Σ_s mean((D_s(x̂) − 1)²) + fm·FM + mse·d``, with feature
  matching ``FM = Σ_s mean_l mean|D_s^l(x) − D_s^l(x̂)|`` over the layers before the last
  (``[R]`` pix2pixHD's, ``[D]`` weight 10) and ``d`` the MSE of pictures scaled to
  ``[−1, 1]`` (``[R]`` ``λ = 10``), for SC only over the pixels of kept latent blocks; with
  ``fm_mask = 1`` (``[D]``, SC only) FM too is a mean over the kept area, each feature map
  weighted by the keep-mask's pixel share over its cells (synthesised areas then learn from
  the LSGAN term alone); with ``norm_stats = β > 0`` (``[D]``, gated SC only) it adds
  ``β·`` :func:`first_norm_gap` between the features entering the generator's first
  instance norm and GC's on the whole latent, so what the label head invents leaves that
  norm's statistics — which the kept blocks are normalised by too — where GC's would be.

**Warm start** (``[D]``): for the first ``warmup`` fraction of the steps the codec trains on
``mse·d`` alone and ``D`` waits; then both train (``warmup = 1``: never — the MSE-only
twin of a GAN run). A perceptual (VGG) term needs weights that
cannot be downloaded here: it is not part of this objective.

SC batches carry the label map as a fourth channel (:class:`~licodec.app.data.LabelledCrops`)
so the loop's batching, sharding and exact resume stay as they are; every crop gets a random
keep-mask (:mod:`.keep_masks`), drawn from a generator seeded by ``(seed, rank, step)``.

Arguments (``TrainConfig.objective_args``): ``warmup`` (0.25), ``d_width`` (64, the paper's
``64, 128, 256, 512``), ``mse`` (10), ``fm`` (10), ``gan`` (1), ``keep_all`` (0: the share of SC
crops kept whole, :mod:`.keep_masks`), ``fm_mask`` (0), ``norm_stats`` (0). Only the codec is
exported.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional as F
from torch.utils.data import Dataset

from licodec.app.data import ImageFolderCrops, LabelledCrops
from licodec.app.training.config import TrainConfig
from licodec.app.training.keep_masks import random_latent_masks
from licodec.app.training.objectives import (
    Objective,
    milestones,
    multistep,
    register_objective,
    trainable,
)
from licodec.components.layers.generative import MultiScaleDiscriminator
from licodec.errors import ModelError
from licodec.models import CompressionModel

DEFAULTS: dict[str, float] = {
    "warmup": 0.25,
    "d_width": 64,
    "mse": 10.0,
    "fm": 10.0,
    "gan": 1.0,
    "keep_all": 0.0,
    "fm_mask": 0.0,
    "norm_stats": 0.0,
}


def lsgan_real(outputs: list[list[Tensor]]) -> Tensor:
    """``Σ_s mean((D_s − 1)²)``: the LSGAN loss of outputs that should read "real"."""
    return sum(((scale[-1].float() - 1) ** 2).mean() for scale in outputs)


def lsgan_fake(outputs: list[list[Tensor]]) -> Tensor:
    """``Σ_s mean(D_s²)``: the LSGAN loss of outputs that should read "fake"."""
    return sum((scale[-1].float() ** 2).mean() for scale in outputs)


def _weighted_mean(error: Tensor, weight: Tensor | None) -> Tensor:
    """Mean of ``N×C×h×w`` ``error``, or its mean weighted by ``N×1×H×W`` ``weight`` averaged
    over each of the ``h×w`` cells (``adaptive_avg_pool2d``)."""
    if weight is None:
        return error.mean()
    cells = F.adaptive_avg_pool2d(weight, error.shape[-2:])
    return (error * cells).sum() / (cells.sum() * error.shape[1]).clamp_min(1e-6)


def feature_matching(
    real: list[list[Tensor]], fake: list[list[Tensor]], weight: Tensor | None = None
) -> Tensor:
    """``Σ_s mean_l mean|real − fake|`` over every layer but the last of every scale; with a
    pixel ``weight`` (``N×1×H×W``), each mean is weighted by it (:func:`_weighted_mean`)."""
    total = 0
    for r_scale, f_scale in zip(real, fake, strict=True):
        layers = list(zip(r_scale[:-1], f_scale[:-1], strict=True))
        errors = ((f.float() - r.detach().float()).abs() for r, f in layers)
        total = total + sum(_weighted_mean(e, weight) for e in errors) / len(layers)
    return total


def pixel_weight(mask: Tensor, stride: int) -> Tensor:
    """The ``N×1×h×w`` latent keep-mask as an ``N×1×(h·stride)×(w·stride)`` float weight."""
    return mask.float().repeat_interleave(stride, 2).repeat_interleave(stride, 3)


def masked_mse(x_hat: Tensor, x: Tensor, weight: Tensor | None) -> Tensor:
    """MSE of pictures scaled to ``[−1, 1]`` (``4·MSE`` in [0, 1]), over the pixels of kept
    latent blocks when their :func:`pixel_weight` is given."""
    return _weighted_mean(4 * (x_hat.float() - x) ** 2, weight)


def first_norm_gap(features: Tensor, reference: Tensor, eps: float = 1e-5) -> Tensor:
    """``mean_{n,c} [(μ − μ_r)² + (s − s_r)²] / s_r²`` of two ``N×C×h×w`` feature maps, with
    ``μ``, ``s² − eps`` an instance norm's mean and biased variance of each map and channel
    over its ``h×w`` positions (``eps`` the norm's): how far ``features`` normalised by the
    reference's statistics land from ``features`` normalised by their own, in the reference's
    units. ``reference`` is a target (no gradient)."""
    features, reference = features.float(), reference.detach().float()
    mean, ref_mean = features.mean((2, 3)), reference.mean((2, 3))
    std = (features.var((2, 3), unbiased=False) + eps).sqrt()
    ref_var = reference.var((2, 3), unbiased=False) + eps
    return (((mean - ref_mean) ** 2 + (std - ref_var.sqrt()) ** 2) / ref_var).mean()


def _step_if_finite(optimizer: torch.optim.Optimizer, parameters: list, clip: float) -> None:
    """Clip the gradients to norm ``clip`` and step, unless their norm is not finite: then the
    step is skipped (gradients dropped). ``[D]`` A flat crop (a saturated sky) makes every
    instance norm's variance 0, and the gradient grows ×1/√ε through each of them until it
    overflows; skipping that batch's update is deterministic, so resume stays exact."""
    norm = nn.utils.clip_grad_norm_(parameters, clip)
    if not torch.isfinite(norm):
        optimizer.zero_grad(set_to_none=True)
    optimizer.step()


@register_objective
class Adversarial(Objective):
    """Codec and discriminator alternating (module docstring)."""

    name = "adversarial"
    terms = ("loss", "mse_term", "gan", "feature_matching", "norm_stats", "discriminator", "psnr")
    progress_terms = ("psnr", "gan", "discriminator")

    def __init__(self, model: CompressionModel, config: TrainConfig) -> None:
        super().__init__(model, config)
        unknown = sorted(set(config.objective_args) - set(DEFAULTS))
        if unknown:
            raise ModelError(f"unknown adversarial objective argument {unknown[0]!r}")
        self.args = {**DEFAULTS, **config.objective_args}
        for key, what in (("warmup", "a fraction of the steps"), ("keep_all", "a probability")):
            if not 0 <= self.args[key] <= 1:
                raise ModelError(f"{key} is {what} in [0, 1], got {self.args[key]}")
        self.selective = bool(getattr(model, "selective", False))
        if self.args["fm_mask"] not in (0, 1):
            raise ModelError(f"fm_mask is 0 or 1, got {self.args['fm_mask']}")
        if self.args["norm_stats"] < 0:
            raise ModelError(f"norm_stats is a weight >= 0, got {self.args['norm_stats']}")
        if self.args["norm_stats"] and not getattr(model, "gated_input", False):
            raise ModelError(
                "norm_stats compares the gated SC generator's first norm: "
                "train gan-sc with --model-arg gated_input=1"
            )
        self.fm_mask = bool(self.args["fm_mask"])
        width = int(self.args["d_width"])
        classes = model.classes if self.selective else 0
        widths = tuple(width * 2**i for i in range(4))
        self.discriminator = MultiScaleDiscriminator(3 + classes, widths)
        if config.channels_last:
            self.discriminator.to(memory_format=torch.channels_last)
        self.modules["discriminator"] = self.discriminator
        self.d_net: nn.Module = self.discriminator
        self.parameters = list(trainable(model, config.freeze))
        optimizers = {
            "model": torch.optim.Adam(self.parameters, lr=config.lr, betas=(0.5, 0.999)),
            "discriminator": torch.optim.Adam(
                self.discriminator.parameters(), lr=config.lr, betas=(0.5, 0.999)
            ),
        }
        self.optimizers = optimizers
        self.schedulers = {k: multistep(o, config) for k, o in optimizers.items()}
        self.warmup_steps = round(self.args["warmup"] * config.steps)
        self.step_index = 0

    def wrap(self, wrap: Any) -> None:
        self.net = wrap(self.model)
        self.d_net = wrap(self.discriminator)

    def dataset(self, config: TrainConfig) -> Dataset[Tensor]:
        if self.selective:
            return LabelledCrops(config.data, crop=config.crop, seed=config.seed)
        return ImageFolderCrops(config.data, crop=config.crop, seed=config.seed)

    def set_progress(self, step: int, steps: int) -> None:
        super().set_progress(step, steps)
        self.step_index = step

    def step(self, batch: Tensor) -> dict[str, Tensor]:
        config, stride = self.config, self.model.stride
        x, labels, mask, condition = batch[:, :3], None, None, None
        if self.selective:
            labels = batch[:, 3].round().long()
            rng = np.random.default_rng([config.seed, self._rank(), self.step_index])
            mask = random_latent_masks(labels, stride, rng, self.args["keep_all"])
            condition = self.model.one_hot(labels)
        with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=config.bf16):
            out = self.net(x, labels, mask) if self.selective else self.net(x)
        x_hat = out["x_hat"]
        weight = None if mask is None else pixel_weight(mask, stride)
        mse_term = self.args["mse"] * masked_mse(x_hat, x, weight)
        zero = mse_term.new_zeros(())
        adversarial = self.step_index >= self.warmup_steps
        gan = fm = d_loss = zero
        if adversarial:
            fake = self.d_net(x_hat, condition)
            real = self.d_net(x, condition)
            gan = self.args["gan"] * lsgan_real(fake)
            fm = self.args["fm"] * feature_matching(real, fake, weight if self.fm_mask else None)
        stats = zero
        if self.args["norm_stats"] and "first_features" in out:
            stats = self.args["norm_stats"] * first_norm_gap(*out["first_features"])
        loss = mse_term + gan + fm + stats
        codec_opt, d_opt = self.optimizers["model"], self.optimizers["discriminator"]
        codec_opt.zero_grad(set_to_none=True)
        loss.backward()
        _step_if_finite(codec_opt, self.parameters, config.clip_grad)
        d_opt.zero_grad(set_to_none=True)  # drops what the codec's loss left on D
        if adversarial:
            d_loss = lsgan_real(self.d_net(x, condition)) + lsgan_fake(
                self.d_net(x_hat.detach(), condition)
            )
            d_loss.backward()
        # while warming up there are no gradients: a no-op that keeps the schedule's order
        _step_if_finite(d_opt, list(self.discriminator.parameters()), config.clip_grad)
        for scheduler in self.schedulers.values():
            scheduler.step()
        with torch.no_grad():
            error = ((x_hat.detach().float() - x) ** 2).mean().clamp_min(1e-10)
        psnr = -10 * torch.log10(error)
        return {
            "loss": loss.detach(),
            "mse_term": mse_term.detach(),
            "gan": gan.detach(),
            "feature_matching": fm.detach(),
            "norm_stats": stats.detach(),
            "discriminator": d_loss.detach(),
            "psnr": psnr,
        }

    def _rank(self) -> int:
        return torch.distributed.get_rank() if torch.distributed.is_initialized() else 0

    def manifest(self) -> dict[str, Any]:
        return {
            "objective": self.name,
            "objective_args": self.args,
            "warmup_steps": self.warmup_steps,
            "lr_schedule": {
                "optimizers": "Adam β=(0.5, 0.999), codec and discriminator",
                "lr": self.config.lr,
                "milestones": milestones(self.config),
            },
        }
