"""Context models coded in fronts (serial and checkerboard schedules are subclasses).

A context model predicts the entropy parameters of ``y`` (``B×C×H×W``) at each position
from the side input ``side`` (``B×S×H×W``, the hyper-synthesis output) and a masked
convolution over ``ŷ``:

    params(i, j) = e([side(i, j), ctx(i, j)]),    ctx = MaskedConv_k(ŷ),

with ``e`` a stack of 1×1 convolutions (widths ``10C/3, 8C/3`` by default, leaky ReLUs) ending
in ``P·C`` channels that an :class:`~licodec.components.latent.heads.EntropyHead` reads.

**Fronts.** Coding visits the positions in *fronts* ``F_0, F_1, …`` given by a schedule
``t(i, j)``. The context of a position in ``F_t`` is the masked convolution over ``ŷ``
restricted to the fronts before ``t`` (all other positions, and everything outside the
latent, count as zero). A schedule must give each position either its whole masked
neighbourhood or none of it (:func:`schedule_violations` finds the offenders); positions
with none are coded from the side input alone (their context is the convolution bias).

**One batched step per front.** ``ŷ`` is kept zero-padded by ``k//2``, position-major
(``B×(H+2p)(W+2p)×C``). For a front of ``n`` positions and the ``T`` unmasked taps, the
``n·T`` tap rows are gathered into a ``(B·n)×(T·C)`` matrix and multiplied by the masked
weight restricted to those taps (``(T·C)×2C``) plus the bias: the masked convolution at
exactly those positions. The side input is gathered at the same positions, ``e`` runs on
the ``B·n`` rows as matrix products, and the head codes the whole front with one coder
call per table group.

**Bit-exact agreement.** The encoder, the decoder and the eval-mode forward pass all run
:meth:`ContextLatentCodec._run`: each front's parameters come from the same operations on
tensors of the same shapes holding the same values (the ``ŷ`` of earlier fronts agree by
induction over fronts), so their floats match bit for bit on a given machine. A single
full-image masked convolution would sum in another order; it is used only in training.

**Training** is the usual one-pass relaxation: ``ỹ = y + u`` (``u ~ U(−½, ½)``) feeds the
masked convolution over the whole latent at once and the rate term; the value passed on is
the straight-through rounding of the head.

**Integer path** (bit-exact on any machine, thread count or batch). When the side input is
fixed point (int64, from the hyper-synthesis' fixed-point twin), the same front loop runs
on integers: ``ŷ · 2^f`` (``f`` the head's ``value_frac_bits``) is gathered at the taps and
multiplied by the masked convolution's integer weights (exact float64, see
:mod:`licodec.components.fixedpoint.arith`) and requantized (``context_int``), ``e`` runs as
integer 1×1 layers (``entropy_parameters_int``) and the head codes from integer parameters.
Both twins are built by :meth:`ContextLatentCodec.calibrate` from the one-pass context
(:meth:`ContextLatentCodec.training_context`) on the float path's ``ŷ``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from licodec.components.entropy.coder import Decoder, Encoder
from licodec.components.entropy.units import is_fixed_point
from licodec.components.fixedpoint import IntegerNetwork
from licodec.components.latent.base import (
    ConditionalLatentCodec,
    LatentOutput,
    masked_output,
    masked_rows,
)
from licodec.components.latent.fronts import Front, build_fronts
from licodec.components.latent.heads import EntropyHead
from licodec.components.layers import MaskedConv2d, conv
from licodec.components.layers.masked_conv import MaskType
from licodec.components.threads import single_threaded

Step = Callable[[Tensor | None, Tensor], Tensor]
"""``(y at the front or None, params at the front) → ŷ at the front``, all ``(B·n)×·×1×1``."""

FrontContext = Callable[[Tensor | None, int], Tensor]
"""``(gathered tap rows or None, row count) → context rows``, the masked convolution at a
front (``None``: no tap there is decoded yet, the context is the bias)."""

CONTEXT_INPUT_BITS = 20
"""Integer-path inputs of the masked convolution, ``ŷ · 2^f``, are clamped to 20 bits
(``|ŷ| < 2048`` for mean-scale heads): far beyond trained latents, and it keeps the
accumulator bound near ``2^38`` for ``C = 320``, leaving requantization ~14 bits."""

PARAM_BITS = 32
"""Bits of the integer-path entropy parameters."""


class PointwiseNet(nn.Sequential):
    """1×1 convolutions of the given widths with leaky ReLUs between them.

    ``forward`` maps ``B×C_in×H×W → B×C_out×H×W``; :meth:`rows` applies the same map to the
    rows of an ``R×C_in`` matrix by matrix products, far cheaper than convolutions on the
    few positions of a front.
    """

    def __init__(self, widths: tuple[int, ...]) -> None:
        layers: list[nn.Module] = []
        for width_in, width_out in zip(widths[:-1], widths[1:], strict=True):
            layers += [conv(width_in, width_out, 1, 1), nn.LeakyReLU(inplace=True)]
        super().__init__(*layers[:-1])

    def rows(self, x: Tensor) -> Tensor:
        """``R×C_in → R×C_out``."""
        for layer in self:
            if isinstance(layer, nn.Conv2d):
                x = F.linear(x, layer.weight.flatten(1), layer.bias)
            else:
                x = layer(x)
        return x


class ContextLatentCodec(ConditionalLatentCodec):
    """Context model coded front by front; subclasses choose the mask and the schedule.

    Args:
        channels: latent channels ``C``.
        side_channels: channels ``S`` of the side input.
        head: how parameters become quantization, likelihoods and coding.
        kernel: masked convolution size ``k`` (its output has ``2C`` channels).
        hidden: widths of the hidden 1×1 layers of ``e`` (default ``10C/3, 8C/3``).
    """

    mask_type: MaskType

    def __init__(
        self,
        channels: int,
        side_channels: int,
        head: EntropyHead,
        kernel: int = 5,
        hidden: tuple[int, ...] | None = None,
    ) -> None:
        super().__init__()
        self.channels = channels
        self.head = head
        self.context = MaskedConv2d(channels, 2 * channels, kernel, self.mask_type)
        widths = (
            side_channels + 2 * channels,
            *(hidden or (10 * channels // 3, 8 * channels // 3)),
        )
        self.entropy_parameters = PointwiseNet((*widths, head.params_per_channel * channels))
        self.context_int = IntegerNetwork(self.context, input_bits=CONTEXT_INPUT_BITS)
        self.entropy_parameters_int = IntegerNetwork(
            self.entropy_parameters, output_bits=PARAM_BITS
        )

    training_passes: int | None = None
    """Passes of the exact training relaxation for quantizers whose points depend on the
    grid centre (lattices, companding): each pass quantizes ``y`` around the parameters the
    previous pass's values give. ``None``: the schedule needs too many, and the context
    input is the noise proxy ``y + u`` instead (``[D]``)."""

    @property
    def calibrated(self) -> bool:
        return (
            self.context_int.calibrated
            and self.entropy_parameters_int.calibrated
            and self.head.calibrated
        )

    @torch.no_grad()
    def calibrate(self, ys: list[Tensor], sides: list[Tensor], side_unit: Tensor) -> None:
        """Build ``context_int`` and ``entropy_parameters_int`` from the float path's ``ŷ`` of
        ``ys``, its one-pass context and the float ``sides`` (fixed-point unit ``side_unit``)."""
        y_hats = [self(y, side).y_hat for y, side in zip(ys, sides, strict=True)]
        value_unit = torch.full((self.channels,), 2.0**-self.head.value_frac_bits)
        context_unit = self.context_int.calibrate(
            self.context, y_hats, value_unit, run=self.training_context
        )
        inputs = [
            torch.cat([side, self.training_context(y_hat)], dim=1)
            for y_hat, side in zip(y_hats, sides, strict=True)
        ]
        self.entropy_parameters_int.calibrate(
            self.entropy_parameters,
            inputs,
            torch.cat([side_unit.cpu(), context_unit]),
            self.head.param_units(self.channels),
        )
        self.head.calibrate([self.entropy_parameters(x) for x in inputs], ys)

    def schedule(self, height: int, width: int) -> np.ndarray:
        """``H×W`` int64 front number of every position."""
        raise NotImplementedError

    def training_context(self, noisy: Tensor) -> Tensor:
        """The one-pass context used in training, ``B×2C×H×W`` from noisy ``ŷ``."""
        raise NotImplementedError

    def forward(self, y: Tensor, side: Tensor, mask: Tensor | None = None) -> LatentOutput:
        keep = masked_rows(mask, self.channels)
        if not self.training:
            y_hat, params = self._run(y, side, lambda y_f, p: self.head.round(y_f, p), mask)
            rate_value = y_hat
        else:
            offset_free = self.head.quantizer.offset_free_relaxation
            context_input = self._context_input(y, side, offset_free)
            if keep is not None:
                context_input = context_input * keep
            context = self.training_context(context_input)
            params = self.entropy_parameters(torch.cat([side, context], dim=1))
            y_hat = self.head.relax_value(y, params)
            rate_value = context_input if offset_free else self.head.relax_rate(y, params)
        likelihood = self.head.likelihood(rate_value, params)
        extra = self.head.side_likelihoods(y, params)
        return masked_output(y_hat, likelihood, keep, side=extra)

    def _context_input(self, y: Tensor, side: Tensor, offset_free: bool) -> Tensor:
        """Training: what the one-pass context reads. The quantizer's offset-free relaxation
        (noise) if it has one; else :attr:`training_passes` − 1 passes of the head's
        relaxation around the parameters of the previous pass (from zeros: the first front's
        parameters), or the noise proxy when the schedule has no pass count."""
        if offset_free:
            return self.head.quantizer.relax_rate(y)
        if self.training_passes is None:
            return y + torch.empty_like(y).uniform_(-0.5, 0.5)
        values = torch.zeros_like(y)
        for _ in range(self.training_passes - 1):
            context = self.training_context(values)
            params = self.entropy_parameters(torch.cat([side, context], dim=1))
            values = self.head.relax_value(y, params)
        return values

    def compress(self, y: Tensor, side: Tensor, mask: Tensor | None = None) -> tuple[bytes, Tensor]:
        encoder = Encoder()
        y_hat, _ = self._run(y, side, lambda y_f, p: self.head.encode(encoder, y_f, p), mask)
        return encoder.to_bytes(), y_hat

    def decompress(self, data: bytes, side: Tensor, mask: Tensor | None = None) -> Tensor:
        decoder = Decoder(data)
        y_hat = self._run(None, side, lambda _, p: self.head.decode(decoder, p), mask)[0]
        decoder.finish()
        return y_hat

    def decompress_batch(self, data: list[bytes], side: Tensor) -> Tensor:
        """One front loop for the whole batch; image ``b``'s rows (the ``b``-th of ``B`` equal
        blocks of each front) are read from its own stream."""
        decoders = [Decoder(d) for d in data]

        def step(_: Tensor | None, params: Tensor) -> Tensor:
            blocks = params.chunk(len(decoders))
            return torch.cat(
                [self.head.decode(d, p) for d, p in zip(decoders, blocks, strict=True)]
            )

        y_hat = self._run(None, side, step)[0]
        for decoder in decoders:
            decoder.finish()
        return y_hat

    def fronts(self, height: int, width: int) -> list[Front]:
        """The fronts of an ``H×W`` latent in coding order (:func:`~.fronts.build_fronts`)."""
        return build_fronts(self.schedule(height, width), self.context.mask)

    def _run(
        self, y: Tensor | None, side: Tensor, step: Step, mask: Tensor | None = None
    ) -> tuple[Tensor, Tensor]:
        """Visit the fronts in order; returns ``ŷ`` (``B×C×H×W``) and params (``B×P·C×H×W``).

        Inside the loop tensors are position-major: the ``n`` positions of a front in ``B``
        images are ``B·n`` rows, handed to ``step`` as a batch of ``(B·n)×·×1×1`` tensors.
        A fixed-point (int64) ``side`` runs the integer path: ``ŷ`` is then kept in float64
        (exact) and returned as float32, the parameters are int64. With a ``mask``
        (``B×1×H×W``, true: coded) only the coded rows of a front go to ``step``; the others
        stay 0, and are 0 in the context of later fronts.
        """
        batch, _, height, width = side.shape
        integer = is_fixed_point(side)
        half = self.context.kernel_size[0] // 2
        padded = (height + 2 * half, width + 2 * half)
        dtype = torch.float64 if integer else side.dtype
        y_hat = side.new_zeros(batch, padded[0] * padded[1], self.channels, dtype=dtype)
        params = side.new_zeros(batch, height * width, self.head.params_per_channel * self.channels)
        side_rows = _rows(side.to(dtype))
        y_rows = None if y is None else _rows(y)
        mask_rows = None if mask is None else _rows(masked_rows(mask, 1))
        context, parameters = self._integer_path() if integer else self._float_path()
        with single_threaded():
            for front in self.fronts(height, width):
                rows = batch * len(front.flat)
                taps = None
                if front.taps is not None:
                    taps = y_hat.index_select(1, front.taps).reshape(rows, -1)
                inputs = torch.cat([_gather(side_rows, front.flat), context(taps, rows)], 1)
                front_params = parameters(inputs)
                y_front = None if y_rows is None else _gather(y_rows, front.flat)[:, :, None, None]
                front_params = front_params[:, :, None, None]
                if mask_rows is None:
                    values = step(y_front, front_params)
                else:
                    keep = _gather(mask_rows, front.flat)[:, 0]
                    values = y_hat.new_zeros(rows, self.channels, 1, 1)
                    if keep.any():
                        kept_y = None if y_front is None else y_front[keep]
                        values[keep] = step(kept_y, front_params[keep]).to(values.dtype)
                front_params = front_params[:, :, 0, 0]
                y_hat.index_copy_(1, front.padded, values.reshape(batch, -1, self.channels))
                params.index_copy_(1, front.flat, front_params.reshape(batch, -1, params.shape[2]))
        y_hat = y_hat.transpose(1, 2).reshape(batch, self.channels, *padded)
        y_hat = y_hat[:, :, half : half + height, half : half + width].contiguous()
        if integer:
            y_hat = y_hat.float()
        return y_hat, params.transpose(1, 2).reshape(batch, -1, height, width)

    def _float_path(self) -> tuple[FrontContext, Callable[[Tensor], Tensor]]:
        """The masked convolution at a front (``taps @ weight + bias``) and ``e``, in float."""
        weight, bias = _tap_weight(self.context.weight, self.context.mask), self.context.bias

        def context(taps: Tensor | None, rows: int) -> Tensor:
            return bias.expand(rows, -1) if taps is None else torch.addmm(bias, taps, weight)

        return context, self.entropy_parameters.rows

    def _integer_path(self) -> tuple[FrontContext, Callable[[Tensor], Tensor]]:
        """The same on integers: taps ``ŷ · 2^f`` (exact) times the integer weights, the bias
        and activation added by the integer layer's requantization; ``e`` on integers."""
        if not self.calibrated:
            raise RuntimeError("the context model's integer path is not calibrated")
        layer = self.context_int.convs[0]
        weight, bias = layer.float_parameters()[:2]
        weight = _tap_weight(weight, self.context.mask)
        scale, limit = 2.0**self.head.value_frac_bits, self.context_int.input_limit

        def context(taps: Tensor | None, rows: int) -> Tensor:
            if taps is None:
                acc = bias.expand(rows, -1)
            else:
                acc = torch.addmm(bias, (taps * scale).clamp_(-limit, limit), weight)
            return layer.requantize(acc, channel_dim=-1)

        return context, self.entropy_parameters_int.rows


def _tap_weight(weight: Tensor, mask: Tensor) -> Tensor:
    """A masked convolution's ``2C×C×k×k`` ``weight`` as ``(T·C)×2C`` rows of its ``T``
    unmasked taps (tap-major): gathered tap rows times it give the convolution there."""
    taps = mask.flatten().nonzero().squeeze(1)
    rows = weight.flatten(2)[:, :, taps]  # 2C×C×T
    return rows.permute(2, 1, 0).reshape(-1, rows.shape[0]).contiguous()


def _rows(x: Tensor) -> Tensor:
    """``B×C×H×W → B×HW×C`` (contiguous, position-major)."""
    return x.flatten(2).transpose(1, 2).contiguous()


def _gather(rows: Tensor, index: Tensor) -> Tensor:
    """Rows ``index`` of each image of ``B×L×C`` rows, as ``(B·n)×C``."""
    return rows.index_select(1, index).flatten(0, 1)
