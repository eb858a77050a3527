"""The quantizer interface: how a latent becomes symbols, and what each symbol's cell is.

A quantizer maps a latent ``y`` (any shape) and an optional *offset* ``μ`` (the location the
quantization grid is centred on, e.g. a predicted mean; ``None`` means 0) to

* **symbols** (:meth:`Quantizer.quantize`): what the entropy coder codes — integer-valued
  tensors for scalar rounding; integer parts plus coset bits, or centre indices, for others;
* a **reconstruction** (:meth:`Quantizer.reconstruct`): ``ŷ`` from the symbols. On the
  integer path the offset is an exact float64 fixed-point value and ``ŷ`` is exact too;
* each symbol's **cell** (:meth:`Quantizer.cells`): the interval of ``y`` that quantizes to
  it, as offsets ``(lower, upper)`` from its reconstruction, so an entropy model gives the
  symbol the probability mass of that interval (``P = F(ŷ + upper) − F(ŷ + lower)``);
* two **training relaxations**: :meth:`Quantizer.relax_rate`, a differentiable stand-in for
  the value whose likelihood is the rate term, and :meth:`Quantizer.relax_value`, the value
  passed on to the synthesis (or the context model). In eval mode both are the hard
  reconstruction, exactly what the codec produces;
* :meth:`Quantizer.set_progress`: called by the training loop at every step, for annealed
  temperatures (a no-op for quantizers without one).

**Coding.** Symbols may carry *side symbols* (lattice coset bits,
:meth:`Quantizer.side_symbols`), coded first (:meth:`encode_side` / :meth:`decode_side`,
under the scales both sides know). Given them, a conditional entropy model codes each
symbol's integer part (:meth:`integer_parts`, inverted by :meth:`join`) with the tables of
its grid (:meth:`grid_index`, an index into ``grid_offsets``). Side symbols report their
likelihoods under their own names (:meth:`side_likelihoods`). Scalar rounding has one grid
and no side symbols: its symbols are coded as they are. A quantizer whose cells are not unit
intervals on those grids (learned centres) says so with :attr:`owns_table_cells` and gives
the conditional's tables their edges (:meth:`table_edges`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from torch import Tensor, nn

if TYPE_CHECKING:
    from licodec.components.entropy.coder import Decoder, Encoder


@dataclass(frozen=True)
class Cell:
    """The interval ``[ŷ + lower, ŷ + upper]`` of ``y`` that quantizes to ``ŷ``.

    ``lower`` and ``upper`` are floats (the same cell for every symbol) or tensors of the
    symbols' shape.
    """

    lower: float | Tensor
    upper: float | Tensor

    @property
    def unit(self) -> bool:
        """Whether this is the unit cell ``[−½, ½]`` of scalar rounding."""
        return isinstance(self.lower, float) and (self.lower, self.upper) == (-0.5, 0.5)


UNIT_CELL = Cell(-0.5, 0.5)


def centred(y: Tensor, offset: Tensor | None) -> Tensor:
    """``y − μ`` (``y`` itself without an offset)."""
    return y if offset is None else y - offset


def uncentred(v: Tensor, offset: Tensor | None) -> Tensor:
    """``v + μ``, the inverse of :func:`centred`."""
    return v if offset is None else v + offset


class Quantizer(nn.Module):
    """Interface of the quantizers (see module docstring)."""

    def quantize(self, y: Tensor, offset: Tensor | None = None) -> Tensor:
        """The symbols of ``y`` on the grid centred at ``offset``."""
        raise NotImplementedError

    def reconstruct(self, symbols: Tensor, offset: Tensor | None = None) -> Tensor:
        """``ŷ`` of ``symbols``."""
        raise NotImplementedError

    def cells(self, values: Tensor, offset: Tensor | None = None) -> Cell:
        """The cell around each of ``values`` (reconstructions, or their training stand-ins)."""
        raise NotImplementedError

    def round(self, y: Tensor, offset: Tensor | None = None) -> Tensor:
        """``reconstruct(quantize(y))``: what the codec turns ``y`` into."""
        return self.reconstruct(self.quantize(y, offset), offset)

    def relax_rate(self, y: Tensor, offset: Tensor | None = None) -> Tensor:
        """Training: the stand-in whose likelihood is the rate; eval: :meth:`round`."""
        raise NotImplementedError

    def relax_value(self, y: Tensor, offset: Tensor | None = None) -> Tensor:
        """Training: the value passed on (to ``g_s`` or the context); eval: :meth:`round`."""
        raise NotImplementedError

    def set_progress(self, step: int, steps: int) -> None:
        """Training progress ``step`` of ``steps`` (annealed temperatures); nothing here."""

    offset_free_relaxation: bool = True
    """Whether ``relax_rate(y)`` is meaningful without the offset (additive noise is; a
    lattice point depends on where the grid is centred)."""

    grid_offsets: tuple[float, ...] = (0.0,)
    """Offset from the centre of each grid a symbol's integer part may lie on."""

    owns_table_cells: bool = False
    """Whether the conditional's tables must integrate this quantizer's cells
    (:meth:`table_edges`) rather than unit cells on ``grid_offsets`` (learned centres)."""

    def table_edges(self, grid: int, symbols: Tensor) -> tuple[Tensor, Tensor]:
        """Cell edges ``(lower, upper)`` relative to the mean of integer ``symbols`` (float64)
        on grid ``grid``, for tables (only when :attr:`owns_table_cells`)."""
        raise NotImplementedError(f"{type(self).__name__} codes on unit cells")

    def table_slack(self) -> float:
        """How far (at most) the cell centres of :meth:`table_edges` stray from the integers."""
        raise NotImplementedError(f"{type(self).__name__} codes on unit cells")

    def side_symbols(self, symbols: Tensor) -> Tensor | None:
        """The side symbols ``symbols`` carry (coded before them), or ``None``."""
        return None

    def integer_parts(self, symbols: Tensor, side: Tensor | None) -> Tensor:
        """What the conditional codes of each symbol, given its side symbols."""
        return symbols

    def grid_index(self, side: Tensor | None, like: Tensor) -> Tensor | None:
        """Each element's grid (index into ``grid_offsets``) from the side symbols, for the
        elements of ``like``; ``None`` with a single grid."""
        return None

    def join(self, integers: Tensor, side: Tensor | None) -> Tensor:
        """Inverse of :meth:`integer_parts`."""
        return integers

    def encode_side(
        self, encoder: Encoder, side: Tensor, scales: Tensor, frac_bits: int | None
    ) -> None:
        """Code side symbols under the scales both sides know."""
        raise NotImplementedError(f"{type(self).__name__} has no side symbols")

    def decode_side(self, decoder: Decoder, scales: Tensor, frac_bits: int | None) -> Tensor | None:
        """Read the side symbols back (``None`` for quantizers without any)."""
        return None

    def side_statistics(
        self, y: Tensor, offset: Tensor | None, scales: Tensor
    ) -> tuple[Tensor, Tensor] | None:
        """``(side symbols, their table rows)`` the codec would code for ``y`` (calibration
        data of :meth:`fit_side`), or ``None`` without side symbols."""
        return None

    def fit_side(self, statistics: list[tuple[Tensor, Tensor]]) -> None:
        """Fit the side symbols' model to calibration ``statistics`` (nothing here)."""

    def side_likelihoods(
        self, y: Tensor, offset: Tensor | None, scales: Tensor
    ) -> dict[str, Tensor]:
        """Likelihoods of the side symbols the codec would code for ``y`` (the hard
        quantization, whatever the training relaxation), by name (none here)."""
        return {}
