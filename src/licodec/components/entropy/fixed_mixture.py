"""Gaussian mixtures coded from fixed-point parameters with integer arithmetic only.

The integer twin of :class:`~licodec.components.entropy.mixture.GaussianMixtureConditional`.
Parameters arrive as integers (the fixed-point path's outputs): logits ``l_k`` in units of
``2^-8``, means ``m_k`` in units of ``2^-8`` and scales ``s_k`` in units of ``2^-12``, for
``K`` components. Every step from there to the coder's count rows is int64 arithmetic on
numpy arrays, on tables that are stored with the weights:

* **weights** ``E_k = EXP[min(max_j l_j − l_k, D)]``, ``EXP[d] = round(2^16 · e^(−d/2^8))``
  (a table of ``D + 1`` entries, ``EXP[D] = 0``): the softmax up to its normaliser, which
  cancels below;
* **component CDFs** at the bin edges ``e = v ± ½``: ``u = (e − μ_k) / s_k`` as the exact
  integer floor ``⌊(2^8·e − m_k) · 2^24 / s_k⌋`` (units of ``2^-20``), then
  ``Φ(u) ≈ T[j] + ((T[j+1] − T[j]) · f) >> 10`` with ``j = ⌊u·2^10⌋``, ``f`` the next 10
  bits, and ``T[j] = round(2^28 · Φ(j/2^10 − 8))`` a table over ``[−8, 8]`` (beyond, 0 or
  ``2^28``). Interpolating a nondecreasing table is nondecreasing, so bin masses are ≥ 0;
* **mixture CDF** ``C(e) = Σ_k E_k · Φ_k(e)`` (below ``3 · 2^44``), bin masses
  ``C(v + ½) − C(v − ½)`` out of ``Σ_k E_k · 2^28``, the rest to the escape, and counts by
  :func:`~licodec.components.entropy.tables.quantize_masses`;
* **windows** as in the float model: centre ``c = round(Σ E_k m_k / Σ E_k)`` (integer
  division), half-width ``R`` the smallest power of two (1 to ``max_radius``) covering
  ``|μ_k − c| + t·s_k`` for every component of nonzero integer weight (``w_k ≳ 2^-17`` of
  the largest; lighter ones still add their mass inside the window), ``t`` rounded to
  ``1/256``.

Each ``Φ`` value is within ``5·10^-7`` of the exact one (interpolation ``2^-20/8 · max|φ'|
< 3·10^-8``, flooring ``u`` to ``2^-20`` at most ``φ(0)·2^-20 < 4·10^-7``, table rounding
``2^-29``), below the ``2^-16`` resolution of the coder's counts: the integer rows cost no
measurable rate against the float ones (see ``tests/test_integer_path.py``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import torch
from torch import Tensor

from licodec.components.buffers import DataSizedBuffers
from licodec.components.entropy.coder import Decoder, Encoder
from licodec.components.entropy.mixture import decode_row_batches, encode_row_batches
from licodec.components.entropy.tables import quantize_masses
from licodec.components.entropy.units import (
    LOGIT_FRAC_BITS,
    MEAN_FRAC_BITS,
    SCALE_FRAC_BITS,
    units,
)
from licodec.components.ops import std_normal_cdf

WEIGHT_BITS = 16
CDF_BITS = 28
GRID_BITS = 10  # table steps of 2^-10 in u
INTERP_BITS = 10  # interpolation within a step
TABLE_RANGE = 8  # the table covers u in [−8, 8]
TAIL_BITS = 8
_U_BITS = GRID_BITS + INTERP_BITS
_U_SCALE = 1 << (SCALE_FRAC_BITS - MEAN_FRAC_BITS + _U_BITS)  # (e − m)·2^24 // s: u in 2^-20
_CLIP = 1 << 29  # |e − m| beyond 2^21 puts |u| past the table for any 32-bit scale
_ROW_BUDGET = 1 << 22  # int64 entries per batch of rows


def _edges_cdf(table: np.ndarray, u: np.ndarray) -> np.ndarray:
    """``Φ`` at fixed-point ``u`` (units ``2^-20``) by interpolating ``table``; int64."""
    top = (len(table) - 1) << INTERP_BITS
    position = np.clip(u + (TABLE_RANGE << _U_BITS), 0, top)
    step = np.minimum(position >> INTERP_BITS, len(table) - 2)
    fraction = position - (step << INTERP_BITS)
    low = table[step]
    return low + (((table[step + 1] - low) * fraction) >> INTERP_BITS)


class FixedPointMixture(DataSizedBuffers):
    """Integer coding of ``K``-component Gaussian mixtures (see module docstring).

    Buffers ``cdf`` (the ``Φ`` table, ``2·8·2^10 + 1`` entries) and ``exp`` (the softmax
    table) are computed once at construction and saved with the weights, so a decoder uses
    the very integers the encoder used even if its ``erfc`` or ``exp`` differ in the last bit.

    Args:
        components: ``K``.
        scale_min: smaller scales are raised to it.
        tail: half-window in units of scale.
        max_radius: largest half-window; mass beyond it is escaped.
    """

    _SIZED_BUFFERS = ("cdf", "exp")
    _OPTIONAL_STATE = True

    def __init__(
        self,
        components: int = 3,
        scale_min: float = 0.11,
        tail: float = 6.2,
        max_radius: int = 2048,
    ) -> None:
        super().__init__()
        self.components = components
        self.scale_floor = math.ceil(scale_min * 2**SCALE_FRAC_BITS)
        self.tail = round(tail * 2**TAIL_BITS)
        self.max_radius = max_radius
        grid = torch.arange(-TABLE_RANGE << GRID_BITS, (TABLE_RANGE << GRID_BITS) + 1)
        cdf = torch.round(std_normal_cdf(grid.double() * 2.0**-GRID_BITS) * 2**CDF_BITS)
        self.register_buffer("cdf", torch.cummax(cdf.to(torch.int64), 0).values)
        length = math.ceil(WEIGHT_BITS * math.log(2) * 2**LOGIT_FRAC_BITS) + 1
        steps = torch.arange(length, dtype=torch.float64) * 2.0**-LOGIT_FRAC_BITS
        exp = torch.round(torch.exp(-steps) * 2**WEIGHT_BITS).to(torch.int64)
        exp[-1] = 0
        self.register_buffer("exp", exp)

    def param_units(self, channels: int) -> Tensor:
        """Units of the ``(logits, means, scales)`` channel blocks of ``3·channels`` parameter
        channels (each block ``channels = K·C`` long), float64."""
        return units(
            (LOGIT_FRAC_BITS, channels), (MEAN_FRAC_BITS, channels), (SCALE_FRAC_BITS, channels)
        )

    def _flat(self, logits: Tensor, means: Tensor, scales: Tensor) -> list[np.ndarray]:
        """``B×K×C×H×W`` int64 tensors → ``(N, K)`` int64 arrays, scales raised to the floor."""
        flat = [t.detach().cpu().movedim(1, -1).reshape(-1, self.components).numpy() for t in
                (logits, means, scales)]  # fmt: skip
        flat[2] = np.maximum(flat[2], self.scale_floor)
        return flat

    def _row_batches(
        self, logits: Tensor, means: Tensor, scales: Tensor
    ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Yield ``(positions, offsets, counts)`` batches in an order both sides share."""
        logit, mean, scale = self._flat(logits, means, scales)
        exp = self.exp.cpu().numpy()
        gap = np.minimum(logit.max(axis=1, keepdims=True) - logit, len(exp) - 1)
        weight = exp[gap]
        total = weight.sum(axis=1)
        one = 1 << MEAN_FRAC_BITS
        centre = (2 * (weight * mean).sum(axis=1) + total * one) // (2 * total * one)
        reach = np.abs(mean - (centre * one)[:, None]) + (
            (scale * self.tail) >> (SCALE_FRAC_BITS - MEAN_FRAC_BITS + TAIL_BITS)
        )
        need = np.where(weight > 0, reach, 0).max(axis=1)
        radius = np.ones_like(need)
        while (grow := (radius * one < need) & (radius < self.max_radius)).any():
            radius = np.where(grow, 2 * radius, radius)
        table = self.cdf.cpu().numpy()
        for r in np.unique(radius).tolist():
            positions = np.flatnonzero(radius == r)
            step = max(1, _ROW_BUDGET // ((2 * r + 2) * self.components))
            for start in range(0, len(positions), step):
                pos = positions[start : start + step]
                offsets = centre[pos] - r
                edges = (offsets[:, None] + np.arange(2 * r + 2)) * one - one // 2
                distance = np.clip(edges[:, None, :] - mean[pos, :, None], -_CLIP, _CLIP)
                u = distance * _U_SCALE // scale[pos, :, None]
                mixed = np.einsum("nk,nke->ne", weight[pos], _edges_cdf(table, u))
                counts = quantize_masses(np.diff(mixed, axis=1), total[pos] << CDF_BITS)
                yield pos, offsets, counts

    def encode(
        self, encoder: Encoder, values: Tensor, logits: Tensor, means: Tensor, scales: Tensor
    ) -> None:
        """Code integer-valued ``values`` ``B×C×H×W`` under int64 parameters ``B×K×C×H×W``."""
        encode_row_batches(encoder, values, self._row_batches(logits, means, scales))

    def decode(self, decoder: Decoder, logits: Tensor, means: Tensor, scales: Tensor) -> Tensor:
        """Decode values ``B×C×H×W`` (float32 integers) under int64 parameters."""
        return decode_row_batches(decoder, means, self._row_batches(logits, means, scales))
