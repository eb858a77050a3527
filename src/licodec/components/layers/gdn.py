"""Generalized divisive normalization (Ballé et al. 2016) and its inverse.

``GDN``:  y_i = x_i / sqrt(β_i + Σ_j γ_ij x_j²)
``IGDN``: y_i = x_i · sqrt(β_i + Σ_j γ_ij x_j²)

β and γ are kept non-negative by the reparametrisation ``p = max(θ, √(bound))² − pedestal``
(θ trained, pedestal = 2⁻³⁶ keeps the gradient alive near zero).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from licodec.components.ops import lower_bound

_PEDESTAL = 2.0**-36


class _NonNegative(nn.Module):
    """Stores θ = √(p + pedestal) and returns ``p = max(θ, √(minimum + pedestal))² − pedestal``."""

    def __init__(self, initial: Tensor, minimum: float = 0.0) -> None:
        super().__init__()
        self.bound = (minimum + _PEDESTAL) ** 0.5
        self.theta = nn.Parameter(torch.sqrt(torch.clamp(initial, min=0) + _PEDESTAL))

    def forward(self) -> Tensor:
        return lower_bound(self.theta, self.bound) ** 2 - _PEDESTAL


class GDN(nn.Module):
    """GDN over ``channels``; ``inverse=True`` gives IGDN."""

    def __init__(self, channels: int, inverse: bool = False, gamma_init: float = 0.1) -> None:
        super().__init__()
        self.inverse = inverse
        self.beta = _NonNegative(torch.ones(channels), minimum=1e-6)
        self.gamma = _NonNegative(gamma_init * torch.eye(channels))

    def forward(self, x: Tensor) -> Tensor:
        channels = x.shape[1]
        gamma = self.gamma().reshape(channels, channels, 1, 1)
        norm = F.conv2d(x * x, gamma, self.beta())
        if torch.is_grad_enabled():
            norm = torch.sqrt(norm)
            return x * norm if self.inverse else x / norm
        # Inference: the same operations in place on the fresh ``norm`` buffer (same values,
        # two fewer full-size allocations per layer).
        norm.sqrt_()
        return norm.mul_(x) if self.inverse else torch.div(x, norm, out=norm)
