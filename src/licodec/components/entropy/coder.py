"""Range coding of integer symbols with escape coding, on top of ``constriction``.

Two ways to give each symbol its distribution:

* *indexed*: symbol ``i`` uses row ``index[i]`` of an :class:`IntegerTables` (factorized,
  Gaussian and Laplace models). Symbols are coded grouped by table row, in a stable order
  both sides derive from the indexes alone, so one ``Categorical`` model per row serves
  thousands of symbols in one call.
* *per-symbol*: each symbol brings its own integer count row and offset (mixtures), coded
  through constriction's batched ``Categorical(perfect=False)`` with an ``(n, S)`` table;
  :meth:`Encoder.encode_categorical` does the same over a closed alphabet, without escapes
  (adaptive models such as the label-map coder's).

A value outside its row's range is coded as the row's escape symbol; after the chunk's
regular symbols each escaped value follows as a sign bit, a 6-bit length ``n`` of
``u = distance beyond the range edge`` (``u >= 1``), and the ``n - 1`` bits of ``u`` below
its leading one — nothing is ever clipped. Encoder and decoder must call the same methods
in the same order with the same indexes or tables: the range coder is a FIFO.

**End of stream.** :meth:`Encoder.to_bytes` closes every stream with a 16-bit *seal*
(the constant :data:`SEAL`, coded uniformly: 2 bytes), and :meth:`Decoder.finish`, called
after the last symbol, reads it back and checks that the range decoder has used up the
stream (constriction's ``maybe_exhausted``, which allows the one word of look-ahead the
coder's state may hold) and that an empty stream held no symbols. A stream decoded with
other probabilities than it was written with — other weights, a forged or cut section —
decodes the seal as a random value, so this turns a silently wrong picture into a
:class:`~licodec.errors.BitstreamError` with probability ``1 − 2^-16`` or better
(``[D]``: 16 bits, not 32, costs 4 bytes per two-section file). Format-v1 files carry no
seal: decode them inside :func:`unsealed_streams`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import constriction
import numpy as np

from licodec.components.entropy.tables import IntegerTables
from licodec.errors import BitstreamError

cmodel = constriction.stream.model
queue = constriction.stream.queue
_BIT = cmodel.Uniform(2)
_LENGTH = cmodel.Uniform(64)
_BATCHED = cmodel.Categorical(perfect=False)
_SEAL_MODEL = cmodel.Uniform(1 << 16)
SEAL = 0xA55A
"""The value that closes every stream (see module docstring)."""
_SEALED: ContextVar[bool] = ContextVar("licodec_sealed_streams", default=True)


@contextmanager
def unsealed_streams() -> Iterator[None]:
    """Inside the block, decoders expect no seal (streams of format-v1 files)."""
    token = _SEALED.set(False)
    try:
        yield
    finally:
        _SEALED.reset(token)


class _ModelCache:
    """One constriction ``Categorical`` per table row, built on first use."""

    def __init__(self) -> None:
        self._tables: IntegerTables | None = None
        self._models: dict[int, cmodel.Categorical] = {}

    def get(self, tables: IntegerTables, row: int) -> cmodel.Categorical:
        if self._tables is not tables:
            self._tables, self._models = tables, {}
        model = self._models.get(row)
        if model is None:
            counts = tables.counts[row, : tables.length[row]].astype(np.float64)
            model = cmodel.Categorical(counts, perfect=False)
            self._models[row] = model
        return model


def _group_order(index: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stable order of positions by table row, with each run's row and boundaries."""
    order = np.argsort(index, kind="stable")
    rows, starts = np.unique(index[order], return_index=True)
    ends = np.append(starts[1:], len(order)) if len(order) else starts
    return order, rows, np.stack([starts, ends], axis=1)


