"""Fraction bits of the integer path's entropy parameters: one home for every head.

A fixed-point parameter is an int64 ``p`` standing for ``p · 2^-bits``:

* scales: ``SCALE_FRAC_BITS = 12`` — steps of 2.4e-4, under 4% of the narrowest gap between
  two scale-table levels (at ``scale_min = 0.11``), so a scale's table level is the float
  one but for scales within a step of a level boundary;
* means: ``MEAN_FRAC_BITS = 8`` — ``ŷ = q + m/256`` is exact in float32 for ``|ŷ| < 2^16``;
  the offset from the float mean is at most 1/512;
* mixture logits: ``LOGIT_FRAC_BITS = 8``.

**Which path a tensor is on.** Parameters cross from the parameter networks to the heads
either as floats (the float path) or as int64 fixed-point integers in the units above (the
integer path, from :class:`~licodec.components.fixedpoint.IntegerNetwork`);
:func:`is_fixed_point` is the one test of which, so a head never guesses.
"""

from __future__ import annotations

import torch
from torch import Tensor

SCALE_FRAC_BITS = 12
MEAN_FRAC_BITS = 8
LOGIT_FRAC_BITS = 8


def is_fixed_point(params: Tensor) -> bool:
    """Whether ``params`` are integer-path fixed-point values (int64) rather than floats."""
    return params.dtype == torch.int64


def units(*blocks: tuple[int, int]) -> Tensor:
    """float64 units of consecutive parameter channel blocks, each ``(fraction bits,
    channels)``: e.g. ``units((12, C), (8, C))`` for ``C`` scales then ``C`` means."""
    return torch.cat(
        [torch.full((channels,), 2.0**-bits, dtype=torch.float64) for bits, channels in blocks]
    )
