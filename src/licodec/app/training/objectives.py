"""Training objectives: what a run optimises, separate from the loop that runs it.

An objective owns the modules it trains (``modules``: the codec under ``"model"``, and e.g.
a discriminator), its optimizers and their learning-rate schedules (one
:class:`~torch.optim.lr_scheduler.MultiStepLR` per optimizer, so the loop can retarget every
schedule when a resumed run changes its length), the terms it logs, one optimisation
:meth:`Objective.step` per batch, and :meth:`Objective.exported`, what ships — training-only
modules stay out. The loop (:mod:`licodec.app.training.loop`) keeps everything else: data,
DDP, checkpoints, exact resume, the CSV log and the progress bar.

Registered objectives (:data:`OBJECTIVES`, extended by :func:`register_objective`):

* ``"rate-distortion"`` (:class:`RateDistortion`): ``R + λ·D`` with one Adam;
* ``"adversarial"`` (:class:`licodec.app.training.adversarial.Adversarial`): a codec and a
  discriminator alternating, no rate term (generative compression).

The seam admits several optimizers that alternate (a generator and a discriminator),
objectives without a rate term, frozen parts (``TrainConfig.freeze`` names parameter
prefixes that get no gradient, e.g. the codec while a post-filter trains), and annealed
quantizers: :meth:`Objective.set_progress` reaches every
:class:`~licodec.components.quant.Quantizer` of every module at every step.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.optim.lr_scheduler import MultiStepLR
from torch.utils.data import Dataset

from licodec.app.data import ImageFolderCrops
from licodec.app.training.config import TrainConfig
from licodec.components.quant import Quantizer
from licodec.core.colour import CodedFormat
from licodec.core.metrics import ms_ssim
from licodec.errors import ModelError
from licodec.models import CompressionModel
from licodec.models.registry import MS_SSIM_LAMBDAS, MSE_LAMBDAS

LR_GAMMA = 0.1
"""Factor applied to the learning rate at each of ``TrainConfig.lr_drops``."""


def milestones(config: TrainConfig) -> list[int]:
    """Steps after which the learning rate drops: the ``lr_drops`` fractions of ``steps``."""
    return sorted({max(1, round(f * config.steps)) for f in config.lr_drops})


def multistep(optimizer: torch.optim.Optimizer, config: TrainConfig) -> MultiStepLR:
    """The run's schedule for ``optimizer``: ×0.1 at each of :func:`milestones`."""
    return MultiStepLR(optimizer, milestones=milestones(config), gamma=LR_GAMMA)


def adam_schedule(config: TrainConfig) -> dict[str, Any]:
    """What a manifest records of one Adam under the run's schedule."""
    return {
        "optimizer": "Adam",
        "lr": config.lr,
        "gamma": LR_GAMMA,
        "milestones": milestones(config),
        "clip_grad_norm": config.clip_grad,
    }


def trainable(model: nn.Module, frozen: tuple[str, ...]) -> Iterator[nn.Parameter]:
    """``model``'s parameters whose names start with none of ``frozen`` (the others get
    ``requires_grad = False``)."""
    for name, parameter in model.named_parameters():
        if frozen and name.startswith(frozen):
            parameter.requires_grad_(False)
        else:
            yield parameter


