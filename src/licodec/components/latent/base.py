"""The latent codec interface that every model's entropy coding goes through.

A *latent codec* turns the analysis output ``y`` into ``ŷ`` and bytes, and back:

* ``forward(y)`` (training and estimates) → :class:`LatentOutput` with ``ŷ`` and the
  likelihood of every coded element, keyed by name ("y", "z", ...);
* ``compress(y)`` → ``(sections, ŷ)``: one byte string per section;
* ``decompress(sections, shape)`` → ``ŷ`` for a latent of spatial ``shape``.

A *conditional* latent codec codes ``y`` given side information (e.g. hyper-synthesis
output) that both encoder and decoder have; hyperprior codecs compose one with a codec for
the side latent, and context models wrap the conditional part.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from licodec.components.quant import QuantMode


@dataclass
class LatentOutput:
    """``ŷ`` and the likelihoods of the coded elements."""

    y_hat: Tensor
    likelihoods: dict[str, Tensor]


class LatentCodec(nn.Module):
    """Codes a latent on its own (see module docstring)."""

    n_sections: int = 1

    def forward(self, y: Tensor) -> LatentOutput:  # pragma: no cover - interface
        raise NotImplementedError

    def compress(self, y: Tensor) -> tuple[list[bytes], Tensor]:  # pragma: no cover
        raise NotImplementedError

    def decompress(
        self, sections: list[bytes], shape: tuple[int, int]
    ) -> Tensor:  # pragma: no cover
        raise NotImplementedError


class ConditionalLatentCodec(nn.Module):
    """Codes a latent given side information ``side`` (one section)."""

    def forward(self, y: Tensor, side: Tensor) -> LatentOutput:  # pragma: no cover
        raise NotImplementedError

    def compress(self, y: Tensor, side: Tensor) -> tuple[bytes, Tensor]:  # pragma: no cover
        raise NotImplementedError

    def decompress(self, data: bytes, side: Tensor) -> Tensor:  # pragma: no cover
        raise NotImplementedError


def training_modes(module: nn.Module) -> tuple[QuantMode, QuantMode]:
    """(mode for the likelihood, mode for the value passed on) in train vs eval.

    Training: additive uniform noise for the rate term, straight-through rounding for the
    value the synthesis sees. Evaluation: rounding for both, as the codec does.
    """
    return ("noise", "ste") if module.training else ("round", "round")
