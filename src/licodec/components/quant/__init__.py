"""Quantizers as components: symbols, reconstructions, cells and training relaxations."""

from licodec.components.quant.base import UNIT_CELL, Cell, Quantizer
from licodec.components.quant.scalar import ScalarQuantizer

__all__ = ["UNIT_CELL", "Cell", "Quantizer", "ScalarQuantizer"]
