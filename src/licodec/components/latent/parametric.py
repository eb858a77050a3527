"""A latent coded under entropy parameters that arrive whole as side input (no context).

The hyperprior models of Ballé 2018 (scales) and Minnen 2018 (means and scales) code ``y``
given ``h_s(ẑ)``: the side input *is* the head's parameter tensor, so this codec is an
:class:`~licodec.components.latent.heads.EntropyHead` applied to all positions at once — the
same head a context model applies front by front.

Integer path: the side is 32-bit fixed point in the head's units
(:meth:`EntropyHead.param_units`), so ``ŷ = q + μ`` is exact.
"""

from __future__ import annotations

from torch import Tensor

from licodec.components.entropy.coder import Decoder, Encoder
from licodec.components.latent.base import ConditionalLatentCodec, LatentOutput
from licodec.components.latent.heads import EntropyHead
from licodec.components.legacy import rename_prefix


class ParametricLatentCodec(ConditionalLatentCodec):
    """Codes ``y`` with ``head`` under the parameters ``side`` (``B×P·C×H×W``)."""

    side_bits = 32

    def __init__(self, head: EntropyHead) -> None:
        super().__init__()
        self.head = head

    @property
    def calibrated(self) -> bool:
        return True  # no networks of its own

    def side_units(self, channels: int) -> Tensor:
        return self.head.param_units(channels // self.head.params_per_channel)

    def forward(self, y: Tensor, side: Tensor) -> LatentOutput:
        offset = self.head.offset(side)
        rate_value = self.head.quantizer.relax_rate(y, offset)
        likelihood = self.head.likelihood(rate_value, side)
        return LatentOutput(self.head.relax_value(y, side), {"y": likelihood})

    def compress(self, y: Tensor, side: Tensor) -> tuple[bytes, Tensor]:
        encoder = Encoder()
        y_hat = self.head.encode(encoder, y, side)
        return encoder.to_bytes(), y_hat.to(y.dtype)

    def decompress(self, data: bytes, side: Tensor) -> Tensor:
        decoder = Decoder(data)
        y_hat = self.head.decode(decoder, side)
        decoder.finish()
        return y_hat.float()

    def upgrade_state_keys(self, prefix: str, state: dict[str, Tensor]) -> None:
        """Weights written before the head existed name its conditional ``conditional``."""
        rename_prefix(state, prefix + "conditional.", prefix + "head.conditional.")

    def _load_from_state_dict(  # noqa: ANN001 - torch's signature
        self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, errors
    ) -> None:
        self.upgrade_state_keys(prefix, state_dict)
        super()._load_from_state_dict(
            state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, errors
        )
