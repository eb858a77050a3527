"""Discretised Gaussian mixture (Cheng et al. 2020) with per-symbol integer tables.

With ``K`` components of weights ``w_k`` (summing to one), means ``μ_k`` and scales ``s_k``
the integer ``v = round(y)`` has probability

    P(v) = Σ_k w_k · [Φ((v + ½ − μ_k) / s_k) − Φ((v − ½ − μ_k) / s_k)].

Mixtures cannot share a small set of tables, so coding builds one integer row per symbol
over a window ``centre ± R``: ``centre = round(Σ w_k μ_k)`` and ``R`` the smallest power of
two from 1 to ``max_radius`` covering ``|μ_k − centre| + t·s_k`` for every component whose
weight is at least ``negligible_weight`` (lighter components still contribute their mass
inside the window; what they put outside goes to the escape symbol). Rows of equal ``R`` are
coded together through constriction's batched categorical model. A row is built from the
mixture CDF at the ``2R + 2`` bin edges, ``C(e) = Σ_k w_k Φ((e − μ_k)/s_k)``, differenced
(one ``erfc`` per edge and component, in float32: the CDF's absolute error, ~1e-7, is
under 1% of one count of a 16-bit table, and float32 erfc runs ~3× faster than float64).
Encoder and decoder compute the same rows from the same parameters with the same
operations, so they agree bit for bit. Values outside their window are escaped.
Parameters are always ``B×K×C×H×W`` tensors.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import torch
from torch import Tensor, nn

from licodec.components.entropy.base import LIKELIHOOD_BOUND
from licodec.components.entropy.coder import Decoder, Encoder
from licodec.components.entropy.tables import quantize_pmf
from licodec.components.ops import lower_bound, std_normal_cdf
from licodec.components.quant import UNIT_CELL, Cell

_ROW_BUDGET = 1 << 22  # float64 entries per batch of rows (32 MiB)


class GaussianMixtureConditional(nn.Module):
    """K-component Gaussian mixture over integers.

    Args:
        components: number of mixture components ``K``.
        scale_min: lower bound of every component scale.
        tail: half-window in units of scale (6.2 leaves < 1e-9 of a Gaussian outside).
        max_radius: largest half-window; mass beyond it is escaped.
        negligible_weight: components lighter than this do not widen the coding window.
    """

    def __init__(
        self,
        components: int = 3,
        scale_min: float = 0.11,
        tail: float = 6.2,
        max_radius: int = 2048,
        negligible_weight: float = 1e-6,
    ) -> None:
        super().__init__()
        self.components = components
        self.scale_min = scale_min
        self.tail = tail
        self.max_radius = max_radius
        self.negligible_weight = negligible_weight

    def likelihood(
        self,
        values: Tensor,
        means: Tensor,
        scales: Tensor,
        weights: Tensor,
        cell: Cell = UNIT_CELL,
    ) -> Tensor:
        """``P(values)``, the mixture mass of each value's ``cell``, for ``values``
        ``B×C×H×W`` and parameters ``B×K×C×H×W``."""
        scales = lower_bound(scales, self.scale_min)
        centred = values.unsqueeze(1) - means
        low, high = (-0.5, 0.5) if cell.unit else (_k(cell.lower), _k(cell.upper))
        upper = std_normal_cdf((centred + high) / scales)
        lower = std_normal_cdf((centred + low) / scales)
        return lower_bound((weights * (upper - lower)).sum(dim=1), LIKELIHOOD_BOUND)

    def _flat_params(
        self, means: Tensor, scales: Tensor, weights: Tensor
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        def flat(t: Tensor) -> np.ndarray:
            return t.detach().double().cpu().movedim(1, -1).reshape(-1, self.components).numpy()

        return flat(means), np.maximum(flat(scales), self.scale_min), flat(weights)

    def _row_batches(
        self, means: Tensor, scales: Tensor, weights: Tensor
    ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Yield ``(positions, offsets, counts)`` batches in an order both sides share."""
        mu, sigma, w = self._flat_params(means, scales, weights)
        centre = np.round((w * mu).sum(axis=1))
        reach = np.abs(mu - centre[:, None]) + self.tail * sigma
        need = np.where(w >= self.negligible_weight, reach, 0.0).max(axis=1)
        exponent = np.ceil(np.log2(np.maximum(need, 1.0)))
        radius = np.minimum(2.0**exponent, self.max_radius).astype(np.int64)
        for r in np.unique(radius).tolist():
            positions = np.flatnonzero(radius == r)
            step = max(1, _ROW_BUDGET // ((2 * r + 2) * self.components))
            for start in range(0, len(positions), step):
                pos = positions[start : start + step]
                offsets = centre[pos].astype(np.int64) - r
                yield pos, offsets, self._counts(offsets, r, mu[pos], sigma[pos], w[pos])

    @staticmethod
    def _counts(
        offsets: np.ndarray, radius: int, mu: np.ndarray, sigma: np.ndarray, w: np.ndarray
    ) -> np.ndarray:
        """Integer rows ``(n, 2R + 2)`` for windows ``offsets .. offsets + 2R`` plus escape.

        ``Φ(x) = ½·erfc((μ − e)/(s√2))`` at the edges ``e = v ± ½`` (float32, ``(n, K, 2R+2)``);
        the mixture CDF ``Σ_k w_k Φ_k`` at the edges (a batched ``(1×K)·(K×E)`` product) is
        differenced into the ``2R + 1`` bin probabilities.
        """
        edges = torch.arange(-0.5, 2 * radius + 1, dtype=torch.float32)
        edges = torch.from_numpy(offsets.astype(np.float32))[:, None] + edges
        scaled = torch.from_numpy(mu.astype(np.float32))[:, :, None] - edges[:, None, :]
        inverse_width = torch.from_numpy((np.sqrt(0.5) / sigma).astype(np.float32))
        scaled.mul_(inverse_width[:, :, None]).erfc_()
        half_weights = torch.from_numpy((0.5 * w).astype(np.float32))[:, None, :]
        cdf = torch.bmm(half_weights, scaled)[:, 0]
        return quantize_pmf(torch.diff(cdf, dim=1).numpy())

    def encode(
        self, encoder: Encoder, values: Tensor, means: Tensor, scales: Tensor, weights: Tensor
    ) -> None:
        """Code integer-valued ``values`` ``B×C×H×W``."""
        encode_row_batches(encoder, values, self._row_batches(means, scales, weights))

    def decode(self, decoder: Decoder, means: Tensor, scales: Tensor, weights: Tensor) -> Tensor:
        """Decode values of shape ``B×C×H×W`` (taken from ``means`` without its K axis)."""
        return decode_row_batches(decoder, means, self._row_batches(means, scales, weights))


def _k(edge: float | Tensor) -> float | Tensor:
    """A cell edge ``B×C×H×W`` given a component axis (``B×1×C×H×W``); floats as they are."""
    return edge.unsqueeze(1) if isinstance(edge, Tensor) else edge


RowBatches = Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]
"""``(positions, offsets, counts)`` batches of per-symbol integer rows, in coding order."""


def encode_row_batches(encoder: Encoder, values: Tensor, batches: RowBatches) -> None:
    """Code the integer-valued ``values`` (any shape, flattened) batch by batch."""
    flat = values.detach().cpu().reshape(-1).numpy().astype(np.int64)
    for pos, offsets, counts in batches:
        encoder.encode_per_symbol(flat[pos], offsets, counts)


def decode_row_batches(decoder: Decoder, means: Tensor, batches: RowBatches) -> Tensor:
    """Decode ``B×C×H×W`` float32 integers; the shape is ``means`` (``B×K×C×H×W``) less K."""
    shape = means.shape[:1] + means.shape[2:]
    out = np.zeros(math.prod(shape), dtype=np.int64)
    for pos, offsets, counts in batches:
        out[pos] = decoder.decode_per_symbol(offsets, counts)
    return torch.from_numpy(out.astype(np.float32)).reshape(shape).to(means.device)
