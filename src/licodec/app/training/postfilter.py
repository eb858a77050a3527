"""The post-filter's training stage: the codec frozen, the filter fitted to its output.

``"post-filter"`` (:class:`PostFilterStage`): each batch is coded by the frozen codec in eval
mode (hard quantization, exactly the decoder's ``x̂`` up to float rounding), and the model's
``post_filter`` alone minimises ``255²·MSE(filter(x̂), x)`` with one Adam at ``lr`` and the
run's schedule. Logged: the loss, the filtered PSNR and its gain over ``x̂`` in dB (of the
batch's pooled MSE).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from licodec.app.training.config import TrainConfig
from licodec.app.training.objectives import (
    Objective,
    adam_schedule,
    multistep,
    register_objective,
)
from licodec.errors import ModelError
from licodec.models import CompressionModel


def _psnr(mse: Tensor) -> Tensor:
    return -10 * torch.log10(mse.detach().clamp_min(1e-10))


class PostFilterStage(Objective):
    """Train ``model.post_filter`` on the frozen codec's decoded images (module docstring)."""

    name = "post-filter"
    terms = ("loss", "psnr", "gain_db")
    progress_terms = ("loss", "psnr", "gain_db")

    def __init__(self, model: CompressionModel, config: TrainConfig) -> None:
        super().__init__(model, config)
        if model.post_filter is None:
            raise ModelError(f"{model.name} has no post-filter to train")
        for parameter in model.parameters():
            parameter.requires_grad_(False)
        self.parameters = list(model.post_filter.parameters())
        for parameter in self.parameters:
            parameter.requires_grad_(True)
        optimizer = torch.optim.Adam(self.parameters, lr=config.lr)
        self.optimizers = {"model": optimizer}
        self.schedulers = {"model": multistep(optimizer, config)}

    def step(self, x: Tensor) -> dict[str, Tensor]:
        optimizer, model = self.optimizers["model"], self.model
        model.eval()
        with torch.no_grad():
            x_hat = model(x)["x_hat"].clamp(0, 1)
        model.post_filter.train()
        mse = F.mse_loss(model.post_filter(x_hat), x)
        loss = 255**2 * mse
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(self.parameters, self.config.clip_grad)
        optimizer.step()
        self.schedulers["model"].step()
        gain = _psnr(mse) - _psnr(F.mse_loss(x_hat, x))
        return {"loss": loss, "psnr": _psnr(mse), "gain_db": gain}

    def manifest(self) -> dict[str, Any]:
        return {"objective": self.name, "lr_schedule": adam_schedule(self.config)}


register_objective(PostFilterStage)
