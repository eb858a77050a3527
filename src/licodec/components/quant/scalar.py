"""Scalar rounding (every learned codec's default) and its training relaxations.

Symbols ``q = round(y − μ)``, reconstruction ``ŷ = q + μ``, cell ``[ŷ − ½, ŷ + ½]``.
Training (``[D]``, Ballé 2018 / Minnen 2018 as in CompressAI): the rate term sees
``ỹ = y + u`` with ``u ~ U(−½, ½)`` (the noise proxy), the synthesis sees the straight-through
rounding ``round(y − μ) + μ`` (rounding forward, identity gradient backward).
"""

from __future__ import annotations

import torch
from torch import Tensor

from licodec.components.ops import round_ste
from licodec.components.quant.base import UNIT_CELL, Cell, Quantizer, centred, uncentred


class ScalarQuantizer(Quantizer):
    """Rounding to the integer grid centred at the offset (see module docstring)."""

    def quantize(self, y: Tensor, offset: Tensor | None = None) -> Tensor:
        return torch.round(centred(y, offset))

    def reconstruct(self, symbols: Tensor, offset: Tensor | None = None) -> Tensor:
        return uncentred(symbols, offset)

    def cells(self, values: Tensor, offset: Tensor | None = None) -> Cell:
        return UNIT_CELL

    def relax_rate(self, y: Tensor, offset: Tensor | None = None) -> Tensor:
        if not self.training:
            return self.round(y, offset)
        return y + torch.empty_like(y).uniform_(-0.5, 0.5)

    def relax_value(self, y: Tensor, offset: Tensor | None = None) -> Tensor:
        if not self.training:
            return self.round(y, offset)
        return self.reconstruct(round_ste(centred(y, offset)), offset)
