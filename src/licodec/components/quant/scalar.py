"""Scalar quantization and its training-time relaxations.

``round``: ŷ = round(y − μ) + μ, what the codec does.
``noise``: ŷ = y + u, u ~ U(−½, ½): a differentiable proxy for the rate term.
``ste``:   rounding in the forward pass with an identity gradient, a proxy for the
           reconstruction that the decoder will see.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

from licodec.components.ops import round_ste

QuantMode = Literal["round", "noise", "ste"]


def quantize(y: Tensor, mode: QuantMode, means: Tensor | None = None) -> Tensor:
    """Quantize ``y`` around ``means`` (0 when ``None``) with the given ``mode``."""
    if mode == "noise":
        return y + torch.empty_like(y).uniform_(-0.5, 0.5)
    offset = means if means is not None else torch.zeros((), dtype=y.dtype, device=y.device)
    if mode == "ste":
        return round_ste(y - offset) + offset
    if mode == "round":
        return torch.round(y - offset) + offset
    raise ValueError(f"unknown quantization mode {mode!r}")
