"""Fixed-point path of the networks that decide entropy-coding probabilities.

Post-training quantization (per-output-channel integer weights, calibrated activation units,
exact integer accumulation and requantization) turns a float network into an
:class:`IntegerNetwork` whose outputs are the same integers on every machine, thread count,
backend and batch size (see :mod:`.arith` for why the arithmetic is exact).
"""

from licodec.components.fixedpoint.calibrate import activation_unit, observe_ranges
from licodec.components.fixedpoint.intconv import IntegerConv
from licodec.components.fixedpoint.network import IntegerNetwork

__all__ = ["IntegerConv", "IntegerNetwork", "activation_unit", "observe_ranges"]
