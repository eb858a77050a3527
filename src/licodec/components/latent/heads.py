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
``B×P·C×H×W`` with the same ``B``, ``H×W`` (a context model passes the ``n`` positions of
one front as a batch of ``n`` tensors with ``H = W = 1``).

**Integer path.** ``encode`` / ``decode`` also take fixed-point ``params`` (int64, in the
units :meth:`EntropyHead.param_units` gives) and then derive every probability with integer
arithmetic: table levels of scales by integer thresholds and means ``m / 2^8``
(:class:`MeanScaleHead`), or integer mixture rows (:class:`MixtureHead`, through
:class:`~licodec.components.entropy.fixed_mixture.FixedPointMixture`). The ``ŷ`` they return
is then float64 and ``ŷ · 2^value_frac_bits`` an exact integer, the context model's next
input.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from licodec.components.entropy import GaussianConditional, GaussianMixtureConditional
from licodec.components.entropy.coder import Decoder, Encoder
from licodec.components.entropy.conditional import ScaleTableConditional
from licodec.components.entropy.fixed_mixture import FixedPointMixture
from licodec.components.latent.gaussian import MEAN_FRAC_BITS, coding_params, mean_scale_units
from licodec.components.quant import QuantMode, quantize


class EntropyHead(nn.Module):
    """Interface shared by the heads (see module docstring)."""

    params_per_channel: int
    value_frac_bits: int
    """In the integer path ``ŷ · 2^value_frac_bits`` is an integer."""

    def param_units(self, channels: int) -> Tensor:
        """Real value of one integer of each of the ``P·C`` fixed-point parameter channels
        (float64), for ``C = channels``."""
        raise NotImplementedError

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
    value_frac_bits = MEAN_FRAC_BITS

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

    def param_units(self, channels: int) -> Tensor:
        return mean_scale_units(channels)

    def quantize(self, y: Tensor, params: Tensor, mode: QuantMode) -> Tensor:
        return quantize(y, mode, self.split(params)[1])

    def likelihood(self, values: Tensor, params: Tensor) -> Tensor:
        scales, means = self.split(params)
        return self.conditional.likelihood(values, scales, means)

    def encode(self, encoder: Encoder, y: Tensor, params: Tensor) -> Tensor:
        scales, frac_bits, means = coding_params(*self.split(params))
        symbols = (y - means).round()
        self.conditional.encode(encoder, symbols, scales, frac_bits)
        return symbols + means

    def decode(self, decoder: Decoder, params: Tensor) -> Tensor:
        scales, frac_bits, means = coding_params(*self.split(params))
        return self.conditional.decode(decoder, scales, frac_bits) + means


class MixtureHead(EntropyHead):
    """``P = 3K``: ``ŷ = round(y)`` coded under a ``K``-component Gaussian mixture."""

    value_frac_bits = 0

    def __init__(self, mixture: GaussianMixtureConditional | None = None) -> None:
        super().__init__()
        self.mixture = mixture if mixture is not None else GaussianMixtureConditional()
        self.params_per_channel = 3 * self.mixture.components
        self.fixed = FixedPointMixture(
            self.mixture.components,
            self.mixture.scale_min,
            self.mixture.tail,
            self.mixture.max_radius,
        )

    def blocks(self, params: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """``params`` → ``(logits, means, scales)``, each ``B×K×C×H×W``."""
        batch, _, height, width = params.shape
        shape = (batch, self.mixture.components, -1, height, width)
        logits, means, scales = (p.reshape(shape) for p in params.chunk(3, dim=1))
        return logits, means, scales

    def split(self, params: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """``params`` → ``(means, scales, weights)``, each ``B×K×C×H×W``."""
        logits, means, scales = self.blocks(params)
        return means, scales, logits.softmax(dim=1)

    def param_units(self, channels: int) -> Tensor:
        return self.fixed.param_units(self.mixture.components * channels)

    def scale_slice(self, channels: int) -> slice:
        components = self.mixture.components
        return slice(2 * components * channels, 3 * components * channels)

    def quantize(self, y: Tensor, params: Tensor, mode: QuantMode) -> Tensor:
        return quantize(y, mode)

    def likelihood(self, values: Tensor, params: Tensor) -> Tensor:
        return self.mixture.likelihood(values, *self.split(params))

    def encode(self, encoder: Encoder, y: Tensor, params: Tensor) -> Tensor:
        values = y.round()
        if params.dtype == torch.int64:
            self.fixed.encode(encoder, values, *self.blocks(params))
            return values.to(torch.float64)
        self.mixture.encode(encoder, values, *self.split(params))
        return values

    def decode(self, decoder: Decoder, params: Tensor) -> Tensor:
        if params.dtype == torch.int64:
            return self.fixed.decode(decoder, *self.blocks(params)).to(torch.float64)
        return self.mixture.decode(decoder, *self.split(params))
