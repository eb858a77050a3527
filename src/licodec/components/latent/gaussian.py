"""A latent coded with a Gaussian (or Laplace) conditional whose parameters are side input."""

from __future__ import annotations

import torch
from torch import Tensor

from licodec.components.entropy import GaussianConditional, ScaleTableConditional
from licodec.components.entropy.coder import Decoder, Encoder
from licodec.components.latent.base import ConditionalLatentCodec, LatentOutput, training_modes
from licodec.components.quant import quantize


class ScaleLatentCodec(ConditionalLatentCodec):
    """Codes ``q = round(y − μ)`` under scales ``s`` taken from the side input.

    With ``mean_scale=True`` the side input holds ``2C`` channels, split as ``(s, μ)``
    (Minnen 2018 "mean & scale"); otherwise it is ``s`` alone and ``μ = 0`` (Ballé 2018).
    """

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

    def forward(self, y: Tensor, side: Tensor) -> LatentOutput:
        scales, means = self.split(side)
        rate_mode, pass_mode = training_modes(self)
        likelihood = self.conditional.likelihood(quantize(y, rate_mode, means), scales, means)
        return LatentOutput(quantize(y, pass_mode, means), {"y": likelihood})

    def compress(self, y: Tensor, side: Tensor) -> tuple[bytes, Tensor]:
        scales, means = self.split(side)
        symbols = torch.round(y - means) if means is not None else torch.round(y)
        encoder = Encoder()
        self.conditional.encode(encoder, symbols, scales)
        return encoder.to_bytes(), symbols + means if means is not None else symbols

    def decompress(self, data: bytes, side: Tensor) -> Tensor:
        scales, means = self.split(side)
        symbols = self.conditional.decode(Decoder(data), scales)
        return symbols + means if means is not None else symbols
