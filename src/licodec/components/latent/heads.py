"""Entropy heads: how a parameter tensor turns into quantization, likelihoods and coding.

A parameter network (a hyper-synthesis, or a context model's entropy-parameter network)
outputs ``P·C`` channels per latent position (``C`` latent channels, ``P`` parameters each).
A head interprets them, and owns the :class:`~licodec.components.quant.Quantizer` that turns
``y`` into symbols (``[D]``: scalar rounding unless a model passes another):

* :class:`ScaleHead` (Ballé 2018), ``P = 1``: scales ``s``; symbols ``q = round(y)`` under a
  zero-mean discretised Gaussian (or Laplace) of scale ``s``, snapped to the conditional's
  scale table;
* :class:`MeanScaleHead` (Minnen 2018), ``P = 2``: channels ``(s, μ)``; the grid is centred at
  the mean: ``q = round(y − μ)``, ``ŷ = q + μ``;
* :class:`MixtureHead` (Cheng 2020), ``P = 3K``: channels ``(logits, μ, s)``, each ``K·C``
  and viewed as ``B×K×C×…``; weights ``w = softmax_K(logits)``. The coded value is
  ``ŷ = round(y)`` under ``Σ_k w_k N(μ_k, s_k²)`` discretised on the integers.

Likelihoods integrate each value's cell (:meth:`Quantizer.cells`), so another quantizer's
cells change the probabilities without a new code path here.

Every method takes ``y`` (or ``ŷ``) of shape ``B×C×H×W`` and ``params`` of shape
``B×P·C×H×W`` with the same ``B``, ``H×W`` (a context model passes the ``n`` positions of
one front as a batch of ``n`` tensors with ``H = W = 1``).

**Integer path.** ``encode`` / ``decode`` also take fixed-point ``params`` (int64, in the
units :meth:`EntropyHead.param_units` gives, :mod:`licodec.components.entropy.units`) and
then derive every probability with integer arithmetic: table levels of scales by integer
thresholds and means ``m / 2^8`` (:class:`MeanScaleHead`), or integer mixture rows
(:class:`MixtureHead`, through
:class:`~licodec.components.entropy.fixed_mixture.FixedPointMixture`). The ``ŷ`` they return
is then float64 and ``ŷ · 2^value_frac_bits`` an exact integer, the context model's next
input.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from licodec.components.entropy import GaussianConditional, GaussianMixtureConditional
from licodec.components.entropy.coder import Decoder, Encoder
from licodec.components.entropy.conditional import ScaleTableConditional
from licodec.components.entropy.fixed_mixture import FixedPointMixture
from licodec.components.entropy.units import (
    MEAN_FRAC_BITS,
    SCALE_FRAC_BITS,
    is_fixed_point,
    units,
)
from licodec.components.quant import Quantizer, ScalarQuantizer


class EntropyHead(nn.Module):
    """Interface shared by the heads (see module docstring)."""

    params_per_channel: int
    value_frac_bits: int
    """In the integer path ``ŷ · 2^value_frac_bits`` is an integer."""
    quantizer: Quantizer

    def param_units(self, channels: int) -> Tensor:
        """Real value of one integer of each of the ``P·C`` fixed-point parameter channels
        (float64), for ``C = channels``."""
        raise NotImplementedError

    def scale_slice(self, channels: int) -> slice:
        """The parameter channels (of ``P·C``) holding the scales, e.g. to initialise them."""
        raise NotImplementedError

    def offset(self, params: Tensor) -> Tensor | None:
        """The location the quantization grid is centred on (``None``: zero)."""
        return None

    def quantizer_for(self, params: Tensor) -> Quantizer:
        """The quantizer at the positions of ``params`` (the same everywhere here)."""
        return self.quantizer

    def round(self, y: Tensor, params: Tensor) -> Tensor:
        """``ŷ`` from ``y``, as the codec computes it."""
        return self.quantizer_for(params).round(y, self.offset(params))

    def relax_rate(self, y: Tensor, params: Tensor) -> Tensor:
        """The training stand-in whose likelihood is the rate (the hard ``ŷ`` in eval)."""
        return self.quantizer_for(params).relax_rate(y, self.offset(params))

    def relax_value(self, y: Tensor, params: Tensor) -> Tensor:
        """The value passed on in training (the hard ``ŷ`` in eval mode)."""
        return self.quantizer_for(params).relax_value(y, self.offset(params))

    def side_likelihoods(self, y: Tensor, params: Tensor) -> dict[str, Tensor]:
        """Likelihoods of the side symbols the quantizer codes for ``y``, by name (none
        here)."""
        return {}

    @property
    def calibrated(self) -> bool:
        """Whether the head's own networks (if any) have their integer twins."""
        return True

    def calibrate(self, params: list[Tensor], ys: list[Tensor]) -> None:
        """Calibration on the float ``params`` of latents ``ys``: the integer twins of the
        head's own networks, and the quantizer's side-symbol model (coset probabilities)."""

    def likelihood(self, values: Tensor, params: Tensor) -> Tensor:
        """Probability of each element of ``values`` (noisy ``y`` or ``ŷ``), ``B×C×H×W``."""
        raise NotImplementedError

    def encode(self, encoder: Encoder, y: Tensor, params: Tensor) -> Tensor:
        """Code the quantized ``y``; returns ``ŷ`` exactly as :meth:`decode` will give it."""
        raise NotImplementedError

    def decode(self, decoder: Decoder, params: Tensor) -> Tensor:
        """Read ``ŷ`` (``B×C×H×W``, from ``params``' shape) back from ``decoder``."""
        raise NotImplementedError


