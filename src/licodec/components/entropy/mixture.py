"""Discretised Gaussian mixture (Cheng et al. 2020) with per-symbol integer tables.

With ``K`` components of weights ``w_k`` (summing to one), means ``μ_k`` and scales ``s_k``
the integer ``v = round(y)`` has probability

    P(v) = Σ_k w_k · [Φ((v + ½ − μ_k) / s_k) − Φ((v − ½ − μ_k) / s_k)].

Mixtures cannot share a small set of tables, so coding builds one integer row per symbol
over a window ``centre ± R`` (``centre = round(Σ w_k μ_k)``, ``R`` the smallest power of two
from 8 to ``max_radius`` covering every component's ``|μ_k − centre| + t·s_k``) and codes
rows of equal ``R`` together through constriction's batched categorical model. Values outside
their window are escaped. Parameters are always ``B×K×C×H×W`` tensors.
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

_ROW_BUDGET = 1 << 22  # float64 entries per batch of rows (32 MiB)


class GaussianMixtureConditional(nn.Module):
    """K-component Gaussian mixture over integers.

    Args:
        components: number of mixture components ``K``.
        scale_min: lower bound of every component scale.
        tail: half-window in units of scale (6.2 leaves < 1e-9 of a Gaussian outside).
        max_radius: largest half-window; mass beyond it is escaped.
    """

    def __init__(
        self,
        components: int = 3,
        scale_min: float = 0.11,
        tail: float = 6.2,
        max_radius: int = 2048,
    ) -> None:
        super().__init__()
        self.components = components
        self.scale_min = scale_min
        self.tail = tail
        self.max_radius = max_radius

    def likelihood(self, values: Tensor, means: Tensor, scales: Tensor, weights: Tensor) -> Tensor:
        """``P(values)`` for ``values`` ``B×C×H×W`` and parameters ``B×K×C×H×W``."""
        scales = lower_bound(scales, self.scale_min)
        centred = values.unsqueeze(1) - means
        upper = std_normal_cdf((centred + 0.5) / scales)
        lower = std_normal_cdf((centred - 0.5) / scales)
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
        need = np.max(np.abs(mu - centre[:, None]) + self.tail * sigma, axis=1)
        exponent = np.ceil(np.log2(np.maximum(need, 8.0)))
        radius = np.minimum(2.0**exponent, self.max_radius).astype(np.int64)
        for r in np.unique(radius).tolist():
            positions = np.flatnonzero(radius == r)
            step = max(1, _ROW_BUDGET // (2 * r + 1))
            for start in range(0, len(positions), step):
                pos = positions[start : start + step]
                offsets = centre[pos].astype(np.int64) - r
                yield pos, offsets, self._counts(offsets, r, mu[pos], sigma[pos], w[pos])

    @staticmethod
    def _counts(
        offsets: np.ndarray, radius: int, mu: np.ndarray, sigma: np.ndarray, w: np.ndarray
    ) -> np.ndarray:
        grid = torch.from_numpy(offsets[:, None] + np.arange(2 * radius + 1)).double()
        mu_t, sigma_t, w_t = (torch.from_numpy(a)[:, None, :] for a in (mu, sigma, w))
        centred = grid[:, :, None] - mu_t
        bins = std_normal_cdf((centred + 0.5) / sigma_t) - std_normal_cdf((centred - 0.5) / sigma_t)
        return quantize_pmf((bins * w_t).sum(dim=2).numpy())

    def encode(
        self, encoder: Encoder, values: Tensor, means: Tensor, scales: Tensor, weights: Tensor
    ) -> None:
        """Code integer-valued ``values`` ``B×C×H×W``."""
        flat = values.detach().cpu().reshape(-1).numpy().astype(np.int64)
        for pos, offsets, counts in self._row_batches(means, scales, weights):
            encoder.encode_per_symbol(flat[pos], offsets, counts)

    def decode(self, decoder: Decoder, means: Tensor, scales: Tensor, weights: Tensor) -> Tensor:
        """Decode values of shape ``B×C×H×W`` (taken from ``means`` without its K axis)."""
        shape = means.shape[:1] + means.shape[2:]
        out = np.zeros(math.prod(shape), dtype=np.int64)
        for pos, offsets, counts in self._row_batches(means, scales, weights):
            out[pos] = decoder.decode_per_symbol(offsets, counts)
        return torch.from_numpy(out.astype(np.float32)).reshape(shape).to(means.device)
