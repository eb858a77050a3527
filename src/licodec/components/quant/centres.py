"""Quantization to learned centres with a soft-assignment relaxation (Tucodec, after
Mentzer et al. 2018's soft-to-hard quantization).

**Centres.** The centred latent ``v = y − μ`` is quantized to the nearest of the centres
``c_k``, ``k ∈ Z`` (the *symbol* is ``k``, the centre index). ``[D]`` choices, where the paper
has ``L`` free centres on ``y`` itself:

* centres live on the mean-centred residual ``v`` (the entropy model's tables are built per
  scale once, so they cannot depend on a continuous ``μ``), shared by all channels (one
  table per scale level, as for rounding);
* symmetric about the mean, ``c_0 = 0``, ``c_{−k} = −c_k`` (the conditional's density is);
* ``L = 2K + 1`` learned centres ``c_k = g_1 + … + g_k`` for ``1 ≤ k ≤ K`` with gaps
  ``g_i = exp(θ_i)`` (monotone by construction; ``θ = 0`` is integer rounding), and unit
  spacing beyond, ``c_{K+m} = c_K + m``, so no value is ever clipped and the escape symbol
  of the tables still covers outliers. ``K = 8`` by default.

**Fixed point.** Outside training the centres are rounded to multiples of ``2^-frac_bits``
(``[D]`` 8, the means' units, so ``ŷ = μ + c_k`` is exact on the integer path), and gaps
are kept at least one unit apart. The tables, built from these rounded centres, give
symbol ``k`` the mass of its Voronoi interval ``[(c_{k−1}+c_k)/2, (c_k+c_{k+1})/2]``
(:meth:`table_edges`).

**Training** (``[R]`` soft assignment, ``[D]`` its use): with ``k*`` the nearest centre,
the soft value ``ṽ = Σ_j c_j · softmax_j(−σ·|v − c_j|)`` over the five centres
``k* − 2 … k* + 2`` gives the *centres* their gradient (the distortion of values near a
boundary reaches both neighbours); the forward value is the hard ``c_{k*}``, and the latent
gets the identity gradient (the soft value's own gradient in ``v`` vanishes as ``σ``
grows). ``σ`` anneals geometrically from ``sharpness[0]`` to ``sharpness[1]``. The rate term
sees the same value: the likelihood of the hard symbol's Voronoi interval, whose edges move
with the centres, so rate and distortion together fit an entropy-constrained quantizer.
``learn=False`` freezes ``θ = 0``: integer rounding under the same training relaxation (the
ablation twin).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from licodec.components.quant.base import Cell, Quantizer, centred, uncentred

_NEIGHBOURS = 2
"""Centres on each side of the nearest one in the soft assignment."""


class LearnedCentreQuantizer(Quantizer):
    """Nearest of symmetric learned centres around the mean (see module docstring).

    Args:
        learned: centres ``K`` on each side of the mean with a learned gap.
        sharpness: ``(σ_start, σ_end)`` of the soft assignment.
        frac_bits: fixed-point bits of the centres outside training.
        learn: whether the gaps train (``False``: integer rounding).
    """

    offset_free_relaxation = False
    owns_table_cells = True

    def __init__(
        self,
        learned: int = 8,
        sharpness: tuple[float, float] = (2.0, 20.0),
        frac_bits: int = 8,
        learn: bool = True,
    ) -> None:
        super().__init__()
        if learned < 1:
            raise ValueError(f"need at least one learned centre per side, got {learned}")
        if not 0 < sharpness[0] <= sharpness[1]:
            raise ValueError(f"sharpness must satisfy 0 < start <= end, got {sharpness}")
        self.learned, self.sharpness, self.frac_bits = learned, sharpness, frac_bits
        log_gaps = torch.zeros(learned)
        if learn:
            self.log_gaps = nn.Parameter(log_gaps)
        else:
            self.register_buffer("log_gaps", log_gaps)
        self.register_buffer("sigma", torch.tensor(sharpness[0]), persistent=False)

    # -- the centres ----------------------------------------------------------------------

    def magnitudes(self) -> Tensor:
        """``(c_0, c_1, …, c_K)``: float and differentiable in training, fixed point
        (multiples of ``2^-frac_bits``, float64, gaps of at least one unit) otherwise."""
        if not self.training:
            return self.fixed_magnitudes()
        gaps = torch.exp(self.log_gaps)
        return torch.cat([gaps.new_zeros(1), torch.cumsum(gaps, 0)])

    def fixed_magnitudes(self) -> Tensor:
        """``(c_0, …, c_K)`` in fixed point (float64 multiples of ``2^-frac_bits``)."""
        unit = 2.0**-self.frac_bits
        gaps = torch.exp(self.log_gaps.detach().double())
        steps = torch.clamp(torch.round(gaps / unit), min=1)
        return torch.cat([steps.new_zeros(1), torch.cumsum(steps, 0)]) * unit

    def centre(self, symbols: Tensor, magnitudes: Tensor | None = None) -> Tensor:
        """``c_k`` of integer-valued ``symbols`` (any shape), in ``magnitudes``' dtype."""
        table = self.magnitudes() if magnitudes is None else magnitudes
        size = symbols.abs()
        inner = table[torch.clamp(size, max=self.learned).to(torch.int64)]
        beyond = torch.clamp(size - self.learned, min=0).to(table.dtype)
        return torch.sign(symbols).to(table.dtype) * (inner + beyond)

    def nearest(self, v: Tensor, magnitudes: Tensor) -> Tensor:
        """Index of the centre nearest to each centred ``v`` (ties to the smaller size)."""
        size = v.detach().abs().to(magnitudes.dtype)
        midpoints = (magnitudes[1:] + magnitudes[:-1]).detach() / 2
        last = magnitudes[-1].detach()
        inner = torch.bucketize(size, midpoints)
        outer = self.learned + torch.round(size - last)
        index = torch.where(size > last, outer.to(inner.dtype), inner)
        return torch.sign(v.detach()).to(index.dtype) * index

    # -- the quantizer interface ----------------------------------------------------------

    def quantize(self, y: Tensor, offset: Tensor | None = None) -> Tensor:
        return self.nearest(centred(y, offset), self.magnitudes()).to(y.dtype)

    def reconstruct(self, symbols: Tensor, offset: Tensor | None = None) -> Tensor:
        """``μ + c_k``: exact float64 fixed point when ``offset`` is float64 (integer path)."""
        values = self.centre(symbols.round().to(torch.int64), self.magnitudes())
        if offset is None or offset.dtype != torch.float64:
            values = values.to(symbols.dtype)
        return uncentred(values, offset)

    def cells(self, values: Tensor, offset: Tensor | None = None) -> Cell:
        """The Voronoi interval of each value's centre, as offsets from it."""
        table = self.magnitudes()
        index = self.nearest(centred(values, offset), table)
        here = self.centre(index, table)
        lower, upper = self.voronoi(index, table)
        return Cell((lower - here).to(values.dtype), (upper - here).to(values.dtype))

    def voronoi(self, index: Tensor, table: Tensor) -> tuple[Tensor, Tensor]:
        """Edges of centre ``index``'s Voronoi cell relative to the mean: the midpoints
        ``(c_{k−1} + c_k)/2`` and ``(c_k + c_{k+1})/2`` of ``table``'s centres."""
        here = self.centre(index, table)
        return (self.centre(index - 1, table) + here) / 2, (
            self.centre(index + 1, table) + here
        ) / 2

    def relax_rate(self, y: Tensor, offset: Tensor | None = None) -> Tensor:
        return self.relax_value(y, offset)

    def relax_value(self, y: Tensor, offset: Tensor | None = None) -> Tensor:
        if not self.training:
            return self.round(y, offset)
        v = centred(y, offset)
        table = self.magnitudes()
        index = self.nearest(v, table)
        steps = torch.arange(-_NEIGHBOURS, _NEIGHBOURS + 1, device=v.device)
        candidates = self.centre(index.unsqueeze(-1) + steps, table)
        weights = torch.softmax(-self.sigma * (v.detach().unsqueeze(-1) - candidates).abs(), -1)
        soft = (weights * candidates).sum(-1)
        hard = self.centre(index, table)
        return uncentred(soft + (hard - soft).detach() + (v - v.detach()), offset)

    def set_progress(self, step: int, steps: int) -> None:
        start, end = self.sharpness
        fraction = min(max(step / max(steps, 1), 0.0), 1.0)
        self.sigma.fill_(math.exp(math.log(start) + fraction * (math.log(end) - math.log(start))))

    @torch.no_grad()
    def refit(self, residuals: Tensor, iterations: int = 20) -> None:
        """Adaptive clustering ``[R]`` (optional, ``[D]`` not used by the shipped runs): 1-D
        k-means (Lloyd) of the learned centres on centred latents ``residuals`` (``y − μ``
        of a set of images), on their magnitudes since the centres are symmetric; ``c_0 = 0``
        stays, values beyond ``c_K + ½`` are left to the unit grid. Plain k-means minimises
        the error alone: the rate term's pull (wider cells where they are cheap) comes back
        with training."""
        size = residuals.detach().abs().flatten().double()
        table = torch.cat([size.new_zeros(1), torch.cumsum(torch.exp(self.log_gaps.double()), 0)])
        for _ in range(iterations):
            size_in = size[size <= table[-1] + 0.5]
            index = torch.bucketize(size_in, (table[1:] + table[:-1]) / 2)
            sums = torch.zeros_like(table).index_add_(0, index, size_in)
            counts = torch.zeros_like(table).index_add_(0, index, torch.ones_like(size_in))
            moved = torch.where(counts > 0, sums / counts.clamp(min=1), table)
            moved[0] = 0.0
            table = torch.cummax(moved, 0).values
        gaps = torch.clamp(torch.diff(table), min=2.0**-self.frac_bits)
        self.log_gaps.copy_(torch.log(gaps).to(self.log_gaps.dtype))

    # -- the conditional's tables ---------------------------------------------------------

    def table_edges(self, grid: int, symbols: Tensor) -> tuple[Tensor, Tensor]:
        """Voronoi edges ``(lower, upper)`` of integer ``symbols`` (float64) relative to the
        mean, from the fixed-point centres (one grid: ``grid`` is 0)."""
        return self.voronoi(symbols.round().to(torch.int64), self.fixed_magnitudes())

    def table_slack(self) -> float:
        """``max_k |c_k − k|``: how far the centres stray from the integers."""
        table = self.fixed_magnitudes()
        return float((table - torch.arange(len(table), dtype=table.dtype)).abs().max())
