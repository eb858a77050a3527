"""Calibration: activation ranges of a float network on sample inputs, and units from them."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from torch import Tensor, nn

from licodec.components.fixedpoint.arith import limit

HEADROOM = 2.0
"""Calibrated units leave this factor above the largest activation seen (one bit) so that
images unlike the calibration set rarely saturate; saturation is exact, only less accurate."""


@torch.no_grad()
def observe_ranges(
    modules: list[nn.Module], run: Callable[[Tensor], object], inputs: Iterable[Tensor]
) -> list[float]:
    """Largest ``|output|`` of each of ``modules`` while ``run(x)`` runs for every input.

    Args:
        modules: modules whose outputs are watched (forward hooks, removed afterwards).
        run: what to call with each input (usually the float network containing them).
        inputs: calibration inputs.
    """
    ranges = [0.0] * len(modules)

    def watch(index: int) -> Callable:
        def hook(_module: nn.Module, _args: object, output: Tensor) -> None:
            if output.numel():
                ranges[index] = max(ranges[index], float(output.detach().abs().max()))

        return hook

    handles = [m.register_forward_hook(watch(i)) for i, m in enumerate(modules)]
    try:
        for x in inputs:
            run(x)
    finally:
        for handle in handles:
            handle.remove()
    return ranges


def activation_unit(largest: float, bits: int, headroom: float = HEADROOM) -> float:
    """The unit of a ``bits``-bit activation whose largest calibrated magnitude is ``largest``:
    ``headroom · largest / (2^(bits−1) − 1)`` (1 for a layer that stayed at zero)."""
    return headroom * largest / limit(bits) if largest > 0 else 1.0
