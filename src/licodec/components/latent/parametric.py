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
from licodec.components.latent.base import (
    ConditionalLatentCodec,
    LatentOutput,
    masked_output,
    masked_rows,
)
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
        return self.head.calibrated  # no networks of its own; a head may have some

    def side_units(self, channels: int) -> Tensor:
        return self.head.param_units(channels // self.head.params_per_channel)

    def forward(self, y: Tensor, side: Tensor, mask: Tensor | None = None) -> LatentOutput:
        rate_value = self.head.relax_rate(y, side)
        likelihood = self.head.likelihood(rate_value, side)
        y_hat = self.head.relax_value(y, side)
        extra = self.head.side_likelihoods(y, side)
        return masked_output(y_hat, likelihood, masked_rows(mask, y.shape[1]), side=extra)

    def compress(self, y: Tensor, side: Tensor, mask: Tensor | None = None) -> tuple[bytes, Tensor]:
        encoder = Encoder()
        if mask is None:
            y_hat = self.head.encode(encoder, y, side)
            return encoder.to_bytes(), y_hat.to(y.dtype)
        kept = _kept_positions(mask)
        coded = self.head.encode(encoder, _gather(y, kept), _gather(side, kept))
        return encoder.to_bytes(), _scatter(coded, kept, y.shape).to(y.dtype)

    def decompress(self, data: bytes, side: Tensor, mask: Tensor | None = None) -> Tensor:
        decoder = Decoder(data)
        if mask is None:
            y_hat = self.head.decode(decoder, side)
        else:
            kept = _kept_positions(mask)
            rows = self.head.decode(decoder, _gather(side, kept))
            channels = side.shape[1] // self.head.params_per_channel
            y_hat = _scatter(rows, kept, (1, channels, *side.shape[2:]))
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


def _kept_positions(mask: Tensor) -> Tensor:
    """Flat indexes ``i·W + j`` of the coded positions of a ``1×1×H×W`` mask."""
    if mask.shape[0] != 1:
        raise ValueError("masked coding takes one image at a time")
    masked_rows(mask, 1)  # validates the shape
    return mask.reshape(-1).nonzero().squeeze(1)


def _gather(x: Tensor, kept: Tensor) -> Tensor:
    """``1×C×H×W`` → the kept positions as ``1×C×n×1`` (a picture of one column)."""
    return x.flatten(2).index_select(2, kept).unsqueeze(-1)


def _scatter(rows: Tensor, kept: Tensor, shape: tuple[int, ...]) -> Tensor:
    """``1×C×n×1`` values back at their positions in a zero ``shape`` tensor."""
    out = rows.new_zeros(shape[0], shape[1], shape[2] * shape[3])
    out.index_copy_(2, kept, rows.squeeze(-1))
    return out.reshape(shape)
