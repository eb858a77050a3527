"""Post-processing network on the decoded image (Tucodec's post-filter).

``x̃ = x̂ + f(x̂)`` with ``f = conv3×3(C → 3) ∘ [ResidualBlock(C)]×blocks ∘ conv3×3(3 → C)``
at full resolution (``[D]`` ``C = 16``, three residual blocks: about 15 k multiply-adds per
pixel, 0.3 s for 768×512 on one CPU thread — ``C = 32`` took four times as long, more than
the rest of a decode). The last convolution starts at zero, so an untrained filter is the
identity, and weights without it (written before its training stage) load it so.
Shapes: ``B×3×H×W → B×3×H×W``.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from licodec.components.layers.conv import conv
from licodec.components.layers.residual import ResidualBlock


class PostFilter(nn.Module):
    """Residual CNN ``x̂ + f(x̂)`` (see module docstring)."""

    optional_state = True
    """Weights written before the filter's training stage may lack it: it loads as built."""

    def __init__(
        self, channels: int = 16, blocks: int = 3, planes: int = 3, guide_planes: int = 0
    ) -> None:
        super().__init__()
        last = conv(channels, planes, 3, 1)
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)
        self.body = nn.Sequential(
            conv(planes + guide_planes, channels, 3, 1),
            *(ResidualBlock(channels, channels) for _ in range(blocks)),
            last,
        )

    def forward(self, x_hat: Tensor, guide: Tensor | None = None) -> Tensor:
        inputs = x_hat if guide is None else torch.cat([x_hat, guide], dim=1)
        return x_hat + self.body(inputs)