def coding_params(scales: Tensor, means: Tensor | None) -> tuple[Tensor, int | None, Tensor | None]:
    """``(scales, their fraction bits or None, means or None)`` for coding, from float
    parameters (returned as they are) or fixed-point ones (int64: scales keep their integers
    and get ``SCALE_FRAC_BITS``, means become their exact float64 values ``m / 2^8``)."""
    if not is_fixed_point(scales):
        return scales, None, means
    if means is not None:
        means = means.to(torch.float64) * 2.0**-MEAN_FRAC_BITS
    return scales, SCALE_FRAC_BITS, means


class ScaleHead(EntropyHead):
    """``P = 1``: ``q = round(y)`` coded under the scale table of ``s`` (zero mean); the base
    of :class:`MeanScaleHead`, which adds the mean."""

    params_per_channel = 1
    value_frac_bits = 0

    def __init__(
        self,
        conditional: ScaleTableConditional | None = None,
        quantizer: Quantizer | None = None,
    ) -> None:
        super().__init__()
        self.conditional = conditional if conditional is not None else GaussianConditional()
        self.quantizer = quantizer if quantizer is not None else ScalarQuantizer()
        if self.quantizer.owns_table_cells:
            self.conditional.bind_cells(self.quantizer)

    def split(self, params: Tensor) -> tuple[Tensor, Tensor | None]:
        """``params`` → ``(scales, means or None)``, each ``B×C×H×W`` (scales contiguous for
        the table lookup)."""
        return params, None

    def offset(self, params: Tensor) -> Tensor | None:
        return self.split(params)[1]

    def scale_slice(self, channels: int) -> slice:
        return slice(0, channels)

    def param_units(self, channels: int) -> Tensor:
        return units((SCALE_FRAC_BITS, channels))

    def likelihood(self, values: Tensor, params: Tensor) -> Tensor:
        scales, means = self.split(params)
        cell = self.quantizer_for(params).cells(values, means)
        return self.conditional.likelihood(values, scales, means, cell)

    def side_likelihoods(self, y: Tensor, params: Tensor) -> dict[str, Tensor]:
        scales, means = self.split(params)
        return self.quantizer_for(params).side_likelihoods(y, means, scales)

    @torch.no_grad()
    def calibrate(self, params: list[Tensor], ys: list[Tensor]) -> None:
        statistics = []
        for p, y in zip(params, ys, strict=True):
            scales, means = self.split(p)
            found = self.quantizer_for(p).side_statistics(y, means, scales)
            if found is not None:
                statistics.append(found)
        if statistics:
            self.quantizer.fit_side(statistics)

    def encode(self, encoder: Encoder, y: Tensor, params: Tensor) -> Tensor:
        """Side symbols first (lattice coset bits), then the integer parts on their grids."""
        scales, frac_bits, means = coding_params(*self.split(params))
        quantizer = self.quantizer_for(params)
        symbols = quantizer.quantize(y, means)
        side = quantizer.side_symbols(symbols)
        if side is not None:
            quantizer.encode_side(encoder, side, scales, frac_bits)
        integers = quantizer.integer_parts(symbols, side)
        grid = quantizer.grid_index(side, symbols)
        self.conditional.encode(encoder, integers, scales, frac_bits, _numpy(grid))
        return quantizer.reconstruct(symbols, means)

    def decode(self, decoder: Decoder, params: Tensor) -> Tensor:
        scales, frac_bits, means = coding_params(*self.split(params))
        quantizer = self.quantizer_for(params)
        side = quantizer.decode_side(decoder, scales, frac_bits)
        grid = quantizer.grid_index(side, scales)
        integers = self.conditional.decode(decoder, scales, frac_bits, _numpy(grid))
        return quantizer.reconstruct(quantizer.join(integers, side), means)


def _numpy(index: Tensor | None) -> np.ndarray | None:
    return None if index is None else index.detach().cpu().numpy()


