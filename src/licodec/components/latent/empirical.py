"""A latent of fixed centres coded with counts of the picture itself, no learned prior.

For the generative codecs (:mod:`licodec.models.gan`): no prior is learned (``β = 0``);
each file codes its ``C×h×w`` symbols with probabilities taken from the picture's own
symbols, one of two ways, whichever gives the shorter file (``[D]``: the encoder codes
both):

* **adaptive** (:mod:`licodec.components.entropy.adaptive_grid`): counts learnt while
  coding, in the context of each symbol's west and north neighbours. Nothing is stored
  but one method byte. With the shipped ``gan-gc`` it wins on every Kodak picture and
  every CamVid test frame tried (24 and 30), its latent sections 34% / 32% (Kodak, q1 /
  q2) and 29% / 28% (CamVid) below the static way's; the static way remains for pictures
  where it does not win, and for files written before the adaptive way.
* **static**: each channel's frequency table, stored in the file, so the latent codes at
  its channels' empirical entropy, at most ``log2 L`` bits per element (the rate bound)
  plus the table. This is how every file was written before the adaptive way.

Sections (in order):

* ``TABLES``: the single byte :data:`ADAPTIVE` (0, a frequency a stored table never
  holds), or the static tables: ``C·L`` bytes, channel-major; byte ``c·L + k`` is the
  frequency of centre ``k − K`` in channel ``c``, scaled so each channel's most frequent
  centre has 255 and every centre at least 1 (``[D]`` 8 bits per entry: on Kodak the
  shipped ``gan-gc`` q1 / q2 latent sections are 0.7% / 0.4% above the channels' empirical
  entropy, the 2-byte seal included, and the table costs 5 bytes per channel). Any other
  length, another single byte or a zero entry in a table is a :class:`BitstreamError`.
* ``LATENT``: the symbols of every coded position, range coded; static: each channel with
  its row (the row's escape symbol has count 1 and is never written: decoding one is an
  error); adaptive: in diagonal order (:mod:`~licodec.components.entropy.adaptive_grid`).

Masks (:mod:`.base`): positions outside the mask are neither counted nor coded; ``ŷ`` is 0
there (and the adaptive contexts see them as absent neighbours).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from licodec.components.entropy.adaptive_grid import decode_grid, encode_grid
from licodec.components.entropy.coder import Decoder, Encoder
from licodec.components.entropy.tables import IntegerTables
from licodec.components.latent.base import LatentCodec, LatentOutput, masked_rows
from licodec.components.quant.fixed_centres import FixedCentreQuantizer
from licodec.core.bitstream import SectionTag
from licodec.errors import BitstreamError

TABLE_MAX = 255
"""Largest stored frequency (one byte)."""
ADAPTIVE = b"\x00"
"""The ``TABLES`` section of a file coded adaptively."""


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
    """Fixed centres, coded with the picture's own counts, adaptively or with a stored
    table per channel (module docstring).

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
        """``([TABLES, LATENT], ŷ)`` of a ``1×C×h×w`` latent, the shorter of the two ways."""
        symbols = self.quantizer.quantize(y.detach())
        grid = symbols.cpu().numpy().astype(np.int64)
        keep = _grid_mask(mask)
        adaptive = [ADAPTIVE, encode_grid(grid[0] + self.quantizer.bound, self.levels, keep)]
        static = self.static_sections(grid, mask)
        sections = min(static, adaptive, key=lambda s: len(s[0]) + len(s[1]))
        rows = masked_rows(mask, self.channels)
        return sections, (symbols if rows is None else symbols * rows)

    def static_sections(self, symbols: np.ndarray, mask: Tensor | None = None) -> list[bytes]:
        """``[TABLES, LATENT]`` of ``1×C×h×w`` integer symbols the static way."""
        values, channel = self._positions(symbols, mask)
        table = frequency_table(values, channel, self.channels, self.quantizer.bound)
        encoder = Encoder()
        encoder.encode_indexed(values, channel, read_frequency_table(table, *self._layout))
        return [table, encoder.to_bytes()]

    def decompress(
        self, sections: list[bytes], shape: tuple[int, int], mask: Tensor | None = None
    ) -> Tensor:
        table, data = sections
        if table == ADAPTIVE:
            keep = _grid_mask(mask)
            grid = decode_grid(data, (self.channels, *shape), self.levels, keep)
            grid = grid - self.quantizer.bound
            if keep is not None:
                grid[:, ~keep] = 0
            return torch.from_numpy(grid[None]).float()
        if len(table) == 1:
            raise BitstreamError(
                f"corrupt TABLES section: method byte 0x{table[0]:02x} is not adaptive "
                f"(0x{ADAPTIVE[0]:02x}) and one byte is no table"
            )
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
    def levels(self) -> int:
        """``L``, the number of centres."""
        return 2 * self.quantizer.bound + 1

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


def _grid_mask(mask: Tensor | None) -> np.ndarray | None:
    """A ``1×1×h×w`` latent mask as an ``h×w`` bool array (``None`` stays ``None``)."""
    keep = masked_rows(mask, 1)  # checks the B×1×h×w shape
    if keep is None:
        return None
    if keep.shape[0] != 1:
        raise ValueError(f"a picture's latent mask is 1×1×h×w, got {tuple(keep.shape)}")
    return keep[0, 0].cpu().numpy()
