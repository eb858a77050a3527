"""Integer arithmetic of the fixed-point path: exact accumulation and requantization.

**Representation.** A fixed-point activation tensor holds integers ``a`` that stand for the
real values ``a · u_c``, one *unit* ``u_c`` per channel chosen at calibration. At run time the
units are never used: only integer weights, biases, multipliers and shifts are.

**Exact arithmetic in float64.** Every run-time operation works on integer-valued float64
tensors. Float64 holds every integer of magnitude below ``2^53`` exactly, and an IEEE
operation whose exact result is representable returns it unrounded. Convolutions and
matrix products: if every product and partial sum is an integer below ``2^53`` — guaranteed
when ``Σ_i |w_i| · L + |b| < 2^53`` for each output (``L`` the input limit, see
:func:`accumulator_bound`) — no operation of the sum ever rounds, whatever the summation
order, blocking, vectorisation, fused multiply-adds, thread count or batch size: the result
is the exact integer accumulator on every machine.

**Requantization.** The accumulator ``acc`` (unit ``u_acc[c]``, bias included) becomes the
output integer of unit ``u_out[c]`` through ``round(acc · r)`` with ``r = u_acc / u_out``,
computed as

    out = ⌊acc · (M · 2^−S) + ½⌋ = ⌊(acc · M + 2^(S−1)) / 2^S⌋    (round half up),

with integers ``M ≈ r · 2^S`` and ``S`` from :func:`fixed_multiplier`, which keeps
``|acc| · M < 2^52``. ``M · 2^−S`` is an exact float64; the product is the integer
``acc · M`` (below ``2^52``) times a power of two, so exact; adding ½ gives a numerator
below ``2^53`` over ``2^S``, exact again; the floor of an exact value is exact. ``M`` keeps
as many bits of ``r`` as the accumulator bound leaves room for.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

EXACT_FLOAT64 = 1 << 53
"""Integers below this magnitude are exact in float64."""

PRODUCT_LIMIT = 1 << 52
"""``|acc| · M`` stays below this, leaving room for the rounding term below ``2^53``."""

MAX_SHIFT = 52


def limit(bits: int) -> int:
    """Largest magnitude of a signed ``bits``-bit integer kept symmetric: ``2^(bits−1) − 1``."""
    return (1 << (bits - 1)) - 1


def accumulator_bound(weight: Tensor, bias: Tensor, input_limit: int) -> np.ndarray:
    """Per-output bound ``Σ_i |w_i| · L + |b|`` on ``|acc|`` (as Python-exact int64).

    Args:
        weight: integer weights with the output channel on dim 0, ``O×…``.
        bias: integer biases ``(O,)``.
        input_limit: ``L``, the largest input magnitude.
    """
    weight_sum = weight.to(torch.int64).abs().flatten(1).sum(1)
    return (weight_sum * input_limit + bias.abs()).numpy()


def fixed_multiplier(ratio: np.ndarray, bound: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Integer multipliers ``M`` and shifts ``S`` (int64, per channel) with ``M / 2^S ≈ ratio``.

    ``S`` is the largest shift (at most 52) with ``bound · round(ratio · 2^S) < 2^52``.
    Calibration-time only; the results are stored as integers.

    Args:
        ratio: ``r ≥ 0`` per channel.
        bound: the accumulator bound per channel (:func:`accumulator_bound`).

    Raises:
        ValueError: ``ratio · bound`` is so large that no shift ``S >= 1`` fits.
    """
    ratio = np.asarray(ratio, dtype=np.float64)
    product = np.maximum(ratio * np.maximum(bound, 1).astype(np.float64), 2.0**-300)
    shift = np.clip(np.floor(np.log2(PRODUCT_LIMIT / product)), 1, MAX_SHIFT).astype(np.int64)
    multiplier = np.round(ratio * np.exp2(shift)).astype(np.int64)
    for c in range(len(ratio)):  # exact check in Python integers; at most a step or two
        while int(multiplier[c]) * max(int(bound[c]), 1) >= PRODUCT_LIMIT:
            if shift[c] == 1:
                raise ValueError(f"requantization ratio {ratio[c]:.3g} overflows float64")
            shift[c] -= 1
            multiplier[c] = int(np.round(ratio[c] * 2.0 ** int(shift[c])))
    return multiplier, shift


def requantize(acc: Tensor, positive: Tensor, negative: Tensor) -> Tensor:
    """``⌊acc · m + ½⌋`` with ``m = positive`` where ``acc >= 0``, else ``negative`` (each an
    exact ``M · 2^−S``, broadcast against ``acc``); exact, see the module docstring."""
    return (acc * torch.where(acc >= 0, positive, negative)).add_(0.5).floor_()