class MeanScaleHead(ScaleHead):
    """``P = 2``: ``ŷ = round(y − μ) + μ``, ``q`` coded under the scale table of ``s``."""

    params_per_channel = 2
    value_frac_bits = MEAN_FRAC_BITS

    def split(self, params: Tensor) -> tuple[Tensor, Tensor | None]:
        scales, means = params.chunk(2, dim=1)
        return scales.contiguous(), means

    def param_units(self, channels: int) -> Tensor:
        return units((SCALE_FRAC_BITS, channels), (MEAN_FRAC_BITS, channels))


class MixtureHead(EntropyHead):
    """``P = 3K``: ``ŷ = round(y)`` coded under a ``K``-component Gaussian mixture.

    With a lattice quantizer the points lie on the integers or the half-integers (cosets):
    the coset bits are coded first, under the largest component scale of each channel, and
    each integer part under the mixture with its means moved by minus the coset offset
    (``ŷ · 2`` is then the integer the context model reads, ``value_frac_bits = 1``).
    """

    def __init__(
        self,
        mixture: GaussianMixtureConditional | None = None,
        quantizer: Quantizer | None = None,
    ) -> None:
        super().__init__()
        self.mixture = mixture if mixture is not None else GaussianMixtureConditional()
        self.quantizer = quantizer if quantizer is not None else ScalarQuantizer()
        if self.quantizer.owns_table_cells:
            raise ValueError("mixture heads code on unit cells; this quantizer has its own")
        if any(d not in (0.0, 0.5) for d in self.quantizer.grid_offsets):
            raise ValueError("mixture heads take grids on the integers or half-integers")
        self.value_frac_bits = 1 if 0.5 in self.quantizer.grid_offsets else 0
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

    def likelihood(self, values: Tensor, params: Tensor) -> Tensor:
        cell = self.quantizer.cells(values)
        return self.mixture.likelihood(values, *self.split(params), cell)

    def _activity_scales(self, params: Tensor) -> tuple[Tensor, int | None]:
        """Per-channel scales for side-symbol models (the largest component's), float or
        fixed point with their fraction bits."""
        scales = self.blocks(params)[2].amax(dim=1)
        return scales, SCALE_FRAC_BITS if is_fixed_point(params) else None

    def side_likelihoods(self, y: Tensor, params: Tensor) -> dict[str, Tensor]:
        return self.quantizer.side_likelihoods(y, None, self._activity_scales(params)[0])

    def _shifted(self, blocks: tuple[Tensor, Tensor, Tensor], grid: Tensor | None) -> tuple:
        """The mixture blocks with each element's means moved by minus its grid offset:
        the bin of an integer part ``k`` on grid ``δ`` is ``[k + δ ± ½]``, whose mass under
        means ``μ`` is the integer bin's under ``μ − δ`` — exact on fixed-point means too
        (``δ = ½`` is ``2^7`` units of ``2^-8``)."""
        if grid is None:
            return blocks
        logits, means, scales = blocks
        offsets = torch.tensor(self.quantizer.grid_offsets, dtype=torch.float64)[grid.cpu()]
        if is_fixed_point(means):
            shift = torch.round(offsets * 2.0**MEAN_FRAC_BITS).to(torch.int64)
        else:
            shift = offsets.to(means.dtype)
        return logits, means - shift.to(means.device).unsqueeze(1), scales

    def encode(self, encoder: Encoder, y: Tensor, params: Tensor) -> Tensor:
        """Side symbols (lattice coset bits) first, then the integer parts on their grids."""
        symbols = self.quantizer.quantize(y)
        side = self.quantizer.side_symbols(symbols)
        if side is not None:
            self.quantizer.encode_side(encoder, side, *self._activity_scales(params))
        integers = self.quantizer.integer_parts(symbols, side)
        blocks = self._shifted(self.blocks(params), self.quantizer.grid_index(side, symbols))
        if is_fixed_point(params):
            self.fixed.encode(encoder, integers, *blocks)
            return self.quantizer.reconstruct(symbols).to(torch.float64)
        logits, means, scales = blocks
        self.mixture.encode(encoder, integers, means, scales, logits.softmax(dim=1))
        return self.quantizer.reconstruct(symbols)

    def decode(self, decoder: Decoder, params: Tensor) -> Tensor:
        side = self.quantizer.decode_side(decoder, *self._activity_scales(params))
        blocks = self.blocks(params)
        blocks = self._shifted(blocks, self.quantizer.grid_index(side, blocks[1][:, 0]))
        if is_fixed_point(params):
            integers = self.fixed.decode(decoder, *blocks)
        else:
            logits, means, scales = blocks
            integers = self.mixture.decode(decoder, means, scales, logits.softmax(dim=1))
        symbols = self.quantizer.join(integers, side)
        reconstructed = self.quantizer.reconstruct(symbols)
        return reconstructed.to(torch.float64) if is_fixed_point(params) else reconstructed
