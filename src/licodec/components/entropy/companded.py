"""Gaussian conditional on A-law companded grids (LVQAC's adaptive companding).

A companding quantizer (:mod:`licodec.components.quant.companding`) codes the integer part
``q`` of ``û = q + δ_k`` on grid ``k`` of its inner quantizer, at companding level ``A_j``.
Its cell in the centred latent is ``[F_j⁻¹(q + δ_k − ½), F_j⁻¹(q + δ_k + ½)]`` with ``F_j`` the
A-law of ``A_j``, so

    P(q) = Φ(F_j⁻¹(q + δ_k + ½)/s) − Φ(F_j⁻¹(q + δ_k − ½)/s).

Tables cover every (scale level, ``A`` level, inner grid) triple: the *grids* of the
:class:`~licodec.components.entropy.conditional.ScaleTableConditional` base are the pairs
``(A_j, δ_k)``, row ``(level · J + j) · K + k`` (``128 · 8 · 2`` tables by default, about
1.5 MB of int32 counts in the weights). A table of scale ``s`` covers the integer parts
whose cells meet ``[−t·s, t·s]``, ``t`` the tail multiplier.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from licodec.components.entropy.conditional import GaussianConditional
from licodec.components.quant.companding import a_law, a_law_inverse


class CompandedGaussianConditional(GaussianConditional):
    """Discretised Gaussian on the companded grids ``(A_j, δ_k)`` (module docstring).

    Args:
        a_levels: the companding levels ``A_j``.
        radius: the A-law's range ``R``.
        offsets: the inner quantizer's grid offsets ``δ_k``.
        levels: scale levels.
        **kwargs: the other :class:`ScaleTableConditional` arguments.
    """

    def __init__(
        self,
        a_levels: tuple[float, ...],
        radius: float,
        offsets: tuple[float, ...] = (0.0,),
        levels: int = 128,
        **kwargs: float,
    ) -> None:
        self.a_levels = tuple(float(a) for a in a_levels)
        self.inner_offsets = tuple(float(d) for d in offsets)
        self.radius = radius
        grids = tuple(d for _ in self.a_levels for d in self.inner_offsets)
        super().__init__(levels=levels, offsets=grids, **kwargs)

    def _grid(self, grid: int) -> tuple[float, float]:
        """``(A_j, δ_k)`` of grid ``grid``."""
        j, k = divmod(grid, len(self.inner_offsets))
        return self.a_levels[j], self.inner_offsets[k]

    def grid_edges(self, grid: int, centres: Tensor) -> tuple[Tensor, Tensor]:
        a, offset = self._grid(grid)
        lower = a_law_inverse(centres + offset - 0.5, a, self.radius)
        return lower, a_law_inverse(centres + offset + 0.5, a, self.radius)

    def grid_radius(self, grid: int, scale: float) -> int:
        a, offset = self._grid(grid)
        edge = a_law(torch.tensor(scale * self.tail, dtype=torch.float64), a, self.radius)
        return math.ceil(float(edge) + abs(offset) + 0.5)
