"""Checkerboard context (He et al. 2021): two passes instead of a serial scan.

Positions with ``i + j`` even are *anchors*, the others *non-anchors*. The schedule has two
fronts: the anchors first, coded from the side input alone (their context input is zero,
so the context is the masked convolution's bias), then the non-anchors, whose
checkerboard-masked ``k×k`` convolution (taps with ``dy + dx`` odd) reads only anchors, all
decoded by then. Each pass is one batched parameter computation and one coder call per
table group, in one stream.

Training uses the one-pass formulation ``ctx = MaskedConv(ỹ ⊙ A)`` with ``A`` the anchor
indicator: non-anchors see the noisy anchors, anchors see zeros — exactly what the two
passes compute at coding time (see :mod:`licodec.components.latent.context` for the
shared front machinery and its bit-exactness argument).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from licodec.components.latent.context import ContextLatentCodec


def anchor_mask(height: int, width: int) -> np.ndarray:
    """``H×W`` bool, true at the anchors ``(i + j)`` even."""
    rows, cols = np.indices((height, width))
    return (rows + cols) % 2 == 0


class CheckerboardLatentCodec(ContextLatentCodec):
    """Two-pass checkerboard context model: anchors (front 0), then non-anchors (front 1)."""

    mask_type = "checkerboard"
    training_passes = 2
    """Anchors quantized around their hyperprior-only parameters, then the non-anchors
    around the parameters their context gives: exactly the two coding passes."""

    def schedule(self, height: int, width: int) -> np.ndarray:
        return (~anchor_mask(height, width)).astype(np.int64)

    def training_context(self, noisy: Tensor) -> Tensor:
        anchors = torch.from_numpy(anchor_mask(*noisy.shape[-2:])).to(noisy)
        return self.context(noisy * anchors)
