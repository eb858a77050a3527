"""Fully factorized learned prior (Ballé et al. 2018, appendix 6.1).

Each channel ``c`` has its own univariate density, defined through a monotone cumulative
``F_c = sigmoid(f_c)`` where ``f_c`` is a small chain of 1→3→3→3→1 affine maps with
softplus-positive matrices and ``tanh`` nonlinearities (monotone by construction). The
probability of an integer bin is ``F_c(v + ½) − F_c(v − ½)``, computed in the numerically
safer tail (sign trick) so tiny probabilities keep their precision.

Coding tables come from evaluating the density on a grid of integers: each channel's range
is the smallest interval holding all but ``tail_mass`` of it, and the rest is escaped.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from licodec.components.entropy.base import LIKELIHOOD_BOUND, TabledEntropyModel
from licodec.components.entropy.tables import IntegerTables
from licodec.components.ops import lower_bound


class FactorizedPrior(TabledEntropyModel):
    """Learned per-channel density for a ``B×C×H×W`` tensor of (noisy or rounded) values.

    Args:
        channels: number of channels ``C``.
        filters: hidden widths of the per-channel cumulative network.
        init_scale: initial width of the density (larger = flatter at start).
        tail_mass: probability mass left to the escape symbol when building tables.
        grid_radius: the tables look for each channel's range inside ``[−r, r]``.
    """

    def __init__(
        self,
        channels: int,
        filters: tuple[int, ...] = (3, 3, 3),
        init_scale: float = 10.0,
        tail_mass: float = 1e-9,
        grid_radius: int = 1024,
    ) -> None:
        super().__init__()
        self.channels = channels
        self.tail_mass = tail_mass
        self.grid_radius = grid_radius
        widths = (1, *filters, 1)
        scale = init_scale ** (1.0 / (len(widths) - 1))
        self.matrices = nn.ParameterList()
        self.biases = nn.ParameterList()
        self.factors = nn.ParameterList()
        for i in range(len(widths) - 1):
            init = math.log(math.expm1(1.0 / scale / widths[i + 1]))
            self.matrices.append(
                nn.Parameter(torch.full((channels, widths[i + 1], widths[i]), init))
            )
            self.biases.append(nn.Parameter(torch.rand(channels, widths[i + 1], 1) - 0.5))
            if i < len(widths) - 2:
                self.factors.append(nn.Parameter(torch.zeros(channels, widths[i + 1], 1)))

    def _logits_cumulative(self, x: Tensor) -> Tensor:
        """``f_c(x)`` for x of shape ``(C, 1, N)``; returns ``(C, 1, N)``."""
        for i, (matrix, bias) in enumerate(zip(self.matrices, self.biases, strict=True)):
            x = torch.matmul(F.softplus(matrix), x) + bias
            if i < len(self.factors):
                x = x + torch.tanh(self.factors[i]) * torch.tanh(x)
        return x

    def _bin_probability(self, values: Tensor) -> Tensor:
        """``F(v + ½) − F(v − ½)`` for values ``(C, 1, N)``."""
        lower = self._logits_cumulative(values - 0.5)
        upper = self._logits_cumulative(values + 0.5)
        sign = -torch.sign(lower + upper).detach()
        return torch.abs(torch.sigmoid(sign * upper) - torch.sigmoid(sign * lower))

    def likelihood(self, values: Tensor) -> Tensor:
        """Probability of each element of ``values`` (``B×C×H×W``), bounded below."""
        batch, channels, height, width = values.shape
        flat = values.permute(1, 0, 2, 3).reshape(channels, 1, -1)
        prob = self._bin_probability(flat).reshape(channels, batch, height, width)
        return lower_bound(prob.permute(1, 0, 2, 3), LIKELIHOOD_BOUND)

    def index(self, shape: torch.Size) -> np.ndarray:
        """Table row of every element of a ``B×C×H×W`` tensor: its channel."""
        batch, channels, height, width = shape
        return np.broadcast_to(
            np.arange(channels).reshape(1, channels, 1, 1), (batch, channels, height, width)
        )

    @torch.no_grad()
    def build_tables(self) -> IntegerTables:
        radius = self.grid_radius
        grid = torch.arange(-radius, radius + 1, dtype=torch.float32)
        grid = grid.reshape(1, 1, -1).expand(self.channels, 1, -1)
        pmf = self._bin_probability(grid)[:, 0].double().numpy()
        pmfs, offsets = [], []
        for row in pmf:
            cumulative = np.cumsum(row) / max(row.sum(), 1e-300)
            lo = int(np.searchsorted(cumulative, self.tail_mass / 2))
            hi = int(np.searchsorted(cumulative, 1 - self.tail_mass / 2))
            hi = max(lo, min(hi, len(row) - 1))
            pmfs.append(row[lo : hi + 1])
            offsets.append(lo - radius)
        return IntegerTables.from_pmfs(pmfs, offsets)
