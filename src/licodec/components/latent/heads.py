"""Entropy heads: how a context model's parameter tensor turns into quantization and coding.

A context model's entropy-parameter network outputs ``P·C`` channels per latent position
(``C`` latent channels, ``P`` parameters each). A head interprets them:

* :class:`MeanScaleHead` (Minnen 2018), ``P = 2``: channels ``(s, μ)``; the coded symbol is
  ``q = round(y − μ)`` under a discretised Gaussian of scale ``s`` (snapped to the
  conditional's scale table) and ``ŷ = q + μ``.
* :class:`MixtureHead` (Cheng 2020), ``P = 3K``: channels ``(logits, μ, s)``, each ``K·C``
  and viewed as ``B×K×C×…``; weights ``w = softmax_K(logits)``. The coded value is
  ``ŷ = round(y)`` under ``Σ_k w_k N(μ_k, s_k²)`` discretised on the integers.

Every method takes ``y`` (or ``ŷ``) of shape ``B×C×H×W`` and ``params`` of shape
``B×P·C×H×W`` with the same ``H×W`` (a context model passes the positions of one wavefront
as ``H = 1, W = n``).
"""

from __future__ import annotations

from torch import Tensor, nn

from licodec.components.entropy import GaussianConditional, GaussianMixtureConditional
from licodec.components.entropy.coder import Decoder, Encoder
from licodec.components.entropy.conditional import ScaleTableConditional
from licodec.components.quant import QuantMode, quantize


class EntropyHead(nn.Module):
    """Interface shared by the heads (see module docstring)."""

    params_per_channel: int

    def scale_slice(self, channels: int) -> slice:
        """The parameter channels (of ``P·C``) holding the scales, e.g. to initialise them."""
        raise NotImplementedError

    def quantize(self, y: Tensor, params: Tensor, mode: QuantMode) -> Tensor:
        """``ŷ`` from ``y`` with ``mode`` ("round" is what the codec does)."""
        raise NotImplementedError

    def likelihood(self, values: Tensor, params: Tensor) -> Tensor:
        """Probability of each element of ``values`` (noisy ``y`` or ``ŷ``), ``B×C×H×W``."""
        raise NotImplementedError

    def encode(self, encoder: Encoder, y: Tensor, params: Tensor) -> Tensor:
        """Code the quantized ``y``; returns ``ŷ`` exactly as :meth:`decode` will give it."""
        raise NotImplementedError

    def decode(self, decoder: Decoder, params: Tensor) -> Tensor:
        """Read ``ŷ`` (``B×C×H×W``, from ``params``' shape) back from ``decoder``."""
        raise NotImplementedError


class MeanScaleHead(EntropyHead):
    """``P = 2``: ``ŷ = round(y − μ) + μ``, ``q`` coded under the scale table of ``s``."""

    params_per_channel = 2

    def __init__(self, conditional: ScaleTableConditional | None = None) -> None:
        super().__init__()
        self.conditional = conditional if conditional is not None else GaussianConditional()

    @staticmethod
    def split(params: Tensor) -> tuple[Tensor, Tensor]:
        """``params`` → ``(scales, means)``, each ``B×C×H×W`` (scales contiguous for the table
        lookup)."""
        scales, means = params.chunk(2, dim=1)
        return scales.contiguous(), means

    def scale_slice(self, channels: int) -> slice:
        return slice(0, channels)

    def quantize(self, y: Tensor, params: Tensor, mode: QuantMode) -> Tensor:
        return quantize(y, mode, self.split(params)[1])

    def likelihood(self, values: Tensor, params: Tensor) -> Tensor:
        scales, means = self.split(params)
        return self.conditional.likelihood(values, scales, means)

    def encode(self, encoder: Encoder, y: Tensor, params: Tensor) -> Tensor:
        scales, means = self.split(params)
        symbols = (y - means).round()
        self.conditional.encode(encoder, symbols, scales)
        return symbols + means

    def decode(self, decoder: Decoder, params: Tensor) -> Tensor:
        scales, means = self.split(params)
        return self.conditional.decode(decoder, scales) + means


class MixtureHead(EntropyHead):
    """``P = 3K``: ``ŷ = round(y)`` coded under a ``K``-component Gaussian mixture."""

    def __init__(self, mixture: GaussianMixtureConditional | None = None) -> None:
        super().__init__()
        self.mixture = mixture if mixture is not None else GaussianMixtureConditional()
        self.params_per_channel = 3 * self.mixture.components

    def split(self, params: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """``params`` → ``(means, scales, weights)``, each ``B×K×C×H×W``."""
        batch, _, height, width = params.shape
        shape = (batch, self.mixture.components, -1, height, width)
        logits, means, scales = (p.reshape(shape) for p in params.chunk(3, dim=1))
        return means, scales, logits.softmax(dim=1)

    def scale_slice(self, channels: int) -> slice:
        components = self.mixture.components
        return slice(2 * components * channels, 3 * components * channels)

    def quantize(self, y: Tensor, params: Tensor, mode: QuantMode) -> Tensor:
        return quantize(y, mode)

    def likelihood(self, values: Tensor, params: Tensor) -> Tensor:
        return self.mixture.likelihood(values, *self.split(params))

    def encode(self, encoder: Encoder, y: Tensor, params: Tensor) -> Tensor:
        values = y.round()
        self.mixture.encode(encoder, values, *self.split(params))
        return values

    def decode(self, decoder: Decoder, params: Tensor) -> Tensor:
        return self.mixture.decode(decoder, *self.split(params))
