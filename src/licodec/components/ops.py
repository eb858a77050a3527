"""Small differentiable operations shared by layers and entropy models."""

from __future__ import annotations

import torch
from torch import Tensor


class _LowerBound(torch.autograd.Function):
    """``max(x, bound)`` whose gradient still flows where it would push ``x`` up."""

    @staticmethod
    def forward(ctx, x: Tensor, bound: Tensor) -> Tensor:  # type: ignore[override]
        ctx.save_for_backward(x, bound)
        return torch.max(x, bound)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, None]:  # type: ignore[override]
        x, bound = ctx.saved_tensors
        passes = (x >= bound) | (grad < 0)
        return passes.to(grad.dtype) * grad, None


def lower_bound(x: Tensor, bound: float) -> Tensor:
    """``max(x, bound)`` with a gradient that lets values below the bound recover."""
    return _LowerBound.apply(x, torch.tensor(bound, dtype=x.dtype, device=x.device))


def round_ste(x: Tensor) -> Tensor:
    """Round in the forward pass, identity gradient in the backward pass."""
    return x + (torch.round(x) - x).detach()


def std_normal_cdf(x: Tensor) -> Tensor:
    """Φ(x) = ½·erfc(−x/√2), accurate in both tails."""
    return 0.5 * torch.erfc(x * -(2.0**-0.5))