class Encoder:
    """Collects symbols; :meth:`to_bytes` returns the finished stream."""

    def __init__(self) -> None:
        self._coder = queue.RangeEncoder()
        self._models = _ModelCache()

    def encode_indexed(self, values: np.ndarray, index: np.ndarray, tables: IntegerTables) -> None:
        """Code integer ``values`` (any shape) where value ``i`` uses table row ``index[i]``."""
        values = np.asarray(values, dtype=np.int64).ravel()
        index = np.asarray(index, dtype=np.int64).ravel()
        symbols = values - tables.offset[index]
        escape = tables.length[index] - 1
        outside = (symbols < 0) | (symbols >= escape)
        symbols = np.where(outside, escape, symbols).astype(np.int32)
        order, rows, bounds = _group_order(index)
        for row, (start, end) in zip(rows, bounds, strict=True):
            self._coder.encode(symbols[order[start:end]], self._models.get(tables, int(row)))
        lo = tables.offset[index]
        self._encode_escapes(values[outside], lo[outside], lo[outside] + escape[outside] - 1)

    def encode_per_symbol(self, values: np.ndarray, offset: np.ndarray, counts: np.ndarray) -> None:
        """Code ``values`` (n,) with their own count rows ``counts`` (n, S+1), escape last."""
        values = np.asarray(values, dtype=np.int64).ravel()
        escape = counts.shape[1] - 1
        symbols = values - offset
        outside = (symbols < 0) | (symbols >= escape)
        symbols = np.where(outside, escape, symbols).astype(np.int32)
        if len(values):
            self._coder.encode(symbols, _BATCHED, counts.astype(np.float64))
        self._encode_escapes(values[outside], offset[outside], offset[outside] + escape - 1)

    def encode_categorical(self, symbols: np.ndarray, counts: np.ndarray) -> None:
        """Code ``symbols`` (n,) in ``[0, S)`` with their own count rows ``counts`` (n, S); no
        escape: a symbol outside its alphabet is a caller's error."""
        if len(symbols):
            symbols = np.asarray(symbols, dtype=np.int32)
            self._coder.encode(symbols, _BATCHED, counts.astype(np.float64))

    def _encode_escapes(self, values: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> None:
        for value, low, high in zip(values.tolist(), lo.tolist(), hi.tolist(), strict=True):
            below = value < low
            distance = (low - value) if below else (value - high)
            n_bits = distance.bit_length()
            self._coder.encode(np.array([int(below)], dtype=np.int32), _BIT)
            self._coder.encode(np.array([n_bits - 1], dtype=np.int32), _LENGTH)
            if n_bits > 1:
                bits = [(distance >> k) & 1 for k in range(n_bits - 2, -1, -1)]
                self._coder.encode(np.array(bits, dtype=np.int32), _BIT)

    def to_bytes(self) -> bytes:
        """Seal the stream and return it as little-endian 32-bit words (call once)."""
        self._coder.encode(np.array([SEAL], dtype=np.int32), _SEAL_MODEL)
        return self._coder.get_compressed().astype("<u4").tobytes()


class Decoder:
    """Reads back what :class:`Encoder` wrote, given the same indexes and tables."""

    def __init__(self, data: bytes) -> None:
        if len(data) % 4:
            raise BitstreamError(f"corrupted section: {len(data)} bytes is not whole 32-bit words")
        words = np.frombuffer(data, dtype="<u4").astype(np.uint32)
        self._coder = queue.RangeDecoder(words)
        self._models = _ModelCache()
        self._empty = not len(words)
        self._symbols = 0
        self._sealed = _SEALED.get()

    def _read(self, *args: object) -> np.ndarray:
        """``RangeDecoder.decode(*args)``; constriction's own failures (an assertion on data
        no encoder wrote) become :class:`BitstreamError`."""
        try:
            symbols = self._coder.decode(*args)
        except (AssertionError, ValueError, RuntimeError, OverflowError) as err:
            raise BitstreamError(f"corrupted section: the range decoder failed ({err})") from err
        self._symbols += np.size(symbols)
        return symbols

    def finish(self) -> None:
        """Check that the stream ended where the encoder's did (module docstring).

        Raises:
            BitstreamError: the seal is wrong, bytes are left over, the decoder read past
                the end, or an empty stream was asked for symbols.
        """
        empty_with_symbols = self._empty and self._symbols
        if self._sealed and int(self._read(_SEAL_MODEL, 1)[0]) != SEAL:
            raise BitstreamError(
                "corrupted section or other weights: the stream's closing seal is wrong"
            )
        if empty_with_symbols or not self._coder.maybe_exhausted():
            raise BitstreamError(
                "corrupted section or other weights: the range decoder did not end where the "
                "encoder's stream ended"
            )

    def decode_indexed(self, index: np.ndarray, tables: IntegerTables) -> np.ndarray:
        """Decode one value per entry of ``index``; returns int64 of ``index``'s shape."""
        shape = np.shape(index)
        index = np.asarray(index, dtype=np.int64).ravel()
        symbols = np.empty(len(index), dtype=np.int64)
        order, rows, bounds = _group_order(index)
        for row, (start, end) in zip(rows, bounds, strict=True):
            model = self._models.get(tables, int(row))
            symbols[order[start:end]] = self._read(model, int(end - start))
        lo = tables.offset[index]
        escape = tables.length[index] - 1
        values = symbols + lo
        outside = symbols == escape
        values[outside] = self._decode_escapes(lo[outside], lo[outside] + escape[outside] - 1)
        return values.reshape(shape)

    def decode_per_symbol(self, offset: np.ndarray, counts: np.ndarray) -> np.ndarray:
        """Decode ``len(offset)`` values with count rows ``counts`` (n, S+1)."""
        if len(offset) == 0:
            return np.zeros(0, dtype=np.int64)
        escape = counts.shape[1] - 1
        symbols = self._read(_BATCHED, counts.astype(np.float64)).astype(np.int64)
        values = symbols + offset
        outside = symbols == escape
        values[outside] = self._decode_escapes(offset[outside], offset[outside] + escape - 1)
        return values

    def decode_categorical(self, counts: np.ndarray) -> np.ndarray:
        """Decode one symbol in ``[0, S)`` per row of ``counts`` (n, S)."""
        if len(counts) == 0:
            return np.zeros(0, dtype=np.int64)
        return self._read(_BATCHED, counts.astype(np.float64)).astype(np.int64)

    def _decode_escapes(self, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        out = np.empty(len(lo), dtype=np.int64)
        for i, (low, high) in enumerate(zip(lo.tolist(), hi.tolist(), strict=True)):
            below = int(self._read(_BIT, 1)[0])
            n_bits = int(self._read(_LENGTH, 1)[0]) + 1
            distance = 1
            if n_bits > 1:
                for bit in self._read(_BIT, n_bits - 1).tolist():
                    distance = (distance << 1) | int(bit)
            out[i] = low - distance if below else high + distance
        return out
