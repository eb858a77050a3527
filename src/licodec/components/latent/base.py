"""The latent codec interface that every model's entropy coding goes through.

A *latent codec* turns the analysis output ``y`` into ``ŷ`` and bytes, and back:

* ``forward(y)`` (training and estimates) → :class:`LatentOutput` with ``ŷ`` and the
  likelihood of every coded element, keyed by name ("y", "z", ...);
* ``compress(y)`` → ``(sections, ŷ)``: one byte string per section;
* ``decompress(sections, shape)`` → ``ŷ`` for a latent of spatial ``shape``.

**Masks.** Each of the three takes an optional ``mask``, ``B×1×H×W`` bool at ``y``'s
resolution (true: coded). Positions where it is false are not coded at all: they cost no
bits, ``ŷ`` is 0 there, and in training their likelihood is 1. The decoder must be given the
same mask (e.g. rebuilt from a side input stored in the file). Hyper-latents are always
coded whole; only the conditional ``y`` codec sees the mask. Batch decoding takes no mask.

A *conditional* latent codec codes ``y`` given side information (e.g. hyper-synthesis
output) that both encoder and decoder have; hyperprior codecs compose one with a codec for
the side latent, and context models wrap the conditional part.

**Integer path.** Coding must give the decoder exactly the probabilities the encoder used,
on any machine. Codecs whose probabilities come from networks (hyper-synthesis, context
models) therefore have a fixed-point twin of those networks
(:mod:`licodec.components.fixedpoint`), built by ``calibrate`` and saved with the weights.
Once calibrated, ``compress`` / ``decompress`` compute every entropy parameter with it
unless ``force_float`` is set; a conditional codec then receives its side input as an int64
tensor (see :class:`ConditionalLatentCodec`), a float side input means the float path.
Training and ``forward`` always use the float networks.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from licodec.core.bitstream import SectionTag


def masked_rows(mask: Tensor | None, channels: int) -> Tensor | None:
    """``B×1×H×W`` mask → ``B×C×H×W`` bool over every channel (``None`` stays ``None``)."""
    if mask is None:
        return None
    if mask.dim() != 4 or mask.shape[1] != 1:
        raise ValueError(f"a latent mask is B×1×H×W, got {tuple(mask.shape)}")
    return mask.bool().expand(-1, channels, -1, -1)


def masked_output(
    y_hat: Tensor,
    likelihood: Tensor,
    keep: Tensor | None,
    name: str = "y",
    side: dict[str, Tensor] | None = None,
) -> LatentOutput:
    """The output of a forward pass with the positions outside ``keep`` (``B×C×H×W`` bool,
    or ``None``: all kept) zeroed in ``ŷ`` and given likelihood 1 (no rate). ``side`` holds
    the likelihoods of side symbols (``B×G×H×W`` each, e.g. lattice coset bits), masked the
    same way and reported under their own names."""
    likelihoods = {name: likelihood, **(side or {})}
    if keep is not None:
        position = keep[:, :1]
        likelihoods = {
            key: torch.where(position.expand_as(value), value, torch.ones_like(value))
            for key, value in likelihoods.items()
        }
        y_hat = y_hat * keep
    return LatentOutput(y_hat, likelihoods)


@dataclass
class LatentOutput:
    """``ŷ`` and the likelihoods of the coded elements."""

    y_hat: Tensor
    likelihoods: dict[str, Tensor]


class LatentCodec(nn.Module):
    """Codes a latent on its own (see module docstring)."""

    force_float: bool = False
    """Code with the float networks even when calibrated (old files, comparisons)."""

    @property
    def section_tags(self) -> tuple[SectionTag, ...]:
        """The tag of each section ``compress`` returns, in order."""
        raise NotImplementedError

    @property
    def n_sections(self) -> int:
        """Byte sections ``compress`` returns."""
        return len(self.section_tags)

    @property
    def calibrated(self) -> bool:
        """Whether every network deciding a probability has its fixed-point twin filled.

        False here: a codec opts in by overriding it (codecs without such networks return
        True), so one that knows nothing of the integer path stays on the float path.
        """
        return False

    @property
    def integer_path(self) -> bool:
        """Whether ``compress`` / ``decompress`` compute entropy parameters in fixed point."""
        return self.calibrated and not self.force_float

    def calibrate(self, ys: list[Tensor]) -> None:
        """Build the fixed-point twins from the analysis outputs ``ys`` (float path, eval
        mode) of calibration images; nothing to do for codecs without networks."""

    def forward(self, y: Tensor, mask: Tensor | None = None) -> LatentOutput:  # pragma: no cover
        raise NotImplementedError

    def compress(
        self, y: Tensor, mask: Tensor | None = None
    ) -> tuple[list[bytes], Tensor]:  # pragma: no cover
        raise NotImplementedError

    def decompress(
        self, sections: list[bytes], shape: tuple[int, int], mask: Tensor | None = None
    ) -> Tensor:  # pragma: no cover
        raise NotImplementedError

    def decompress_batch(self, files: list[list[bytes]], shape: tuple[int, int]) -> Tensor:
        """``ŷ`` of several images of the same latent ``shape`` at once, ``B×C×H×W`` (each
        file's sections are its own streams). Codecs with networks run them on the batch."""
        return torch.cat([self.decompress(sections, shape) for sections in files])


class ConditionalLatentCodec(nn.Module):
    """Codes a latent given side information ``side`` (one section).

    ``compress`` / ``decompress`` take ``side`` as a float tensor (float path) or as an int64
    tensor (integer path): integers in the units this codec asked for through
    :meth:`side_units` when ``side_bits`` is set, otherwise a hidden activation of the
    fixed-point networks, whose unit :meth:`calibrate` received.
    """

    side_bits: int | None = None
    """Bits of the fixed-point side input in the integer path; ``None`` when the side is a
    hidden activation (its unit then comes from calibration)."""

    @property
    def calibrated(self) -> bool:
        """Whether the codec can take a fixed-point side and its own fixed-point networks
        are filled; False unless a codec opts in (see :attr:`LatentCodec.calibrated`)."""
        return False

    def side_units(self, channels: int) -> Tensor | None:
        """Real value of one integer of each of the ``channels`` side channels in the integer
        path, float64 ``(channels,)``; ``None`` unless ``side_bits`` is set."""
        return None

    def calibrate(self, ys: list[Tensor], sides: list[Tensor], side_unit: Tensor) -> None:
        """Build the codec's own fixed-point networks from calibration latents ``ys``, their
        float side inputs ``sides`` and the unit of the fixed-point side (``(S,)``)."""

    def forward(
        self, y: Tensor, side: Tensor, mask: Tensor | None = None
    ) -> LatentOutput:  # pragma: no cover
        raise NotImplementedError

    def compress(
        self, y: Tensor, side: Tensor, mask: Tensor | None = None
    ) -> tuple[bytes, Tensor]:  # pragma: no cover
        raise NotImplementedError

    def decompress(
        self, data: bytes, side: Tensor, mask: Tensor | None = None
    ) -> Tensor:  # pragma: no cover
        raise NotImplementedError

    def decompress_batch(self, data: list[bytes], side: Tensor) -> Tensor:
        """Decode one stream per image of the batch ``side`` (``B×S×H×W``) → ``B×C×H×W``."""
        return torch.cat([self.decompress(d, side[i : i + 1]) for i, d in enumerate(data)])
