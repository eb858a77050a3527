"""A latent coded with a fully factorized prior (no side information)."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from licodec.components.entropy import FactorizedPrior
from licodec.components.entropy.coder import Decoder, Encoder
from licodec.components.latent.base import LatentCodec, LatentOutput, masked_output, masked_rows
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

    def __init__(self, channels: int, name: str = "y", quantizer: Quantizer | None = None) -> None:
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

    def forward(self, y: Tensor, mask: Tensor | None = None) -> LatentOutput:
        keep = masked_rows(mask, self.channels)
        likelihood = self.prior.likelihood(self.quantizer.relax_rate(y))
        y_hat = self.quantizer.relax_value(y)
        return masked_output(y_hat, likelihood, keep, self.name)

    def compress(self, y: Tensor, mask: Tensor | None = None) -> tuple[list[bytes], Tensor]:
        keep = masked_rows(mask, self.channels)
        symbols = self.quantizer.quantize(y)
        values = symbols.detach().cpu().numpy().astype("int64")
        index = self.prior.index(y.shape)
        if keep is not None:
            chosen = keep.cpu().numpy()
            values, index = values[chosen], index[chosen]
        encoder = Encoder()
        encoder.encode_indexed(values, index, self.prior.tables)
        y_hat = self.quantizer.reconstruct(symbols)
        return [encoder.to_bytes()], y_hat if keep is None else y_hat * keep

    def decompress(
        self, sections: list[bytes], shape: tuple[int, int], mask: Tensor | None = None
    ) -> Tensor:
        full_shape = torch.Size((1, self.channels, *shape))
        keep = masked_rows(mask, self.channels)
        index = self.prior.index(full_shape)
        decoder = Decoder(sections[0])
        if keep is None:
            values = decoder.decode_indexed(index, self.prior.tables)
        else:
            chosen = keep.cpu().numpy()
            values = np.zeros(full_shape, dtype=np.int64)
            values[chosen] = decoder.decode_indexed(index[chosen], self.prior.tables)
        decoder.finish()
        y_hat = self.quantizer.reconstruct(torch.from_numpy(values.astype("float32")))
        return y_hat if keep is None else y_hat * keep
