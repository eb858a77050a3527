"""Schedule geometry of context models: which positions are coded together, in which order.

Coding visits the positions of an ``H×W`` latent in *fronts* ``F_0, F_1, …`` given by a
schedule ``t(i, j)``. The context of a position in ``F_t`` is the masked convolution over
``ŷ`` restricted to the fronts before ``t``. A schedule must give each position either its
whole masked neighbourhood or none of it (:func:`schedule_violations` finds the offenders);
positions with none are coded from the side input alone.

**Serial schedule.** Mask A (``k = 5``) reads the taps ``(dy, dx)`` with ``dy ∈ {−2, −1}``,
``dx ∈ [−2, 2]`` and ``(0, −2), (0, −1)``. A linear schedule ``t = a·i + j`` respects a tap iff
``a·dy + dx < 0``; the binding tap is the upper-right ``(−1, +2)``: ``a > 2``. So ``t = 3i + j``
(with ``t = 2i + j`` the position ``(i − 1, j + 2)`` would share the front of ``(i, j)``). In
general ``a = max(1, 1 + max_{dy<0} ⌊dx / −dy⌋)``, derived from the mask by
:func:`wavefront_slope`. An ``H×W`` latent has ``3(H − 1) + W`` fronts of at most
``min(H, ⌈W/3⌉)`` positions.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor


def tap_offsets(mask: Tensor) -> tuple[np.ndarray, np.ndarray]:
    """``(dy, dx)`` of the unmasked taps of a ``k×k`` mask, in raster order."""
    rows, cols = np.nonzero(mask.cpu().numpy())
    half = mask.shape[0] // 2
    return rows - half, cols - half


def wavefront_slope(mask: Tensor) -> int:
    """Smallest ``a >= 1`` with ``a·dy + dx < 0`` for every unmasked tap ``(dy, dx)``.

    Then ``t = a·i + j`` puts every tap of ``(i, j)`` in an earlier front. Raises
    :class:`ValueError` for a mask that reads the centre, a later row or a later column.
    """
    dy, dx = tap_offsets(mask)
    if np.any(dy > 0) or np.any((dy == 0) & (dx >= 0)):
        raise ValueError("the mask is not causal in raster order")
    above = dy < 0
    if not above.any():
        return 1
    return max(1, int(np.max(np.floor_divide(dx[above], -dy[above]))) + 1)


def _neighbour_fronts(schedule: np.ndarray, mask: Tensor) -> Iterator[np.ndarray]:
    """For each unmasked tap, the ``H×W`` map of the tap's front (−1 outside the latent)."""
    height, width = schedule.shape
    half = mask.shape[0] // 2
    framed = np.full((height + 2 * half, width + 2 * half), -1, dtype=np.int64)
    framed[half : half + height, half : half + width] = schedule
    for dy, dx in zip(*tap_offsets(mask), strict=True):
        yield framed[half + dy : half + dy + height, half + dx : half + dx + width]


def schedule_violations(schedule: np.ndarray, mask: Tensor) -> np.ndarray:
    """``H×W`` bool: positions with an unmasked tap inside the latent in a front ``>= t``."""
    bad = np.zeros(schedule.shape, dtype=bool)
    for neighbour in _neighbour_fronts(schedule, mask):
        bad |= neighbour >= schedule
    return bad


def _context_positions(schedule: np.ndarray, mask: Tensor) -> np.ndarray:
    """``H×W`` bool: positions with an unmasked tap inside the latent in an earlier front."""
    seen = np.zeros(schedule.shape, dtype=bool)
    for neighbour in _neighbour_fronts(schedule, mask):
        seen |= (neighbour >= 0) & (neighbour < schedule)
    return seen


@dataclass(frozen=True)
class Front:
    """The positions of one front of an ``H×W`` latent (``n`` of them).

    Attributes:
        flat: ``(n,)`` indexes ``i·W + j``.
        padded: ``(n,)`` indexes into the ``(H + 2p)×(W + 2p)`` padded latent, ``p = k//2``.
        taps: ``(n·T,)`` padded indexes of the unmasked taps, position-major; ``None`` when
            no position of the front has a tap in an earlier front (the context is then
            the bias alone, which is also what gathering the all-zero taps would give).
    """

    flat: Tensor
    padded: Tensor
    taps: Tensor | None


def build_fronts(schedule: np.ndarray, mask: Tensor) -> list[Front]:
    """The fronts of an ``H×W`` latent in coding order, from its ``schedule`` (``H×W`` front
    numbers) and the context's ``k×k`` ``mask``.

    Raises :class:`ValueError` if the schedule gives a position part of its masked
    neighbourhood only.
    """
    height, width = schedule.shape
    with_context = _context_positions(schedule, mask)
    partial = with_context & schedule_violations(schedule, mask)
    if partial.any():
        i, j = np.argwhere(partial)[0]
        raise ValueError(f"schedule gives position ({i}, {j}) part of its context only")
    half = mask.shape[0] // 2
    padded_width = width + 2 * half
    dy, dx = tap_offsets(mask)
    tap_shift = dy * padded_width + dx
    order = np.argsort(schedule, axis=None, kind="stable")
    starts = np.flatnonzero(np.diff(schedule.ravel()[order])) + 1
    fronts = []
    for flat in np.split(order, starts):
        padded = (flat // width + half) * padded_width + flat % width + half
        taps = (padded[:, None] + tap_shift).ravel() if with_context.flat[flat].any() else None
        fronts.append(
            Front(
                torch.from_numpy(flat),
                torch.from_numpy(padded),
                None if taps is None else torch.from_numpy(taps),
            )
        )
    return fronts
