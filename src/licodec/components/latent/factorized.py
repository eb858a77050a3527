"""A latent coded with a fully factorized prior (no side information)."""

from __future__ import annotations

import torch
from torch import Tensor

from licodec.components.entropy import FactorizedPrior
from licodec.components.entropy.coder import Decoder, Encoder
from licodec.components.latent.base import LatentCodec, LatentOutput
from licodec.components.quant import Quantizer, ScalarQuantizer
from licodec.core.bitstream import SectionTag


class FactorizedLatentCodec(LatentCodec):
    """Codes ``round(y)`` element-wise with a learned per-channel :class:`FactorizedPrior`
    (``[D]``: bins of the unit cell only — the tables are indexed by channel, so a quantizer
    with other cells needs tables of its own).

    Args:
        channels: channels of the latent.
        name: key of its likelihood in :class:`LatentOutput` ("y" or "z"; a "z" section is
            tagged ``HYPER``, any other ``LATENT``).
    """

    def __init__(
        self, channels: int, name: str = "y", quantizer: Quantizer | None = None
    ) -> None:
        super().__init__()
        self.channels = channels
        self.name = name
        self.prior = FactorizedPrior(channels)
        self.quantizer = quantizer if quantizer is not None else ScalarQuantizer()

    @property
    def section_tags(self) -> tuple[SectionTag, ...]:
        return (SectionTag.HYPER if self.name == "z" else SectionTag.LATENT,)

    @property
    def calibrated(self) -> bool:
        return True  # integer tables indexed by channel: nothing to calibrate

    def forward(self, y: Tensor) -> LatentOutput:
        likelihood = self.prior.likelihood(self.quantizer.relax_rate(y))
        return LatentOutput(self.quantizer.relax_value(y), {self.name: likelihood})

    def compress(self, y: Tensor) -> tuple[list[bytes], Tensor]:
        symbols = self.quantizer.quantize(y)
        encoder = Encoder()
        encoder.encode_indexed(
            symbols.detach().cpu().numpy().astype("int64"),
            self.prior.index(y.shape),
            self.prior.tables,
        )
        return [encoder.to_bytes()], self.quantizer.reconstruct(symbols)

    def decompress(self, sections: list[bytes], shape: tuple[int, int]) -> Tensor:
        full_shape = torch.Size((1, self.channels, *shape))
        decoder = Decoder(sections[0])
        values = decoder.decode_indexed(self.prior.index(full_shape), self.prior.tables)
        decoder.finish()
        return self.quantizer.reconstruct(torch.from_numpy(values.astype("float32")))
