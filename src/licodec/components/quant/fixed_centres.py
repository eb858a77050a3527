"""Quantization to a few fixed centres (generative compression, Agustsson et al. 2019).

``y`` (any shape) is quantized to the nearest of the ``L`` centres ``{−K, …, −1, 0, 1, …, K}``
(``[R]`` ``L = 5``, ``K = 2``); the *symbol* is the centre itself, an integer in ``[−K, K]``,
so values beyond ``±(K + ½)`` are clipped to the outer centres — the bound of
``log2(L)`` bits per element is the point of the design. There is no offset (no prior
predicts a mean) and no rate term (``β = 0``: the rate is fixed by the number of channels).

**Training** (``[R]`` soft-to-hard relaxation): the forward value is the hard centre, the
gradient that of the soft assignment ``ỹ = Σ_j c_j · softmax_j(−σ·(y − c_j)²)``. ``[D]``
``σ = 1``, constant: with unit spacing the soft value's slope stays between 0.47 and 1
inside ``[−K, K]``; beyond the outer centres it decays (0.22 at ``K + ½``, below 10⁻³ by
``y = 9``), so clipped values get little gradient.
"""

from __future__ import annotations

import torch
from torch import Tensor

from licodec.components.quant.base import UNIT_CELL, Cell, Quantizer


class FixedCentreQuantizer(Quantizer):
    """Nearest of the integer centres ``−K … K`` (see module docstring).

    Args:
        centres: ``L``, odd (``L = 2K + 1``).
        sigma: sharpness ``σ`` of the soft assignment.
    """

    def __init__(self, centres: int = 5, sigma: float = 1.0) -> None:
        super().__init__()
        if centres < 3 or centres % 2 == 0:
            raise ValueError(f"need an odd number of centres >= 3, got {centres}")
        if sigma <= 0:
            raise ValueError(f"sigma must be positive, got {sigma}")
        self.bound, self.sigma = centres // 2, sigma

    def quantize(self, y: Tensor, offset: Tensor | None = None) -> Tensor:
        """``clamp(round(y), −K, K)``, in ``y``'s dtype."""
        if offset is not None:
            raise ValueError("fixed centres take no offset")
        return torch.clamp(torch.round(y), -self.bound, self.bound)

    def reconstruct(self, symbols: Tensor, offset: Tensor | None = None) -> Tensor:
        """The centre of each symbol: the symbol itself."""
        return symbols

    def cells(self, values: Tensor, offset: Tensor | None = None) -> Cell:
        """Unit cells (the outer ones reach to infinity, which no table needs: there is no
        rate term and files code the symbols with empirical tables)."""
        return UNIT_CELL

    def relax_rate(self, y: Tensor, offset: Tensor | None = None) -> Tensor:
        return self.relax_value(y, offset)

    def relax_value(self, y: Tensor, offset: Tensor | None = None) -> Tensor:
        """Training: the hard centre forward, the soft assignment's gradient backward."""
        hard = self.quantize(y.detach())
        if not self.training:
            return hard.to(y.dtype)
        centres = torch.arange(-self.bound, self.bound + 1, device=y.device, dtype=y.dtype)
        weights = torch.softmax(-self.sigma * (y.unsqueeze(-1) - centres) ** 2, dim=-1)
        soft = (weights * centres).sum(-1)
        return soft + (hard - soft).detach()
