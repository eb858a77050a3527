"""Simplified attention module of Cheng et al. 2020.

``out = x + trunk(x) ⊙ σ(mask(x))`` with ``trunk`` three residual units and ``mask`` three
residual units followed by a 1×1 convolution (σ the logistic sigmoid). A residual unit is
``ReLU(x + conv1×1(ReLU(conv3×3(ReLU(conv1×1(x))))))`` through ``C/2`` channels. Shapes
are preserved: ``B×C×H×W → B×C×H×W``.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from licodec.components.layers.conv import conv


class ResidualUnit(nn.Module):
    """Bottleneck residual unit ``C → C/2 → C/2 → C`` with a ReLU after the sum."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        half = channels // 2
        self.body = nn.Sequential(
            conv(channels, half, 1, 1),
            nn.ReLU(inplace=True),
            conv(half, half, 3, 1),
            nn.ReLU(inplace=True),
            conv(half, channels, 1, 1),
        )

    def forward(self, x: Tensor) -> Tensor:
        return torch.relu(x + self.body(x))


class AttentionBlock(nn.Module):
    """``x + trunk(x) ⊙ sigmoid(mask(x))`` (see module docstring)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.trunk = nn.Sequential(*(ResidualUnit(channels) for _ in range(3)))
        self.mask = nn.Sequential(
            *(ResidualUnit(channels) for _ in range(3)), conv(channels, channels, 1, 1)
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.trunk(x) * torch.sigmoid(self.mask(x))