class Objective:
    """Interface of a training objective (see module docstring).

    Subclasses set ``modules``, ``optimizers`` and ``schedulers`` in ``__init__`` and
    implement :meth:`step`.
    """

    name: str
    terms: tuple[str, ...]
    """Names of the tensors :meth:`step` returns, logged in this order (the first is the
    loss)."""
    progress_terms: tuple[str, ...]
    """The terms the progress bar shows."""

    def __init__(self, model: CompressionModel, config: TrainConfig) -> None:
        self.model, self.config = model, config
        self.net: nn.Module = model
        self.modules: dict[str, nn.Module] = {"model": model}
        self.optimizers: dict[str, torch.optim.Optimizer] = {}
        self.schedulers: dict[str, MultiStepLR] = {}

    def wrap(self, wrap: Callable[[nn.Module], nn.Module]) -> None:
        """Run the forward passes through ``wrap(module)`` (DDP, ``torch.compile``)."""
        self.net = wrap(self.model)

    def set_progress(self, step: int, steps: int) -> None:
        """Tell every quantizer of every module where training stands."""
        for module in self.modules.values():
            for quantizer in module.modules():
                if isinstance(quantizer, Quantizer):
                    quantizer.set_progress(step, steps)

    def prepare(self, x: Tensor) -> tuple[Tensor, ...]:
        """A batch of RGB training crops as the planes the model codes
        (:meth:`CompressionModel.planes_of`: e.g. Y and UV for a 4:2:0 model)."""
        return self.model.planes_of(x)

    def dataset(self, config: TrainConfig) -> Dataset[Tensor]:
        """The training items (default: random crops of the photos in ``config.data``)."""
        return ImageFolderCrops(config.data, crop=config.crop, seed=config.seed)

    def step(self, x: Tensor) -> dict[str, Tensor]:
        """One optimisation step on batch ``x`` (optimizers and schedulers included); returns
        the :attr:`terms`."""
        raise NotImplementedError

    def lr(self) -> float:
        """The current learning rate of the first optimizer (logged)."""
        return next(iter(self.optimizers.values())).param_groups[0]["lr"]

    def exported(self) -> CompressionModel:
        """The model that ships (training-only modules left out)."""
        return self.model

    def manifest(self) -> dict[str, Any]:
        """What the weights manifest records of this objective."""
        return {"objective": self.name}

    def state_dict(self) -> dict[str, Any]:
        """Optimizer and schedule states, and the modules other than the model."""
        return {
            "optimizers": {k: o.state_dict() for k, o in self.optimizers.items()},
            "schedulers": {k: s.state_dict() for k, s in self.schedulers.items()},
            "modules": {k: m.state_dict() for k, m in self.modules.items() if k != "model"},
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for key, optimizer in self.optimizers.items():
            optimizer.load_state_dict(state["optimizers"][key])
        for key, scheduler in self.schedulers.items():
            scheduler.load_state_dict(state["schedulers"][key])
        for key, module in self.modules.items():
            if key != "model":
                module.load_state_dict(state["modules"][key])


def loss_lambda(config: TrainConfig, model: CompressionModel) -> float:
    """The λ of the loss: the override, else the quality's λ for ``config.metric``."""
    if config.lmbda is not None:
        return config.lmbda
    if model.lmbda is None:
        raise ModelError(f"{model.name} q{model.quality} has no registered λ: pass lmbda")
    if config.metric == "mse":
        return model.lmbda
    if model.lmbda not in MSE_LAMBDAS:
        raise ModelError(
            f"{model.name} q{model.quality} has no standard MS-SSIM λ: pass lmbda explicitly"
        )
    return MS_SSIM_LAMBDAS[MSE_LAMBDAS.index(model.lmbda)]


def plane_mse(
    decoded: tuple[Tensor, ...], target: tuple[Tensor, ...], weights: tuple[float, ...] | None
) -> Tensor:
    """MSE of decoded planes: of a single plane and no ``weights`` the plain mean, else
    ``Σ_c w_c·MSE_c`` over the channels of every plane in order (e.g. Y, U, V)."""
    if weights is None and len(target) == 1:
        return F.mse_loss(decoded[0].float(), target[0])
    per_channel = torch.cat(
        [((d.float() - t) ** 2).mean(dim=(0, 2, 3)) for d, t in zip(decoded, target, strict=True)]
    )
    if weights is None:
        return per_channel.mean()
    return (per_channel * per_channel.new_tensor(weights)).sum()


def rate_distortion(
    output: dict[str, Any],
    planes: tuple[Tensor, ...],
    lmbda: float,
    metric: str,
    weights: tuple[float, ...] | None = None,
) -> dict[str, Tensor]:
    """Loss terms of one batch in float32: ``loss``, ``bpp``, ``mse`` and ``psnr``.

    ``R`` is ``Σ −log2 p`` over every likelihood, per pixel of the first plane (luma for
    YUV); ``D`` is ``255²·MSE`` (:func:`plane_mse` with the model's channel ``weights``) or
    ``1 − MS-SSIM`` of an RGB batch (:func:`licodec.core.metrics.ms_ssim`, mean over the
    batch); the logged PSNR is that of the batch's pooled (weighted) MSE. ``output["x_hat"]``
    is a tensor (one plane) or a tuple of planes.
    """
    n, _, height, width = planes[0].shape
    bits = sum(-torch.log2(lik.float()).sum() for lik in output["likelihoods"].values())
    bpp = bits / (n * height * width)
    decoded = output["x_hat"] if isinstance(output["x_hat"], tuple) else (output["x_hat"],)
    mse = plane_mse(decoded, planes, weights)
    if metric == "mse":
        distortion = 255**2 * mse
    else:
        distortion = 1 - ms_ssim(decoded[0].float(), planes[0])
    psnr = -10 * torch.log10(mse.detach().clamp_min(1e-10))  # of the batch's pooled MSE
    return {"loss": bpp + lmbda * distortion, "bpp": bpp, "mse": mse, "psnr": psnr}


class RateDistortion(Objective):
    """``R + λ·D`` (:func:`rate_distortion`), one Adam at ``lr`` with the run's schedule,
    gradients clipped to ``clip_grad``; the forward pass under bfloat16 autocast if
    ``bf16``."""

    name = "rate-distortion"
    terms = ("loss", "bpp", "mse", "psnr")
    progress_terms = ("loss", "bpp", "psnr")

    def __init__(self, model: CompressionModel, config: TrainConfig) -> None:
        super().__init__(model, config)
        if config.metric != "mse" and model.input_format != CodedFormat.RGB444:
            raise ModelError(f"{model.name} trains with MSE only (MS-SSIM is of RGB batches)")
        self.lmbda = loss_lambda(config, model)
        self.parameters = list(trainable(model, config.freeze))
        optimizer = torch.optim.Adam(self.parameters, lr=config.lr)
        self.optimizers = {"model": optimizer}
        self.schedulers = {"model": multistep(optimizer, config)}

    def step(self, x: Tensor) -> dict[str, Tensor]:
        optimizer, config = self.optimizers["model"], self.config
        planes = self.prepare(x)
        with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=config.bf16):
            output = self.net(*planes)
        weights = self.model.distortion_weights
        terms = rate_distortion(output, planes, self.lmbda, config.metric, weights)
        optimizer.zero_grad(set_to_none=True)
        terms["loss"].backward()
        nn.utils.clip_grad_norm_(self.parameters, config.clip_grad)
        optimizer.step()
        self.schedulers["model"].step()
        return terms

    def manifest(self) -> dict[str, Any]:
        return {
            "objective": self.name,
            "lmbda": self.lmbda,
            "metric": self.config.metric,
            "lr_schedule": adam_schedule(self.config),
        }


OBJECTIVES: dict[str, type[Objective]] = {}


def register_objective(cls: type[Objective]) -> type[Objective]:
    """Class decorator: make ``cls`` available as ``TrainConfig.objective = cls.name``."""
    if cls.name in OBJECTIVES:
        raise ValueError(f"objective {cls.name!r} registered twice")
    OBJECTIVES[cls.name] = cls
    return cls


register_objective(RateDistortion)


def objective_for(model: CompressionModel, config: TrainConfig, default: str) -> Objective:
    """The objective ``config`` names (else ``default``, the model's registered one)."""
    name = config.objective or default
    if name not in OBJECTIVES:
        known = ", ".join(sorted(OBJECTIVES))
        raise ModelError(f"unknown training objective {name!r}; known: {known}")
    return OBJECTIVES[name](model, config)
