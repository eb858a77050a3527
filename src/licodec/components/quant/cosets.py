"""Entropy model of lattice coset bits: one binary symbol per channel group and position.

``[D]`` (measured against the alternatives in the LVQAC benchmark): the probability of the
``Z^n + ½`` coset is a learned table indexed by the group ``g`` and a *bucket* of how many of
the group's ``n`` channels are *active*, i.e. have a predicted scale above ``active_scale``:

    bucket = ⌊buckets · a / (n + 1)⌋,   a = #{c ∈ group : σ_c > active_scale},
    P(b = 1) = sigmoid(logit[g, bucket]).

A group whose channels are all near-deterministic (small ``σ``) almost never leaves ``Z^n``,
while a group of active channels picks either coset about equally often, so the bucket is
most of what the hyperprior knows about ``b``. The count is found by comparisons alone:
float scales against ``active_scale``, fixed-point scales (``s · 2^-f``) as integers against
``⌊active_scale · 2^f⌋`` — the same bucket on every machine. Coding uses integer tables built
from the logits (one row per ``(g, bucket)``, :class:`TabledEntropyModel`), so only the
stored tables decide the bits' probabilities. In training the rate term ``−log₂ P(b)`` trains
the logits (the bits themselves are the quantizer's hard choice and carry no gradient).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor, nn

from licodec.components.entropy.base import TabledEntropyModel
from licodec.components.entropy.coder import Decoder, Encoder
from licodec.components.entropy.tables import IntegerTables
from licodec.errors import BitstreamError


class CosetModel(TabledEntropyModel):
    """Probabilities of the coset bits of ``groups`` lattice groups (module docstring).

    Args:
        groups: ``G``, groups per position.
        buckets: activity buckets per group.
        active_scale: a channel counts as active above this scale.
        prior: initial ``P(b = 1)``.
    """

    def __init__(
        self, groups: int, buckets: int = 8, active_scale: float = 0.5, prior: float = 0.25
    ) -> None:
        super().__init__()
        self.groups = groups
        self.buckets = buckets
        self.active_scale = active_scale
        logit = math.log(prior / (1 - prior))
        self.logits = nn.Parameter(torch.full((groups, buckets), logit))

    def rows(self, scales: Tensor, frac_bits: int | None = None) -> Tensor:
        """``B×G×…`` int64 table row ``g · buckets + bucket`` from ``B×C×…`` scales."""
        if frac_bits is None:
            active = scales.detach() > self.active_scale
        else:
            active = scales > math.floor(self.active_scale * 2.0**frac_bits)
        grouped = active.unflatten(1, (self.groups, -1))
        count = grouped.sum(2, dtype=torch.int64)
        bucket = torch.div(count * self.buckets, grouped.shape[2] + 1, rounding_mode="floor")
        shape = (1, -1, *[1] * (count.dim() - 2))
        group = torch.arange(self.groups, device=scales.device).view(shape)
        return group * self.buckets + bucket

    def likelihood(self, bits: Tensor, scales: Tensor) -> Tensor:
        """``P(b)`` of each bit (``B×G×…``) under float ``scales`` (training, estimates)."""
        p1 = torch.sigmoid(self.logits).flatten()[self.rows(scales)]
        return torch.where(bits.bool(), p1, 1 - p1)

    @torch.no_grad()
    def fit(self, bits: Tensor, rows: Tensor) -> None:
        """Set each row's probability to its frequency among ``bits`` (any shapes, matching
        ``rows``), Krichevsky–Trofimov smoothed (``(n₁ + ½)/(n + 1)``); rows without samples
        keep theirs. Then rebuild the tables.

        ``[D]``: run at calibration, on the training crops the fixed-point path is calibrated
        on. The rate term trains the logits too, but at fine-tuning learning rates (1e-4 for
        a few thousand Adam steps) they move by a few tenths at most.
        """
        rows, bits = rows.flatten().cpu(), bits.flatten().cpu().double()
        size = self.logits.numel()
        total = torch.bincount(rows, minlength=size).double()
        ones = torch.bincount(rows, weights=bits, minlength=size)
        p1 = (ones + 0.5) / (total + 1.0)
        fitted = torch.where(total > 0, torch.log(p1 / (1 - p1)), self.logits.flatten().double())
        # float16 first: the weights store parameters so, and the tables must be theirs
        self.logits.copy_(fitted.view_as(self.logits).half().to(self.logits.dtype))
        self.update()

    @torch.no_grad()
    def build_tables(self) -> IntegerTables:
        p1 = torch.sigmoid(self.logits.detach().double()).flatten().cpu().numpy()
        pmfs = [np.array([1.0 - p, p]) for p in p1]
        return IntegerTables.from_pmfs(pmfs, [0] * len(pmfs))

    def encode(
        self, encoder: Encoder, bits: Tensor, scales: Tensor, frac_bits: int | None = None
    ) -> None:
        """Code ``bits`` (``B×G×…``, 0/1) under the rows of ``scales``."""
        rows = self.rows(scales, frac_bits).cpu().numpy().ravel()
        encoder.encode_indexed(bits.cpu().numpy().astype(np.int64).ravel(), rows, self.tables)

    def decode(self, decoder: Decoder, scales: Tensor, frac_bits: int | None = None) -> Tensor:
        """Read the bits of ``scales``' positions back, ``B×G×…`` int64."""
        rows = self.rows(scales, frac_bits)
        bits = decoder.decode_indexed(rows.cpu().numpy().ravel(), self.tables)
        if np.any((bits < 0) | (bits > 1)):
            raise BitstreamError("a lattice coset bit decoded outside {0, 1}: corrupt stream")
        bits = torch.from_numpy(bits.astype(np.int64))
        return bits.reshape(rows.shape).to(scales.device)
