"""Lattice vector quantization on ``D_n* = Z^n ∪ (Z^n + ½·1)`` over channel groups (LVQAC).

The ``C`` channels at each position are split into ``G = C / n`` consecutive groups of ``n``
(``[D]``: ``n`` is ``group``, default the whole channel vector, which matches the paper's
reported side information of about one bit per latent position). With ``v = y − μ`` the
centred group vector, the quantizer rounds twice and keeps the nearer point:

    q₀ = round(v),   q₁ = round(v − ½) + ½,   b = [‖v − q₁‖² < ‖v − q₀‖²],   v̂ = q_b

(ties go to ``Z^n``). The *symbols* are the half-units ``s = 2·v̂``: integers that share their
parity ``b`` (the *coset bit*) within a group. For coding they split into

* the coset bits ``b`` (``B×G×H×W``), coded first by
  :class:`~licodec.components.quant.cosets.CosetModel` (side symbols named ``"coset"``);
* the integer parts ``k = (s − b)/2``, coded by a conditional whose tables are indexed by
  the grid offset ``δ = b/2`` (:class:`~licodec.components.entropy.ScaleTableConditional`
  with ``offsets = (0, ½)``): ``P(k) = F((k + δ + ½)/σ) − F((k + δ − ½)/σ)``, the mass of
  the unit interval around the reconstruction — the cell each coordinate really has once
  the coset is known (:meth:`LatticeQuantizer.cells` is the unit cell).

**Training** (``[R]`` soft relaxation, ``[D]`` details): the weights
``w_k = softmax_k(−‖v − q̃_k‖²/τ)`` over the two candidates, with ``q̃_k`` straight-through
roundings, give ``v_soft = w₀ q̃₀ + w₁ q̃₁``; the forward value is the hard ``v̂`` and the
gradient that of ``v_soft`` (straight-through). ``τ`` anneals geometrically from
``temperature[0]`` to ``temperature[1]`` over training (:meth:`set_progress`). The rate term
sees the same value (``[D]``: the hard point, not a noise proxy), so the rate is the
likelihood of the point the codec would code.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from licodec.components.entropy.coder import Decoder, Encoder
from licodec.components.ops import round_ste
from licodec.components.quant.base import UNIT_CELL, Cell, Quantizer, centred, uncentred
from licodec.components.quant.cosets import CosetModel

LATTICE_OFFSETS = (0.0, 0.5)
"""Grid offsets of the two cosets, in the order of the coset bit."""


class LatticeQuantizer(Quantizer):
    """``D_n*`` quantization of channel groups (see module docstring).

    Args:
        channels: latent channels ``C``.
        group: channels per lattice vector ``n``; ``None``: all channels of a position.
        temperature: ``(τ_start, τ_end)`` of the training relaxation.
        coset_buckets: activity buckets of the coset model.
    """

    offset_free_relaxation = False
    grid_offsets = LATTICE_OFFSETS

    def __init__(
        self,
        channels: int,
        group: int | None = None,
        temperature: tuple[float, float] = (0.5, 0.02),
        coset_buckets: int = 8,
    ) -> None:
        super().__init__()
        group = group or channels
        if group < 1 or channels % group:
            raise ValueError(f"{channels} channels do not split into lattice groups of {group}")
        if not 0 < temperature[1] <= temperature[0]:
            raise ValueError(f"temperatures must satisfy 0 < end <= start, got {temperature}")
        self.channels = channels
        self.group = group
        self.temperature = temperature
        self.register_buffer("tau", torch.tensor(temperature[0]), persistent=False)
        self.cosets = CosetModel(channels // group, coset_buckets)

    def _grouped(self, x: Tensor) -> Tensor:
        """``B×C×…`` → ``B×G×n×…``."""
        if x.shape[1] != self.channels:
            raise ValueError(f"lattice of {self.channels} channels given {x.shape[1]}")
        return x.unflatten(1, (-1, self.group))

    def _candidates(self, v: Tensor, ste: bool) -> tuple[Tensor, Tensor]:
        rnd = round_ste if ste else torch.round
        return rnd(v), rnd(v - 0.5) + 0.5

    def _distances(self, v: Tensor, q0: Tensor, q1: Tensor) -> tuple[Tensor, Tensor]:
        """Squared distances ``‖v − q_k‖²`` of each group to both candidates, ``B×G×1×…``."""
        d0 = self._grouped((v - q0).square()).sum(2, keepdim=True)
        d1 = self._grouped((v - q1).square()).sum(2, keepdim=True)
        return d0, d1

    def _nearer(self, d0: Tensor, d1: Tensor, q0: Tensor, q1: Tensor) -> Tensor:
        """Per group, ``q1`` where it is strictly nearer, else ``q0`` (``B×C×…``)."""
        return torch.where(d1 < d0, self._grouped(q1), self._grouped(q0)).flatten(1, 2)

    def lattice_point(self, v: Tensor) -> Tensor:
        """The nearest ``D_n*`` point of each group of the centred ``v`` (no gradient)."""
        q0, q1 = self._candidates(v, ste=False)
        return self._nearer(*self._distances(v, q0, q1), q0, q1)

    def quantize(self, y: Tensor, offset: Tensor | None = None) -> Tensor:
        return 2 * self.lattice_point(centred(y, offset))

    def reconstruct(self, symbols: Tensor, offset: Tensor | None = None) -> Tensor:
        return uncentred(symbols * 0.5, offset)

    def cells(self, values: Tensor, offset: Tensor | None = None) -> Cell:
        return UNIT_CELL

    def relaxed_point(self, v: Tensor) -> Tensor:
        """Training: the hard ``D_n*`` point of ``v`` with the soft two-candidate gradient."""
        q0, q1 = self._candidates(v, ste=True)
        d0, d1 = self._distances(v, q0, q1)
        w1 = torch.sigmoid((d0 - d1) / self.tau)  # softmax over the two candidates
        soft = (self._grouped(q0) + w1 * self._grouped(q1 - q0)).flatten(1, 2)
        return soft + (self._nearer(d0, d1, q0, q1) - soft).detach()

    def relax_rate(self, y: Tensor, offset: Tensor | None = None) -> Tensor:
        return self.relax_value(y, offset)

    def relax_value(self, y: Tensor, offset: Tensor | None = None) -> Tensor:
        if not self.training:
            return self.round(y, offset)
        return uncentred(self.relaxed_point(centred(y, offset)), offset)

    def set_progress(self, step: int, steps: int) -> None:
        start, end = self.temperature
        fraction = min(max(step / max(steps, 1), 0.0), 1.0)
        self.tau.fill_(math.exp(math.log(start) + fraction * (math.log(end) - math.log(start))))

    # -- coding: symbols split into coset bits and integer parts ---------------------------

    def coset_bits(self, symbols: Tensor) -> Tensor:
        """``B×G×…`` int64 coset bit of each group of half-unit ``symbols``."""
        first = self._grouped(symbols)[:, :, 0]
        return torch.remainder(first.round().to(torch.int64), 2)

    def side_symbols(self, symbols: Tensor) -> Tensor:
        return self.coset_bits(symbols)

    def integer_parts(self, symbols: Tensor, side: Tensor | None) -> Tensor:
        """``k = (s − b)/2`` of half units ``s`` with coset bits ``b``."""
        per_element = self.grid_index(side, symbols)
        return torch.div(symbols.round().to(torch.int64) - per_element, 2).to(symbols.dtype)

    def grid_index(self, side: Tensor | None, like: Tensor) -> Tensor:
        if side is None:
            raise ValueError("lattice symbols need their coset bits")
        return side.repeat_interleave(self.group, dim=1).expand_as(like)

    def join(self, integers: Tensor, side: Tensor | None) -> Tensor:
        """Integer parts ``B×C×…`` and coset bits ``B×G×…`` → half-unit symbols."""
        return 2 * integers + self.grid_index(side, integers).to(integers.dtype)

    def encode_side(
        self, encoder: Encoder, side: Tensor, scales: Tensor, frac_bits: int | None
    ) -> None:
        self.cosets.encode(encoder, side, scales, frac_bits)

    def decode_side(self, decoder: Decoder, scales: Tensor, frac_bits: int | None) -> Tensor:
        return self.cosets.decode(decoder, scales, frac_bits)

    def side_statistics(
        self, y: Tensor, offset: Tensor | None, scales: Tensor
    ) -> tuple[Tensor, Tensor]:
        return self.coset_bits(self.quantize(y.detach(), offset)), self.cosets.rows(scales)

    def fit_side(self, statistics: list[tuple[Tensor, Tensor]]) -> None:
        """Coset probabilities from the calibration crops' bits (:meth:`CosetModel.fit`)."""
        bits = torch.cat([b.flatten() for b, _ in statistics])
        rows = torch.cat([r.flatten() for _, r in statistics])
        self.cosets.fit(bits, rows)

    def side_likelihoods(
        self, y: Tensor, offset: Tensor | None, scales: Tensor
    ) -> dict[str, Tensor]:
        """``{"coset": P(b)}`` (``B×G×…``) of the coset bits of ``y``'s lattice points."""
        bits = self.coset_bits(self.quantize(y.detach(), offset))
        return {"coset": self.cosets.likelihood(bits, scales)}
