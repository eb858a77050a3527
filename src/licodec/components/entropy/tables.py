"""Integer probability tables: the only thing the entropy coder ever sees.

A table set holds ``L`` discrete distributions. Row ``t`` covers the symbol values
``offset[t] .. offset[t] + length[t] - 2``; its last used entry ``length[t] - 1`` is the
*escape* symbol that stands for any value outside that range (the value itself follows as
raw bits, see :mod:`licodec.components.entropy.coder`). Counts are positive integers that
sum to exactly ``2**PRECISION`` in every row, so every symbol, the escape included, is
codable and encoder and decoder agree bit for bit whatever float arithmetic produced the
distribution in the first place.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PRECISION = 16
"""Counts in a row sum to ``2**PRECISION``."""


def quantize_pmf(pmf: np.ndarray, precision: int = PRECISION) -> np.ndarray:
    """Turn probabilities into integer counts, adding the escape symbol.

    Args:
        pmf: float array ``(..., S)`` of probabilities of the in-range symbols; their sum
            may be below one, the missing mass ``max(0, 1 - sum)`` goes to the escape.
        precision: the counts of each row sum to ``2**precision``.

    Returns:
        int64 array ``(..., S + 1)``: ``floor(p · (2**precision - S - 1)) + 1`` for every
        entry (so each is >= 1), with the rounding remainder added to the row's largest
        entry. Pure integer bookkeeping after one float multiply: deterministic.
    """
    pmf = np.asarray(pmf, dtype=np.float64)
    total = 1 << precision
    n_entries = pmf.shape[-1] + 1
    if n_entries >= total:
        raise ValueError(f"{n_entries} symbols do not fit {precision}-bit tables")
    # In place, in one buffer (the mixtures' coders call this once per front): NaN → 0,
    # clip to [0, 1], escape mass, normalise, scale, floor.
    full = np.empty((*pmf.shape[:-1], n_entries))
    body = full[..., :-1]
    np.fmax(pmf, 0.0, out=body)
    np.minimum(body, 1.0, out=body)
    full[..., -1] = np.clip(1.0 - body.sum(axis=-1), 0.0, 1.0)
    full /= np.maximum(full.sum(axis=-1, keepdims=True), 1e-300)
    full *= total - n_entries
    counts = np.floor(full, out=full).astype(np.int64)
    counts += 1
    return _complete(counts, precision)


def _complete(counts: np.ndarray, precision: int) -> np.ndarray:
    """Add what each row of ``counts`` lacks to ``2**precision`` to its largest entry."""
    remainder = (1 << precision) - counts.sum(axis=-1)
    rows = np.indices(counts.shape[:-1]) if counts.ndim > 1 else ()
    counts[(*rows, np.argmax(counts, axis=-1))] += remainder
    return counts


def quantize_masses(
    masses: np.ndarray, total: np.ndarray, precision: int = PRECISION
) -> np.ndarray:
    """Integer twin of :func:`quantize_pmf` for probabilities given as integer masses.

    Args:
        masses: int64 ``(..., S)``, the in-range symbols' masses out of ``total``; the rest,
            ``total − Σ masses``, goes to the escape.
        total: int64 ``(...)``, positive and below ``2^46`` (so products stay in int64).
        precision: the counts of each row sum to ``2**precision``.

    Returns:
        int64 ``(..., S + 1)``: ``⌊m · (2^precision − S − 1) / total⌋ + 1`` per entry, the
        remainder added to the row's largest entry. Integer operations only.
    """
    masses = np.asarray(masses, dtype=np.int64)
    total = np.asarray(total, dtype=np.int64)[..., None]
    escape = np.maximum(total - masses.sum(axis=-1, keepdims=True), 0)
    full = np.concatenate([masses, escape], axis=-1)
    n_entries = full.shape[-1]
    if n_entries >= 1 << precision:
        raise ValueError(f"{n_entries} symbols do not fit {precision}-bit tables")
    return _complete(full * ((1 << precision) - n_entries) // total + 1, precision)


@dataclass(frozen=True)
class IntegerTables:
    """``L`` integer distributions, padded to a common width.

    Attributes:
        counts: int64 ``(L, W)``; row ``t`` uses entries ``0 .. length[t] - 1``, the last of
            them the escape symbol; entries beyond are zero.
        length: int64 ``(L,)``, number of entries of each row including the escape.
        offset: int64 ``(L,)``, the symbol value coded by entry 0 of each row.
    """

    counts: np.ndarray
    length: np.ndarray
    offset: np.ndarray

    @classmethod
    def from_pmfs(cls, pmfs: list[np.ndarray], offsets: list[int]) -> IntegerTables:
        """Quantize one float pmf per row (each covering ``offset .. offset + len - 1``)."""
        rows = [quantize_pmf(p) for p in pmfs]
        width = max(len(r) for r in rows)
        counts = np.zeros((len(rows), width), dtype=np.int64)
        for t, row in enumerate(rows):
            counts[t, : len(row)] = row
        length = np.array([len(r) for r in rows], dtype=np.int64)
        return cls(counts, length, np.asarray(offsets, dtype=np.int64))

    def __len__(self) -> int:
        return len(self.length)


def ravel_index(indexes: tuple[np.ndarray, ...], sizes: tuple[int, ...]) -> np.ndarray:
    """One table row from several quantized parameters: ``i_0·(n_1·n_2…) + i_1·(n_2…) + …``
    for index arrays ``i_k`` in ``[0, n_k)`` (broadcast), e.g. (scale level, offset)."""
    for index, size in zip(indexes, sizes, strict=True):
        if np.size(index) and (np.min(index) < 0 or np.max(index) >= size):
            raise ValueError(f"table index out of range [0, {size})")
    return np.ravel_multi_index(np.broadcast_arrays(*indexes), sizes)
