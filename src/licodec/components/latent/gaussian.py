"""A latent coded with a Gaussian (or Laplace) conditional whose parameters are side input."""

from __future__ import annotations

import torch
from torch import Tensor

from licodec.components.entropy import GaussianConditional, ScaleTableConditional
from licodec.components.entropy.coder import Decoder, Encoder
from licodec.components.latent.base import ConditionalLatentCodec, LatentOutput, training_modes
from licodec.components.quant import quantize

SCALE_FRAC_BITS = 12
"""Fixed-point scales are ``s / 2^12``: steps of 2.4e-4, under 4% of the narrowest gap
between two table levels (at ``scale_min = 0.11``), so the level is the float one but for
scales within a step of a level boundary."""

MEAN_FRAC_BITS = 8
"""Fixed-point means are ``m / 2^8``: ``ŷ = q + m/256`` is exact in float32 for
``|ŷ| < 2^16``; the offset from the float mean is at most 1/512."""


def mean_scale_units(channels: int) -> Tensor:
    """Units of ``2·channels`` fixed-point ``(scales, means)`` channels: ``2^-12`` then
    ``2^-8`` (float64)."""
    bits = torch.tensor([SCALE_FRAC_BITS, MEAN_FRAC_BITS], dtype=torch.float64)
    return torch.exp2(-bits).repeat_interleave(channels)


def coding_params(scales: Tensor, means: Tensor | None) -> tuple[Tensor, int | None, Tensor | None]:
    """``(scales, their fraction bits or None, means or None)`` for coding, from float
    parameters (returned as they are) or fixed-point ones (int64: scales keep their integers
    and get ``SCALE_FRAC_BITS``, means become their exact float64 values ``m / 2^8``)."""
    if scales.dtype != torch.int64:
        return scales, None, means
    if means is not None:
        means = means.to(torch.float64) * 2.0**-MEAN_FRAC_BITS
    return scales, SCALE_FRAC_BITS, means


class ScaleLatentCodec(ConditionalLatentCodec):
    """Codes ``q = round(y − μ)`` under scales ``s`` taken from the side input.

    With ``mean_scale=True`` the side input holds ``2C`` channels, split as ``(s, μ)``
    (Minnen 2018 "mean & scale"); otherwise it is ``s`` alone and ``μ = 0`` (Ballé 2018).

    Integer path: the side is 32-bit fixed point, scales in units of ``2^-12`` (their table
    level found by integer comparisons, see :meth:`ScaleTableConditional.index`) and means in
    units of ``2^-8``, so ``ŷ = q + μ`` is exact.
    """

    side_bits = 32

    def __init__(self, mean_scale: bool = True, conditional: ScaleTableConditional | None = None):
        super().__init__()
        self.mean_scale = mean_scale
        self.conditional = conditional if conditional is not None else GaussianConditional()

    def split(self, side: Tensor) -> tuple[Tensor, Tensor | None]:
        """Side input → (scales, means or None)."""
        if not self.mean_scale:
            return side, None
        scales, means = side.chunk(2, dim=1)
        return scales, means

    @property
    def calibrated(self) -> bool:
        return True  # no networks of its own

    def side_units(self, channels: int) -> Tensor:
        if self.mean_scale:
            return mean_scale_units(channels // 2)
        return torch.full((channels,), 2.0**-SCALE_FRAC_BITS, dtype=torch.float64)

    def forward(self, y: Tensor, side: Tensor) -> LatentOutput:
        scales, means = self.split(side)
        rate_mode, pass_mode = training_modes(self)
        likelihood = self.conditional.likelihood(quantize(y, rate_mode, means), scales, means)
        return LatentOutput(quantize(y, pass_mode, means), {"y": likelihood})

    def compress(self, y: Tensor, side: Tensor) -> tuple[bytes, Tensor]:
        scales, frac_bits, means = coding_params(*self.split(side))
        symbols = torch.round(y - means) if means is not None else torch.round(y)
        encoder = Encoder()
        self.conditional.encode(encoder, symbols, scales, frac_bits)
        y_hat = symbols + means if means is not None else symbols
        return encoder.to_bytes(), y_hat.to(y.dtype)

    def decompress(self, data: bytes, side: Tensor) -> Tensor:
        scales, frac_bits, means = coding_params(*self.split(side))
        decoder = Decoder(data)
        symbols = self.conditional.decode(decoder, scales, frac_bits)
        decoder.finish()
        return (symbols + means).float() if means is not None else symbols
