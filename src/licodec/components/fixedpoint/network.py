"""Fixed-point twin of a feed-forward stack of convolutions and activations."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from licodec.components.fixedpoint.arith import limit
from licodec.components.fixedpoint.calibrate import activation_unit, observe_ranges
from licodec.components.fixedpoint.intconv import IntegerConv

_CONVS = (nn.Conv2d, nn.ConvTranspose2d)
_ACTIVATIONS = (nn.ReLU, nn.LeakyReLU)
_PASSIVE = (nn.PixelShuffle, nn.Identity)


def _leaves(network: nn.Module) -> list[nn.Module]:
    """The layers of ``network`` in execution order, nested ``nn.Sequential`` flattened."""
    if type(network) is nn.Sequential or (
        isinstance(network, nn.Sequential) and type(network).forward is nn.Sequential.forward
    ):
        return [leaf for child in network for leaf in _leaves(child)]
    return [network]


def _slope(activation: nn.Module) -> float:
    return activation.negative_slope if isinstance(activation, nn.LeakyReLU) else 0.0


class IntegerNetwork(nn.Module):
    """Runs a float ``nn.Sequential`` of supported layers in fixed point.

    Supported: ``Conv2d`` (any subclass whose forward is a convolution of ``weight``, with an
    optional ``mask`` buffer, e.g. masked convolutions), ``ConvTranspose2d``, ``ReLU`` and
    ``LeakyReLU`` following a convolution (possibly after a ``PixelShuffle``; they are fused
    into its requantization, see :class:`IntegerConv`), ``PixelShuffle`` (a permutation,
    exact on integers), ``Identity`` and nested ``Sequential`` containers. Anything else
    raises :class:`TypeError` naming the layer.

    Every activation is an integer tensor: the input is clamped to ``±(2^(input_bits−1) − 1)``,
    hidden activations are ``activation_bits``-bit integers with a calibrated unit each, and
    the output has ``output_bits`` bits in units the caller chooses at calibration (or, with
    ``output_bits=None``, is a calibrated ``activation_bits``-bit activation like the others).

    The integer layers are built empty with the float network's structure, so a model's state
    dict always has their keys; :meth:`calibrate` fills them.

    Args:
        network: the float network (only its structure is read here).
        input_bits: bits of the input integers.
        activation_bits: bits of the hidden activations.
        weight_bits: bits of the per-output-channel integer weights.
        output_bits: bits of the output, or ``None`` (see above).
    """

    def __init__(
        self,
        network: nn.Module,
        input_bits: int = 16,
        activation_bits: int = 16,
        weight_bits: int = 8,
        output_bits: int | None = None,
    ) -> None:
        super().__init__()
        self.input_limit = limit(input_bits)
        self.activation_bits = activation_bits
        self.fixed_output = output_bits is not None
        self._plan, _, fused = self._compile(_leaves(network))
        self.convs = nn.ModuleList()
        for number, (conv, slope) in enumerate(fused):
            last = number == len(fused) - 1
            bits = output_bits if last and output_bits is not None else activation_bits
            self.convs.append(IntegerConv(conv, slope, bits, weight_bits))
        if not self.convs:
            raise TypeError(f"{type(network).__name__} has no convolution to run in fixed point")
        last = max(step for step, (kind, _) in enumerate(self._plan) if kind == "conv")
        self._tail = math.prod(f * f for kind, f in self._plan[last + 1 :] if kind == "shuffle")

    @staticmethod
    def _compile(
        leaves: list[nn.Module],
    ) -> tuple[list[tuple[str, int]], list[int], list[tuple[nn.Module, float | None]]]:
        """``(plan, watched, fused)``: the steps ``("conv", k)`` / ``("shuffle", r)``, the leaf
        whose output range calibrates conv ``k``, and each conv with its activation's slope."""
        plan: list[tuple[str, int]] = []
        watched: list[int] = []
        fused: list[tuple[nn.Module, float | None]] = []
        consumed: set[int] = set()
        for i, leaf in enumerate(leaves):
            if i in consumed or isinstance(leaf, nn.Identity):
                continue
            if isinstance(leaf, _CONVS):
                j = i + 1
                while j < len(leaves) and isinstance(leaves[j], _PASSIVE):
                    j += 1
                activation = j < len(leaves) and isinstance(leaves[j], _ACTIVATIONS)
                if activation:
                    consumed.add(j)
                plan.append(("conv", len(fused)))
                watched.append(j if activation else i)
                fused.append((leaf, _slope(leaves[j]) if activation else None))
            elif isinstance(leaf, nn.PixelShuffle):
                plan.append(("shuffle", leaf.upscale_factor))
            elif isinstance(leaf, _ACTIVATIONS):
                raise TypeError(f"{leaf} must follow a convolution to run in fixed point")
            else:
                raise TypeError(
                    f"the fixed-point path cannot run {type(leaf).__name__} ({leaf}); supported: "
                    "Conv2d, ConvTranspose2d, ReLU, LeakyReLU, PixelShuffle, Identity, Sequential"
                )
        return plan, watched, fused

    @property
    def calibrated(self) -> bool:
        """Whether every layer has its integer weights (calibrated or loaded)."""
        return all(conv.calibrated for conv in self.convs)

    @property
    def out_channels(self) -> int:
        """Channels of the output."""
        return self.convs[-1].out_channels // self._tail

    @torch.no_grad()
    def calibrate(
        self,
        network: nn.Module,
        inputs: Iterable[Tensor],
        input_unit: Tensor,
        output_unit: Tensor | None = None,
        run: Callable[[Tensor], object] | None = None,
    ) -> Tensor:
        """Quantize every layer from the ranges of ``network``'s activations on ``inputs``.

        Hidden units come from the calibrated ranges (:func:`activation_unit`); input units
        are folded into the weights of the layer that reads them.

        Args:
            network: the float network this twin was built from.
            inputs: calibration inputs of ``network`` (real values).
            input_unit: real value of one input integer, per input channel ``(C_in,)``.
            output_unit: real value of one output integer per output channel ``(C_out,)``;
                required exactly when the twin was built with ``output_bits``.
            run: what to call with each input instead of ``network`` itself, when the
                network runs inside a larger computation (e.g. a masked convolution on
                masked latents); ``network``'s layers are watched either way.

        Returns:
            The output units, float64 ``(C_out,)``.
        """
        leaves = _leaves(network)
        plan, watched, fused = self._compile(leaves)
        if plan != self._plan:
            raise ValueError("calibrate() needs the float network this twin was built from")
        if self.fixed_output != (output_unit is not None):
            raise ValueError("output_unit must be given exactly when output_bits was")
        ranges = observe_ranges([leaves[i] for i in watched], run or network, inputs)
        unit, input_limit = input_unit.double().cpu(), self.input_limit
        for kind, value in self._plan:
            if kind == "shuffle":
                unit = unit[:: value * value]
                continue
            conv = self.convs[value]
            if output_unit is not None and value == len(self.convs) - 1:
                out_unit = output_unit.double().cpu().repeat_interleave(self._tail)
            else:
                hidden = activation_unit(ranges[value], self.activation_bits)
                out_unit = torch.full((conv.out_channels,), hidden, dtype=torch.float64)
            conv.quantize(fused[value][0], unit, out_unit, input_limit)
            unit, input_limit = out_unit, conv.output_limit
        return unit

    def forward(self, x: Tensor) -> Tensor:
        """Input integers ``B×C_in×H×W`` (any dtype) → output integers (int64)."""
        x = x.to(torch.float64).clamp(-self.input_limit, self.input_limit)
        for kind, value in self._plan:
            x = self.convs[value](x) if kind == "conv" else F.pixel_shuffle(x, value)
        return x.to(torch.int64)

    def rows(self, x: Tensor) -> Tensor:
        """The same map on the rows of ``R×C_in`` integers (1×1 convolutions only) → int64."""
        x = x.to(torch.float64).clamp(-self.input_limit, self.input_limit)
        for kind, value in self._plan:
            if kind != "conv":
                raise ValueError("rows() needs a network of 1×1 convolutions and activations")
            x = self.convs[value].rows(x)
        return x.to(torch.int64)
