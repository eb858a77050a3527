"""A latent of fixed centres coded with each channel's own frequency table, stored in the file.

For the generative codecs (:mod:`licodec.models.gan`): no prior is learned (``β = 0``); the
encoder counts how often each channel of *this* picture takes each of the ``L`` centres and
stores those counts, so the file codes close to the empirical entropy of every channel, at
most ``log2 L`` bits per element (the rate bound) plus the table.

Sections (in order):

* ``TABLES``: ``C·L`` bytes, channel-major; byte ``c·L + k`` is the frequency of centre
  ``k − K`` in channel ``c``, scaled so each channel's most frequent centre has 255 and
  every centre at least 1 (``[D]`` 8 bits per entry: on Kodak the shipped ``gan-gc`` q1 / q2
  latent sections are 0.7% / 0.4% above the channels' empirical entropy, the 2-byte seal
  included, and the table costs 5 bytes per channel). A zero entry, or a section of another
  length, is a :class:`BitstreamError`.
* ``LATENT``: the symbols of every coded position, range coded (each channel with its row;
  the row's escape symbol has count 1 and is never written: decoding one is an error).

Masks (:mod:`.base`): positions outside the mask are neither counted nor coded; ``ŷ`` is 0
there.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from licodec.components.entropy.coder import Decoder, Encoder
from licodec.components.entropy.tables import IntegerTables
from licodec.components.latent.base import LatentCodec, LatentOutput, masked_rows
from licodec.components.quant.fixed_centres import FixedCentreQuantizer
from licodec.core.bitstream import SectionTag
from licodec.errors import BitstreamError

TABLE_MAX = 255
"""Largest stored frequency (one byte)."""


def frequency_table(symbols: np.ndarray, channel: np.ndarray, channels: int, bound: int) -> bytes:
    """The ``TABLES`` section of integer ``symbols`` in ``[−bound, bound]`` of the given
    ``channel`` (both flat): per channel, counts scaled to ``1 … 255`` (see module docstring)."""
    levels = 2 * bound + 1
    counts = np.zeros((channels, levels), dtype=np.int64)
    np.add.at(counts, (channel, symbols + bound), 1)
    peak = np.maximum(counts.max(axis=1, keepdims=True), 1)
    scaled = np.clip((counts * TABLE_MAX + peak // 2) // peak, 1, TABLE_MAX)
    return scaled.astype(np.uint8).tobytes()


def read_frequency_table(data: bytes, channels: int, bound: int) -> IntegerTables:
    """The coding tables of a ``TABLES`` section (one row per channel, escape last).

    Raises:
        BitstreamError: the section has another length or holds a zero frequency.
    """
    levels = 2 * bound + 1
    if len(data) != channels * levels:
        raise BitstreamError(
            f"corrupt frequency table: {len(data)} bytes, {channels} channels × {levels} "
            f"centres need {channels * levels}"
        )
    stored = np.frombuffer(data, dtype=np.uint8).reshape(channels, levels).astype(np.int64)
    if not stored.all():
        raise BitstreamError("corrupt frequency table: a centre has frequency 0")
    counts = np.concatenate([stored, np.ones((channels, 1), dtype=np.int64)], axis=1)
    return IntegerTables(
        counts,
        np.full(channels, levels + 1, dtype=np.int64),
        np.full(channels, -bound, dtype=np.int64),
    )


class EmpiricalTableLatentCodec(LatentCodec):
    """Fixed centres, each channel coded with its stored frequency table (module docstring).

    Args:
        channels: ``C``.
        quantizer: the fixed-centre quantizer (default: 5 centres).
    """

    def __init__(self, channels: int, quantizer: FixedCentreQuantizer | None = None) -> None:
        super().__init__()
        self.channels = channels
        self.quantizer = quantizer if quantizer is not None else FixedCentreQuantizer()

    @property
    def section_tags(self) -> tuple[SectionTag, ...]:
        return (SectionTag.TABLES, SectionTag.LATENT)

    @property
    def calibrated(self) -> bool:
        return True  # no network decides a probability

    def forward(self, y: Tensor, mask: Tensor | None = None) -> LatentOutput:
        """``ŷ`` (zero outside the mask) and no likelihoods: there is no rate term."""
        y_hat = self.quantizer.relax_value(y)
        if mask is not None:
            y_hat = y_hat * masked_rows(mask, self.channels)
        return LatentOutput(y_hat, {})

    def compress(self, y: Tensor, mask: Tensor | None = None) -> tuple[list[bytes], Tensor]:
        symbols = self.quantizer.quantize(y.detach())
        values, channel = self._positions(symbols.cpu().numpy().astype(np.int64), mask)
        table = frequency_table(values, channel, self.channels, self.quantizer.bound)
        encoder = Encoder()
        encoder.encode_indexed(values, channel, read_frequency_table(table, *self._layout))
        keep = masked_rows(mask, self.channels)
        y_hat = symbols if keep is None else symbols * keep
        return [table, encoder.to_bytes()], y_hat

    def decompress(
        self, sections: list[bytes], shape: tuple[int, int], mask: Tensor | None = None
    ) -> Tensor:
        table, data = sections
        tables = read_frequency_table(table, *self._layout)
        grid = np.zeros((1, self.channels, *shape), dtype=np.int64)
        _, channel = self._positions(grid, mask)
        decoder = Decoder(data)
        values = decoder.decode_indexed(channel, tables)
        decoder.finish()
        bound = self.quantizer.bound
        if values.size and (values.min() < -bound or values.max() > bound):
            raise BitstreamError("corrupted section: a latent symbol outside the centres")
        keep = masked_rows(mask, self.channels)
        if keep is None:
            return torch.from_numpy(values.reshape(grid.shape)).float()
        grid[keep.cpu().numpy()] = values
        return torch.from_numpy(grid).float()

    @property
    def _layout(self) -> tuple[int, int]:
        return self.channels, self.quantizer.bound

    def _positions(self, symbols: np.ndarray, mask: Tensor | None) -> tuple[np.ndarray, np.ndarray]:
        """The coded symbols of a ``1×C×H×W`` array and their channels, in ``C×H×W`` order
        (only the positions the mask keeps)."""
        channel = np.broadcast_to(np.arange(self.channels)[None, :, None, None], symbols.shape)
        keep = masked_rows(mask, self.channels)
        if keep is None:
            return symbols.ravel(), channel.ravel()
        chosen = keep.cpu().numpy()
        return symbols[chosen], channel[chosen]
