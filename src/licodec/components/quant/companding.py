"""Spatially adaptive A-law companding around another quantizer (the "AC" of LVQAC).

The centred latent ``v = y − μ`` is companded, quantized by an inner quantizer (lattice or
scalar) in the companded domain, and expanded back:

    u = F_A(v),   û = Q(u),   ŷ = μ + F_A⁻¹(û),

with the A-law ``[R]`` applied at a range ``R`` (``[D]``: the paper's formula is for
``|x| ≤ 1``; latents are not normalised, so ``F_A(v) = R·f_A(v/R)``)::

    f_A(x) = sgn(x)·A|x| / (1 + ln A)           for |x| < 1/A
           = sgn(x)·(1 + ln(A|x|)) / (1 + ln A) otherwise.

``A = 1`` is the identity on ``[−R, R]`` (logarithmic beyond), so a model starts from its
uncompanded twin; a larger ``A`` refines the grid near the mean by ``A/(1 + ln A)`` and
coarsens it towards ``R``. ``A ≥ 1`` comes per position from the entropy head
(:class:`~licodec.components.latent.heads.CompandedMeanScaleHead`), which binds it here.

**Cells.** A symbol's cell in ``y`` is the image of its companded cell:
``[μ + F_A⁻¹(û − ½), μ + F_A⁻¹(û + ½)]`` (``[û ± ½]`` is the inner quantizer's unit cell
in ``u``). The entropy model integrates exactly that interval, in training as in the tables
(:class:`~licodec.components.entropy.conditional.CompandedGaussianConditional`, one table
per scale level, ``A`` level and inner grid offset).

**Training** (``[D]``): the additive-noise proxy in the companded domain, for the rate and
the value alike: ``ỹ = μ + F_A⁻¹(u + n)``, ``n ~ U(−½, ½)`` per coordinate (the cell of an
integer part once its coset is known, so the inner lattice trains with the same proxy).
The cells of a compander vary in width; straight-through rounding there (``û − u`` held
fixed) hides the larger error of the wider cells from the gradient while the rate term sees
their cheaper symbols, and a first fine-tune with it drifted to lower rate at a *rising*
training loss (0.84 → 0.87 over 1,300 steps at q2, where the lattice twin fell 0.834 →
0.829). With noise the expected error of each cell is in the loss. Side symbols (coset
bits) are the hard quantization's in any case.

**Integer path.** ``A`` is a table level (an integer index), and the expanded value is
rounded to the ``2^-value_frac_bits`` grid of the context model's fixed-point input
(:meth:`BoundCompander.reconstruct` with ``frac_bits``).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from licodec.components.entropy.coder import Decoder, Encoder
from licodec.components.quant.base import Cell, Quantizer, centred, uncentred


def a_law(v: Tensor, a: Tensor | float, radius: float) -> Tensor:
    """``F_A(v) = R·f_A(v/R)`` (module docstring), elementwise; ``a`` broadcasts."""
    a = torch.as_tensor(a, dtype=v.dtype, device=v.device)
    x = v.abs() / radius
    norm = 1 + torch.log(a)
    linear = a * x / norm
    logarithmic = (1 + torch.log(torch.clamp(a * x, min=1.0))) / norm
    return torch.sign(v) * radius * torch.where(a * x < 1, linear, logarithmic)


def a_law_inverse(u: Tensor, a: Tensor | float, radius: float) -> Tensor:
    """``F_A⁻¹(u)``, elementwise; ``a`` broadcasts."""
    a = torch.as_tensor(a, dtype=u.dtype, device=u.device)
    z = u.abs() / radius
    norm = 1 + torch.log(a)
    linear = z * norm / a
    logarithmic = torch.exp(torch.clamp(z * norm - 1, max=80.0)) / a
    return torch.sign(u) * radius * torch.where(z * norm < 1, linear, logarithmic)


class BoundCompander(Quantizer):
    """``inner`` wrapped in the A-law of per-position ``a`` (see module docstring).

    Built per call by :meth:`CompandingQuantizer.bind`; ``a`` broadcasts against the latent
    (``B×1×H×W``), ``level`` is its table index (``None`` in training: continuous ``a``).
    """

    offset_free_relaxation = False

    def __init__(
        self, inner: Quantizer, a: Tensor, level: Tensor | None, radius: float, frac_bits: int
    ) -> None:
        super().__init__()
        self.inner, self.a, self.level = inner, a, level
        self.radius, self.frac_bits = radius, frac_bits
        self.training = inner.training

    def _compand(self, y: Tensor, offset: Tensor | None) -> Tensor:
        return a_law(centred(y, offset), self.a, self.radius)

    def _expand(self, u: Tensor, offset: Tensor | None) -> Tensor:
        return uncentred(a_law_inverse(u, self.a, self.radius), offset)

    def quantize(self, y: Tensor, offset: Tensor | None = None) -> Tensor:
        return self.inner.quantize(self._compand(y, offset))

    def reconstruct(self, symbols: Tensor, offset: Tensor | None = None) -> Tensor:
        """``μ + F_A⁻¹(û)``; on the integer path (float64 ``offset``) the expansion is
        rounded to multiples of ``2^-frac_bits`` so ``ŷ`` stays an exact fixed-point value."""
        u_hat = self.inner.reconstruct(symbols)
        if offset is not None and offset.dtype == torch.float64:
            v = a_law_inverse(u_hat.double(), self.a.double(), self.radius)
            scale = 2.0**self.frac_bits
            return torch.round(v * scale) / scale + offset
        return self._expand(u_hat, offset)

    def cells(self, values: Tensor, offset: Tensor | None = None) -> Cell:
        u = self._compand(values, offset)
        inner = self.inner.cells(u)
        v = a_law_inverse(u, self.a, self.radius)
        lower = a_law_inverse(u + inner.lower, self.a, self.radius) - v
        upper = a_law_inverse(u + inner.upper, self.a, self.radius) - v
        return Cell(lower, upper)

    def relax_rate(self, y: Tensor, offset: Tensor | None = None) -> Tensor:
        return self.relax_value(y, offset)

    def relax_value(self, y: Tensor, offset: Tensor | None = None) -> Tensor:
        if not self.training:
            return self.round(y, offset)
        u = self._compand(y, offset)
        return self._expand(u + torch.empty_like(u).uniform_(-0.5, 0.5), offset)

    @property
    def grid_offsets(self) -> tuple[float, ...]:  # type: ignore[override]
        return self.inner.grid_offsets

    def side_symbols(self, symbols: Tensor) -> Tensor | None:
        return self.inner.side_symbols(symbols)

    def integer_parts(self, symbols: Tensor, side: Tensor | None) -> Tensor:
        return self.inner.integer_parts(symbols, side)

    def grid_index(self, side: Tensor | None, like: Tensor) -> Tensor:
        """``level · K + k``: the ``A`` level's block of the inner quantizer's ``K`` grids."""
        if self.level is None:
            raise RuntimeError("coding needs the A levels (eval mode)")
        index = self.level.to(torch.int64).expand_as(like) * len(self.inner.grid_offsets)
        inner = self.inner.grid_index(side, like)
        return index if inner is None else index + inner

    def join(self, integers: Tensor, side: Tensor | None) -> Tensor:
        return self.inner.join(integers, side)

    def encode_side(
        self, encoder: Encoder, side: Tensor, scales: Tensor, frac_bits: int | None
    ) -> None:
        self.inner.encode_side(encoder, side, scales, frac_bits)

    def decode_side(self, decoder: Decoder, scales: Tensor, frac_bits: int | None) -> Tensor | None:
        return self.inner.decode_side(decoder, scales, frac_bits)

    def side_statistics(
        self, y: Tensor, offset: Tensor | None, scales: Tensor
    ) -> tuple[Tensor, Tensor] | None:
        return self.inner.side_statistics(self._compand(y.detach(), offset), None, scales)

    def side_likelihoods(
        self, y: Tensor, offset: Tensor | None, scales: Tensor
    ) -> dict[str, Tensor]:
        return self.inner.side_likelihoods(self._compand(y.detach(), offset), None, scales)


class CompandingQuantizer(Quantizer):
    """Holds the inner quantizer and the A-law's constants; heads :meth:`bind` an ``A``.

    Args:
        inner: the quantizer in the companded domain (lattice or scalar).
        radius: the A-law's range ``R`` (``[D]`` 16: a trained ``mbt2018`` latent rarely
            leaves it, so ``A = 1`` changes almost nothing).
        a_max: largest ``A``.
        levels: ``A`` levels for coding, log-spaced in ``[1, a_max]`` (``A = 1`` exact).
        frac_bits: fixed-point bits of the integer path's ``ŷ``.
    """

    offset_free_relaxation = False

    def __init__(
        self,
        inner: Quantizer,
        radius: float = 16.0,
        a_max: float = 16.0,
        levels: int = 8,
        frac_bits: int = 8,
    ) -> None:
        super().__init__()
        if a_max <= 1 or levels < 2:
            raise ValueError(f"companding needs a_max > 1 and >= 2 levels, got {a_max}, {levels}")
        self.inner = inner
        self.radius, self.frac_bits = radius, frac_bits
        log_levels = torch.linspace(0.0, math.log(a_max), levels, dtype=torch.float64)
        self.a_levels: tuple[float, ...] = tuple(math.exp(x) for x in log_levels.tolist())
        self.log_a_bounds: tuple[float, ...] = tuple(
            ((log_levels[1:] + log_levels[:-1]) / 2).tolist()
        )

    @property
    def grid_offsets(self) -> tuple[float, ...]:  # type: ignore[override]
        return self.inner.grid_offsets

    def bind(self, a: Tensor, level: Tensor | None) -> BoundCompander:
        """The quantizer at per-position ``a`` (``B×1×H×W``) of table ``level`` (or None)."""
        return BoundCompander(self.inner, a, level, self.radius, self.frac_bits)

    def set_progress(self, step: int, steps: int) -> None:
        self.inner.set_progress(step, steps)

    def fit_side(self, statistics: list[tuple[Tensor, Tensor]]) -> None:
        self.inner.fit_side(statistics)
