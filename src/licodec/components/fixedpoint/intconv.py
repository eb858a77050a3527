"""Fixed-point convolutions: per-output-channel integer weights, exact float64 accumulation."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from licodec.components.buffers import DataSizedBuffers
from licodec.components.fixedpoint.arith import (
    EXACT_FLOAT64,
    accumulator_bound,
    fixed_multiplier,
    limit,
    requantize,
)

BIAS_BITS = 40
"""Integer biases stay below ``2^BIAS_BITS`` (the weight unit grows if a bias needs it)."""


def exact_backend(x: Tensor) -> AbstractContextManager:
    """Where float64 products of integers must not be transformed (cuDNN may pick FFT or
    Winograd algorithms, whose intermediate values are not integers), use plain GEMMs."""
    return torch.backends.cudnn.flags(enabled=False) if x.is_cuda else nullcontext()


class IntegerConv(DataSizedBuffers):
    """Fixed-point twin of a ``Conv2d`` (also 1×1 or masked) or ``ConvTranspose2d``, with an
    optional fused ReLU or leaky ReLU.

    The float layer maps input integers ``a`` (unit ``u_in[i]`` per input channel) to
    ``f(Σ w·u_in·a + b)``, ``f`` the identity, ReLU or leaky ReLU of slope ``α``. The input
    units are folded into the weights, ``w' = w·u_in``, which are quantized per output
    channel ``o`` with unit ``v_o = max|w'_o| / (2^(B−1) − 1)`` (``B`` = ``weight_bits``):

        W_q = round(w' / v_o),   b_q = round(b / v_o),   acc = Σ W_q·a + b_q      (unit v_o)
        out = clamp(requant(acc, M⁺ if acc ≥ 0 else M⁻, S), −L_out, L_out)     (unit u_out[o])

    with ``M⁺ / 2^S ≈ v_o / u_out[o]`` and ``M⁻ / 2^S ≈ α · v_o / u_out[o]`` (``α = 1`` without
    an activation, ``0`` for ReLU). The activation is thus applied at the requantization
    with its slope carried by the integer multiplier: the leaky ReLU keeps its 0.01 up to
    the multiplier's precision (no dyadic stand-in such as 1/8, whose RD cost would need
    measuring, is used).

    ``acc`` is computed by ``F.conv2d`` / ``F.conv_transpose2d`` / a matrix product (bias
    included) and the requantization by float64 operations on integer-valued tensors;
    :meth:`quantize` checks the accumulator bound ``Σ|W_q|·L_in + |b_q| < 2^53`` and picks
    ``M``, ``S`` so that all of
    it is exact on any machine (see :mod:`licodec.components.fixedpoint.arith`).

    Buffers, empty until :meth:`quantize` and saved with the weights: ``weight`` (integers in
    the float layer's layout, int8 for ``B <= 8``), ``bias`` (int64 ``(O,)``), ``multiplier``
    (int64 ``2×O``: ``M⁺``, ``M⁻``) and ``shift`` (int64 ``(O,)``).

    Args:
        conv: the float layer (its geometry is copied; its weights are read by
            :meth:`quantize`). A ``mask`` buffer (masked convolutions) multiplies the weight.
        negative_slope: ``α`` of the fused activation, ``None`` for none (``0.0`` is ReLU).
        output_bits: outputs are clamped to ``±(2^(output_bits−1) − 1)``.
        weight_bits: ``B``, bits of the signed integer weights.
    """

    _SIZED_BUFFERS = ("weight", "bias", "multiplier", "shift")
    _OPTIONAL_STATE = True

    def __init__(
        self,
        conv: nn.Conv2d | nn.ConvTranspose2d,
        negative_slope: float | None,
        output_bits: int,
        weight_bits: int = 8,
    ) -> None:
        super().__init__()
        if conv.groups != 1 or conv.padding_mode != "zeros" or isinstance(conv.padding, str):
            raise ValueError(
                f"the fixed-point path supports ungrouped zero-padded convolutions, got {conv}"
            )
        self.transposed = isinstance(conv, nn.ConvTranspose2d)
        self.stride = conv.stride
        self.padding = conv.padding
        self.dilation = conv.dilation
        self.output_padding = conv.output_padding
        self.in_channels = conv.in_channels
        self.out_channels = conv.out_channels
        self.kernel_size = conv.kernel_size
        self.slope = 1.0 if negative_slope is None else float(negative_slope)
        if not 0 <= self.slope <= 1:
            raise ValueError(f"activation slopes must be in [0, 1], got {self.slope}")
        self.output_limit = limit(output_bits)
        self.weight_bits = weight_bits
        weight_dtype = torch.int8 if weight_bits <= 8 else torch.int32
        self.register_buffer("weight", torch.zeros(0, dtype=weight_dtype))
        for name in ("bias", "multiplier", "shift"):
            self.register_buffer(name, torch.zeros(0, dtype=torch.int64))
        self._cache: tuple[tuple[Tensor, ...], tuple[Tensor, ...]] | None = None

    @property
    def calibrated(self) -> bool:
        """Whether :meth:`quantize` (or a loaded state dict) has filled the buffers."""
        return self.weight.numel() > 0

    @torch.no_grad()
    def quantize(
        self,
        conv: nn.Conv2d | nn.ConvTranspose2d,
        input_unit: Tensor,
        output_unit: Tensor,
        input_limit: int,
    ) -> None:
        """Fill the buffers from the float layer ``conv``.

        Args:
            conv: the float layer this twin was built from.
            input_unit: ``u_in``, float64 ``(I,)``.
            output_unit: ``u_out``, float64 ``(O,)``.
            input_limit: ``L_in``, the largest input magnitude.

        Raises:
            ValueError: the accumulator bound reaches ``2^53`` (float64 would round).
        """
        weight = conv.weight.detach().cpu().double()
        mask = getattr(conv, "mask", None)
        if mask is not None:
            weight = weight * mask.cpu().double()
        in_dim, out_dim = (0, 1) if self.transposed else (1, 0)
        shape = [1] * weight.dim()
        shape[in_dim] = -1
        weight = (weight * input_unit.cpu().double().reshape(shape)).movedim(out_dim, 0)
        bias = conv.bias.detach().cpu().double() if conv.bias is not None else None
        bias = torch.zeros(self.out_channels, dtype=torch.float64) if bias is None else bias
        largest = limit(self.weight_bits)
        unit = torch.maximum(weight.abs().flatten(1).amax(1) / largest, bias.abs() / 2**BIAS_BITS)
        unit = torch.where(unit > 0, unit, torch.ones_like(unit))
        weight_q = torch.round(weight / unit.reshape(-1, *[1] * (weight.dim() - 1)))
        bias_q = torch.round(bias / unit).to(torch.int64)
        bound = accumulator_bound(weight_q, bias_q, input_limit)
        if bound.max() >= EXACT_FLOAT64:
            raise ValueError(
                f"accumulator bound 2^{np.log2(bound.max()):.1f} of {self.out_channels}-channel "
                "layer reaches 2^53: lower the activation or weight bits"
            )
        ratio = (unit / output_unit.cpu().double()).numpy()
        positive, shift = fixed_multiplier(ratio, bound)
        negative = np.round(self.slope * ratio * np.exp2(shift)).astype(np.int64)
        device = self.weight.device
        self.weight = weight_q.movedim(0, out_dim).to(self.weight.dtype).contiguous().to(device)
        self.bias = bias_q.to(device)
        self.multiplier = torch.from_numpy(np.stack([positive, negative])).to(device)
        self.shift = torch.from_numpy(shift).to(device)

    def float_parameters(self) -> tuple[Tensor, ...]:
        """``(weight, bias, M⁺·2^−S, M⁻·2^−S)`` as float64, all exact (integers below 2^53
        and integers times powers of two), converted once per set of buffers (quantized,
        loaded or moved)."""
        buffers = (self.weight, self.bias, self.multiplier, self.shift)
        cached = self._cache
        if cached is None or any(a is not b for a, b in zip(cached[0], buffers, strict=True)):
            power = (torch.ones_like(self.shift) << self.shift).to(torch.float64)
            positive, negative = (m.to(torch.float64) / power for m in self.multiplier)
            converted = (self.weight.to(torch.float64), self.bias.to(torch.float64))
            self._cache = cached = (buffers, (*converted, positive, negative))
        return cached[1]

    def forward(self, x: Tensor) -> Tensor:
        """Integer-valued float64 ``B×I×H×W`` → integer-valued float64 ``B×O×H'×W'``."""
        weight, bias = self.float_parameters()[:2]
        with exact_backend(x):
            if self.transposed:
                acc = F.conv_transpose2d(
                    x, weight, bias, self.stride, self.padding, self.output_padding, 1,
                    self.dilation,
                )  # fmt: skip
            else:
                acc = F.conv2d(x, weight, bias, self.stride, self.padding, self.dilation)
        return self.requantize(acc, channel_dim=1)

    def rows(self, x: Tensor) -> Tensor:
        """A 1×1 convolution on the rows of an integer-valued float64 ``R×I`` matrix → ``R×O``."""
        if self.kernel_size != (1, 1) or self.transposed:
            raise ValueError("rows() applies 1×1 convolutions only")
        weight, bias = self.float_parameters()[:2]
        with exact_backend(x):
            acc = torch.addmm(bias, x, weight.flatten(1).T)
        return self.requantize(acc, channel_dim=-1)

    def requantize(self, acc: Tensor, channel_dim: int) -> Tensor:
        """Apply the activation to the exact accumulator ``acc`` (integer-valued float64, bias
        included) and requantize → integer-valued float64 in the output unit."""
        shape = [1] * acc.dim()
        shape[channel_dim] = -1
        positive, negative = (m.reshape(shape) for m in self.float_parameters()[2:])
        out = requantize(acc, positive, negative)
        return out.clamp_(-self.output_limit, self.output_limit)
