"""Conditional entropy models with a location-scale family and a log-spaced scale table.

The symbol coded is the integer ``q = round(y − μ)``; its probability under scale ``s`` is

    P(q) = F((q + ½) / s) − F((q − ½) / s)

with ``F`` the standard Gaussian (:class:`GaussianConditional`) or Laplace
(:class:`LaplaceConditional`) CDF. For coding, ``s`` is snapped to the nearest of ``levels``
log-spaced scales in ``[scale_min, scale_max]`` (nearest in log space, decided by comparing
against stored geometric midpoints, so no logarithm is evaluated at coding time), and each
level has a precomputed integer table covering ``|q| <= ceil(t·s)`` where
``2·(1 − F(t)) = tail_mass``; anything beyond is escaped.

Snapping costs at most ``½·(r⁻² − 1 + 2 ln r)/ln 2`` bits per symbol with ``r`` half a table
step (``(scale_max/scale_min)^(1/(2·(levels−1)))``): about 0.001 bits for 128 levels.

**Grid offsets (several table indexes).** A quantizer whose grid is shifted from the mean by
a known amount ``δ_k`` (a lattice coset ``Z + ½``, say) codes ``q`` with
``ŷ − μ = q + δ_k``, so ``P(q) = F((q + δ_k + ½)/s) − F((q + δ_k − ½)/s)``. With
``offsets = (δ_0, δ_1, …)`` the tables cover every (scale level, offset) pair, row
``level · K + k`` (:func:`~licodec.components.entropy.tables.ravel_index` combines further
quantized parameters the same way); ``encode``/``decode`` take each symbol's offset index.
The default ``offsets = (0.0,)`` is plain mean-centred rounding.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from licodec.components.entropy.base import LIKELIHOOD_BOUND, TabledEntropyModel
from licodec.components.entropy.coder import Decoder, Encoder
from licodec.components.entropy.tables import IntegerTables, ravel_index
from licodec.components.ops import lower_bound, std_normal_cdf
from licodec.components.quant import UNIT_CELL, Cell, Quantizer


class ScaleTableConditional(TabledEntropyModel):
    """Base for mean-scale conditionals; subclasses define the standard CDF ``F``.

    ``CONFIGURED_BUFFERS``: the scale grid, fixed by the arguments (a warm start from another
    model's weights keeps this model's own).

    Args:
        scale_min: scales below are raised to it (training and coding).
        scale_max: largest table scale; larger scales use it.
        levels: number of table scales.
        tail_mass: probability left to the escape symbol in each table.
        offsets: grid offsets ``δ_k`` from the mean (module docstring), each in ``(−1, 1)``.
    """

    CONFIGURED_BUFFERS = ("scale_table", "scale_bounds")

    def __init__(
        self,
        scale_min: float = 0.11,
        scale_max: float = 256.0,
        levels: int = 128,
        tail_mass: float = 1e-9,
        offsets: tuple[float, ...] = (0.0,),
    ) -> None:
        super().__init__()
        if not offsets or not all(-1 < d < 1 for d in offsets):
            raise ValueError(f"grid offsets must be in (-1, 1), got {offsets}")
        self.scale_min = scale_min
        self.tail_mass = tail_mass
        self.offsets = tuple(float(d) for d in offsets)
        log_scales = np.linspace(math.log(scale_min), math.log(scale_max), levels)
        midpoints = np.exp((log_scales[1:] + log_scales[:-1]) / 2)
        self.register_buffer("scale_table", torch.tensor(np.exp(log_scales), dtype=torch.float64))
        self.register_buffer("scale_bounds", torch.tensor(midpoints, dtype=torch.float32))
        self.tail = self._tail_multiplier(tail_mass)
        self._cells: Quantizer | None = None

    def bind_cells(self, quantizer: Quantizer) -> None:
        """Build the tables on ``quantizer``'s cells (:meth:`Quantizer.table_edges`, one
        grid) instead of unit cells; the quantizer stays its head's module (not this one's,
        so its parameters are stored once)."""
        if len(self.offsets) != 1:
            raise ValueError("a quantizer's own cells replace the grid offsets: give one grid")
        object.__setattr__(self, "_cells", quantizer)

    def standard_cdf(self, x: Tensor) -> Tensor:
        """The standardised CDF ``F``."""
        raise NotImplementedError

    def _tail_multiplier(self, tail_mass: float) -> float:
        lo, hi = 0.0, 100.0
        for _ in range(100):
            mid = (lo + hi) / 2
            tail = 2 * (1 - float(self.standard_cdf(torch.tensor(mid, dtype=torch.float64))))
            lo, hi = (mid, hi) if tail > tail_mass else (lo, mid)
        return hi

    def likelihood(
        self,
        values: Tensor,
        scales: Tensor,
        means: Tensor | None = None,
        cell: Cell = UNIT_CELL,
    ) -> Tensor:
        """``P(values)``: the mass of each value's ``cell`` under the continuous scales
        (training and rate estimates).

        The unit cell is computed on the lower tail, ``F((½ − |c|)/s) − F((−½ − |c|)/s)``
        with ``c = v − μ``, where both CDF values are small and keep their precision; other
        cells reflect to the lower tail the same way.
        """
        centred = values - means if means is not None else values
        scales = lower_bound(scales, self.scale_min)
        if cell.unit:
            magnitude = torch.abs(centred)
            upper = self.standard_cdf((0.5 - magnitude) / scales)
            lower = self.standard_cdf((-0.5 - magnitude) / scales)
            return lower_bound(upper - lower, LIKELIHOOD_BOUND)
        low, high = centred + cell.lower, centred + cell.upper
        flip = (low + high) > 0  # mirror cells above the mean onto the lower tail
        low, high = torch.where(flip, -high, low), torch.where(flip, -low, high)
        mass = self.standard_cdf(high / scales) - self.standard_cdf(low / scales)
        return lower_bound(mass, LIKELIHOOD_BOUND)

    def index(
        self, scales: Tensor, frac_bits: int | None = None, offset_index: np.ndarray | None = None
    ) -> np.ndarray:
        """Table row of each scale: its level ``#{j : B_j < s}`` over the stored geometric
        midpoints ``B_j`` (the nearest level in log space), combined with the symbol's grid
        offset index when there are several (row ``level · K + k``).

        Float ``scales`` are compared in float32. Fixed-point scales — int64 ``scales``
        standing for ``s · 2^-frac_bits`` — are compared as integers with the thresholds
        ``T_j = ⌊B_j · 2^frac_bits⌋`` (exact in float64): for an integer ``s``,
        ``s > B_j·2^f ⇔ s > T_j``, so the level is that of the exact real scale, found by
        integer comparisons only.
        """
        if frac_bits is None:
            level = torch.bucketize(scales.detach().float().cpu(), self.scale_bounds).numpy()
        else:
            bounds = torch.floor(self.scale_bounds.double() * 2.0**frac_bits).to(torch.int64)
            level = torch.bucketize(scales.detach().cpu(), bounds.cpu()).numpy()
        if len(self.offsets) == 1:
            return level
        if offset_index is None:
            raise ValueError(f"{len(self.offsets)} grid offsets: each symbol needs its index")
        sizes = (len(self.scale_table), len(self.offsets))
        return ravel_index((level, np.asarray(offset_index)), sizes)

    def grid_edges(self, grid: int, centres: Tensor) -> tuple[Tensor, Tensor]:
        """Edges ``(lower, upper)`` of the cells of integer parts ``centres`` (float64) on grid
        ``grid``, relative to the mean: ``q + δ_k ∓ ½`` here, or the bound quantizer's."""
        if self._cells is not None:
            return self._cells.table_edges(grid, centres)
        offset = self.offsets[grid]
        return centres + offset - 0.5, centres + offset + 0.5

    def grid_radius(self, grid: int, scale: float) -> int:
        """Integer parts covered by a table of ``scale`` on grid ``grid``: ``|q| <= radius``."""
        if self._cells is not None:
            return math.ceil(scale * self.tail + self._cells.table_slack())
        return math.ceil(scale * self.tail) + math.ceil(abs(self.offsets[grid]))

    @torch.no_grad()
    def build_tables(self) -> IntegerTables:
        pmfs, starts = [], []
        for scale in self.scale_table.tolist():
            for grid in range(len(self.offsets)):
                radius = self.grid_radius(grid, scale)
                q = torch.arange(-radius, radius + 1, dtype=torch.float64)
                lower, upper = self.grid_edges(grid, q)
                mass = self.standard_cdf(upper / scale) - self.standard_cdf(lower / scale)
                pmfs.append(mass.numpy())
                starts.append(-radius)
        return IntegerTables.from_pmfs(pmfs, starts)

    def encode(
        self,
        encoder: Encoder,
        symbols: Tensor,
        scales: Tensor,
        frac_bits: int | None = None,
        offset_index: np.ndarray | None = None,
    ) -> None:
        """Code integer-valued ``symbols`` (``round(y − μ − δ)``) under ``scales`` (float, or
        fixed point with ``frac_bits``, see :meth:`index`)."""
        values = symbols.detach().cpu().numpy().astype(np.int64)
        encoder.encode_indexed(values, self.index(scales, frac_bits, offset_index), self.tables)

    def decode(
        self,
        decoder: Decoder,
        scales: Tensor,
        frac_bits: int | None = None,
        offset_index: np.ndarray | None = None,
    ) -> Tensor:
        """Decode symbols of ``scales``' shape; returns float32 integers."""
        values = decoder.decode_indexed(self.index(scales, frac_bits, offset_index), self.tables)
        return torch.from_numpy(values.astype(np.float32)).to(scales.device)


class GaussianConditional(ScaleTableConditional):
    """Discretised Gaussian: ``F = Φ``."""

    def standard_cdf(self, x: Tensor) -> Tensor:
        return std_normal_cdf(x)


class LaplaceConditional(ScaleTableConditional):
    """Discretised Laplace with scale ``b``: ``F(x) = ½ + ½·sgn(x)·(1 − e^{−|x|})``."""

    def standard_cdf(self, x: Tensor) -> Tensor:
        return 0.5 - 0.5 * torch.sign(x) * torch.expm1(-torch.abs(x))
