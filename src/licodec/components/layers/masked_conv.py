"""Masked convolutions for context models: raster-causal mask A and the checkerboard mask.

A mask is a ``k×k`` 0/1 tensor over the kernel taps, indexed by the offset ``(dy, dx)`` from
the centre (``dy, dx ∈ [−k//2, k//2]``):

* ``"A"`` (van den Oord 2016, Minnen 2018): taps strictly before the centre in raster order,
  ``dy < 0`` or ``(dy = 0 and dx < 0)``. For ``k = 5`` that is 12 of the 25 taps.
* ``"checkerboard"`` (He 2021): taps of the opposite checkerboard colour, ``dy + dx`` odd.
  Anchors (``i + j`` even) then only read non-anchors and vice versa; for ``k = 5`` it is 12
  taps too.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

MaskType = Literal["A", "checkerboard"]


def kernel_mask(kernel: int, mask_type: MaskType) -> Tensor:
    """The ``kernel×kernel`` float 0/1 mask of ``mask_type`` (see module docstring)."""
    if kernel % 2 == 0:
        raise ValueError(f"masked convolutions need an odd kernel, got {kernel}")
    offsets = torch.arange(kernel) - kernel // 2
    dy, dx = offsets[:, None], offsets[None, :]
    if mask_type == "A":
        mask = (dy < 0) | ((dy == 0) & (dx < 0))
    elif mask_type == "checkerboard":
        mask = (dy + dx) % 2 == 1
    else:
        raise ValueError(f"unknown mask type {mask_type!r}")
    return mask.float()


class MaskedConv2d(nn.Conv2d):
    """``k×k`` stride-1 "same" convolution whose weight is multiplied by a fixed mask.

    ``out = conv2d(x, W ⊙ mask, b)`` with ``W`` of shape ``out×in×k×k``; masked taps never
    receive gradient, so the stored weight may hold anything there.

    Args:
        in_channels: input channels.
        out_channels: output channels.
        kernel: odd kernel size ``k``.
        mask_type: ``"A"`` or ``"checkerboard"``.
    """

    def __init__(
        self, in_channels: int, out_channels: int, kernel: int = 5, mask_type: MaskType = "A"
    ) -> None:
        super().__init__(in_channels, out_channels, kernel, padding=kernel // 2)
        self.mask_type = mask_type
        self.register_buffer("mask", kernel_mask(kernel, mask_type), persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        return F.conv2d(x, self.weight * self.mask, self.bias, padding=self.padding)
