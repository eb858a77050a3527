"""Quantizers: scalar rounding with training relaxations."""

from licodec.components.quant.scalar import QuantMode, quantize

__all__ = ["QuantMode", "quantize"]
