"""Mean-scale head with a per-position companding level predicted from its parameters.

LVQAC's adaptive companding ``[R]`` needs an ``A ≥ 1`` at every position, predicted from
what the decoder has. ``[D]``: a small network ``c`` reads the head's own parameters
``(σ, μ)`` of the position (the hyperprior's and, in context models, the context's
prediction; ``2C → hidden → 1`` 1×1 convolutions, leaky ReLU) and gives ``t``; then

    ln A = min(softplus(t), ln A_max).

In training ``A`` is continuous. For coding it is snapped to the companding quantizer's
log-spaced levels ``A_j`` by comparing ``t`` with the thresholds
``t_j = ln(exp(m_j) − 1)`` of the level midpoints ``m_j`` (in ``ln A``): the level is
``#{j : t > t_j}``. The eval forward uses the same snapped levels, so its estimates describe
the codec. On the integer path (fixed-point parameters) ``c`` runs as its integer twin with
a 32-bit output in units of ``2^-12`` and the thresholds are the integers ``⌊t_j · 2^12⌋``:
every machine picks the same level (``[D]``: 16-bit weights, as ``t`` decides a table rather
than feeding a probability smoothly; inputs clamped to 22 bits, ``|σ| < 512``, ``|μ| < 8192``,
which keeps every accumulator below ``2^45``, exact in float64). The last layer starts at
zero weight and bias ``t = −1`` (``A ≈ 1.37``: the grid near the mean 4% finer, nearly its
uncompanded twin) — ``[D]``: at ``t = −4`` (``A ≈ 1.02``) softplus passes 2% of the
gradient and a 1,500-step fine-tune left ``A`` where it started.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from licodec.components.entropy.companded import CompandedGaussianConditional
from licodec.components.entropy.units import is_fixed_point
from licodec.components.fixedpoint import IntegerNetwork
from licodec.components.latent.heads import MeanScaleHead
from licodec.components.layers import conv
from licodec.components.quant.base import Quantizer
from licodec.components.quant.companding import CompandingQuantizer

LEVEL_FRAC_BITS = 12
"""Fraction bits of the integer compander network's output ``t``."""


class CompandedMeanScaleHead(MeanScaleHead):
    """``P = 2`` parameters ``(σ, μ)``; the quantizer is ``quantizer`` bound to the ``A`` the
    compander network predicts at each position (module docstring).

    Args:
        channels: latent channels ``C``.
        quantizer: the companding quantizer (its inner quantizer and ``A`` levels).
        hidden: width of the compander network.
        scale_levels: scale levels of the companded conditional's tables.
    """

    def __init__(
        self,
        channels: int,
        quantizer: CompandingQuantizer,
        hidden: int = 32,
        scale_levels: int = 128,
    ) -> None:
        conditional = CompandedGaussianConditional(
            quantizer.a_levels, quantizer.radius, quantizer.grid_offsets, levels=scale_levels
        )
        super().__init__(conditional, quantizer)
        self.channels = channels
        self.compander = nn.Sequential(
            conv(2 * channels, hidden, 1, 1), nn.LeakyReLU(inplace=True), conv(hidden, 1, 1, 1)
        )
        nn.init.zeros_(self.compander[2].weight)
        nn.init.constant_(self.compander[2].bias, -1.0)
        self.compander_int = IntegerNetwork(
            self.compander, input_bits=22, weight_bits=16, output_bits=32
        )
        bounds = [math.log(math.expm1(b)) for b in quantizer.log_a_bounds]
        self.register_buffer("t_bounds", torch.tensor(bounds, dtype=torch.float64))
        self.register_buffer("a_table", torch.tensor(quantizer.a_levels, dtype=torch.float64))

    @property
    def calibrated(self) -> bool:
        return self.compander_int.calibrated

    @torch.no_grad()
    def calibrate(self, params: list[Tensor], ys: list[Tensor]) -> None:
        units = torch.full((1,), 2.0**-LEVEL_FRAC_BITS, dtype=torch.float64)
        self.compander_int.calibrate(self.compander, params, self.param_units(self.channels), units)
        super().calibrate(params, ys)

    def levels(self, params: Tensor) -> tuple[Tensor, Tensor | None]:
        """``(A, level)`` per position (``B×1×H×W``): continuous ``A`` and no level in
        training; the snapped level and its ``A`` otherwise."""
        if is_fixed_point(params):
            if params.shape[-2:] == (1, 1):  # a front's rows: matrix products, not convs
                t = self.compander_int.rows(params[:, :, 0, 0])[:, :, None, None]
            else:
                t = self.compander_int(params)
            bounds = torch.floor(self.t_bounds * 2.0**LEVEL_FRAC_BITS).to(torch.int64)
            level = torch.bucketize(t, bounds.to(t.device))
            return self.a_table.to(t.device)[level], level
        t = self.compander(params)
        if self.training:
            log_a = torch.clamp(F.softplus(t), max=math.log(self.quantizer.a_levels[-1]))
            return torch.exp(log_a), None
        level = torch.bucketize(t.detach().float(), self.t_bounds.float())
        return self.a_table.to(t.dtype)[level], level

    def quantizer_for(self, params: Tensor) -> Quantizer:
        assert isinstance(self.quantizer, CompandingQuantizer)
        return self.quantizer.bind(*self.levels(params))
