"""Residual blocks and sub-pixel upsampling of Cheng et al. 2020 (3×3 convolutions).

* :func:`subpixel_conv`: ``conv3×3(in → out·r²)`` then pixel shuffle by ``r`` (Shi 2016).
* :class:`ResidualBlock`: ``x + f(x)``, ``f = LReLU ∘ conv3×3 ∘ LReLU ∘ conv3×3``; the skip is
  a 1×1 convolution when the channel count changes.
* :class:`ResidualBlockWithStride`: downsampling block, ``f = GDN ∘ conv3×3 ∘ LReLU ∘
  conv3×3/stride``, skip ``conv1×1/stride``.
* :class:`ResidualBlockUpsample`: upsampling block, ``f = IGDN ∘ conv3×3 ∘ LReLU ∘
  subpixel``, skip ``subpixel``.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from licodec.components.layers.conv import conv
from licodec.components.layers.gdn import GDN


def subpixel_conv(in_ch: int, out_ch: int, factor: int = 2) -> nn.Sequential:
    """``in_ch×H×W → out_ch×(factor·H)×(factor·W)`` by a 3×3 conv and pixel shuffle."""
    return nn.Sequential(conv(in_ch, out_ch * factor**2, 3, 1), nn.PixelShuffle(factor))


class _Residual(nn.Module):
    """``body(x) + skip(x)`` (``skip`` is the identity when ``None``)."""

    def __init__(self, body: nn.Module, skip: nn.Module | None) -> None:
        super().__init__()
        self.body = body
        self.skip = skip if skip is not None else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        if torch.is_grad_enabled():
            return self.body(x) + self.skip(x)
        return self.body(x).add_(self.skip(x))  # inference: same sum, no extra buffer


class ResidualBlock(_Residual):
    """Two 3×3 convolutions with leaky ReLUs; ``in_ch×H×W → out_ch×H×W``."""

    def __init__(self, in_ch: int, out_ch: int) -> None:
        body = nn.Sequential(
            conv(in_ch, out_ch, 3, 1),
            nn.LeakyReLU(inplace=True),
            conv(out_ch, out_ch, 3, 1),
            nn.LeakyReLU(inplace=True),
        )
        super().__init__(body, conv(in_ch, out_ch, 1, 1) if in_ch != out_ch else None)


class SubsampledPointwiseConv(nn.Conv2d):
    """A 1×1 convolution of stride ``s``, computed as the stride-1 convolution of every
    ``s``-th row and column (the same sums).

    ``[D]`` PyTorch 2.13's CPU backward of a strided 1×1 convolution on channels-last input
    with few channels (3, 4, 8) corrupts the heap (crashes within a few training steps of
    ``cheng2020-anchor``); its stride-1 form does not.
    """

    def __init__(self, in_ch: int, out_ch: int, stride: int) -> None:
        super().__init__(in_ch, out_ch, 1)
        self.subsampling = stride

    def forward(self, x: Tensor) -> Tensor:
        step = self.subsampling
        return super().forward(x[..., ::step, ::step] if step > 1 else x)


class ResidualBlockWithStride(_Residual):
    """Downsampling residual block with GDN; ``in_ch×H×W → out_ch×H/s×W/s``."""

    def __init__(self, in_ch: int, out_ch: int, stride: int = 2) -> None:
        body = nn.Sequential(
            conv(in_ch, out_ch, 3, stride),
            nn.LeakyReLU(inplace=True),
            conv(out_ch, out_ch, 3, 1),
            GDN(out_ch),
        )
        super().__init__(body, SubsampledPointwiseConv(in_ch, out_ch, stride))


class ResidualBlockUpsample(_Residual):
    """Upsampling residual block with IGDN; ``in_ch×H×W → out_ch×rH×rW``."""

    def __init__(self, in_ch: int, out_ch: int, factor: int = 2) -> None:
        body = nn.Sequential(
            subpixel_conv(in_ch, out_ch, factor),
            nn.LeakyReLU(inplace=True),
            conv(out_ch, out_ch, 3, 1),
            GDN(out_ch, inverse=True),
        )
        super().__init__(body, subpixel_conv(in_ch, out_ch, factor))
