"""Semantic label maps and keep-rules of selective generative compression, and their bytes.

**Label maps** are ``H×W`` arrays of class ids (``uint8``, ``0 … classes − 1``), read from
8-bit grey or palette PNGs (the CamVid layout, ``../shared/data/camvid``). In a file they are
stored losslessly in a ``LABELS`` section by the context coder of
:mod:`licodec.components.entropy.label_map`; files written before it hold a raw LZMA2 stream
of the row-major ids, read by :func:`decode_lzma2_label_map`.

**Keep-rules** say which latent positions are coded (the rest the generator synthesises
from the labels): all of them, those whose 16×16 block holds a pixel of one of a set of
classes (``--keep-classes car,pedestrian``), or those whose block holds a kept pixel of an
explicit pixel mask (a box, a mask PNG). ``[D]`` "any pixel of the block": a kept object
is never cut. A rule may also keep a **margin** of ``r`` blocks around every kept block (the
mask dilated by a ``(2r+1)×(2r+1)`` square): the generator draws each block from its
neighbours too, so a kept object whose surround is synthesised comes out further from the
encoder's picture than the same object in a file that keeps everything; a coded ring brings
it closer for the ring's bits. ``[D]`` :data:`DEFAULT_MARGIN` = 1 block: on the CamVid val frames
it brought ``gan-sc``'s kept objects from 0.23 dB below ``gan-gc``'s pixels to 0.02 dB (q2;
q1 0.17 to 0.03) for 0.004 bpp more latent (4% of the file), and 2 blocks added nothing
(``benchmarks/gan.py --keep-margin``; README). A ``MASK`` section stores the rule, not the mask,
where the decoder can rebuild it: one mode byte (0 all, 1 classes, 2 explicit), then for
classes a 16-bit set and, for a margin, one byte ``r`` (1 … :data:`MAX_MARGIN`), for an
explicit mask the packed latent bits (row-major, a raw LZMA2 stream; the margin applied).
"""

from __future__ import annotations

import lzma
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from licodec.errors import BitstreamError, ImageInputError

_FILTERS = [{"id": lzma.FILTER_LZMA2, "preset": 9 | lzma.PRESET_EXTREME}]
MAX_CLASSES = 16
"""Most classes a keep-rule's class set can name (its 16-bit field)."""
MAX_MARGIN = 15
"""Widest margin (latent blocks) a keep-rule may add around its kept blocks."""
DEFAULT_MARGIN = 1
"""The margin of a keep-rule that names none (module docstring)."""


def _pack(data: bytes) -> bytes:
    return lzma.compress(data, format=lzma.FORMAT_RAW, filters=_FILTERS)


def _unpack(data: bytes, size: int, what: str) -> bytes:
    """The ``size`` bytes of an LZMA2 stream, or a :class:`BitstreamError`."""
    try:
        decoder = lzma.LZMADecompressor(format=lzma.FORMAT_RAW, filters=_FILTERS)
        out = decoder.decompress(data, max_length=size + 1)
    except lzma.LZMAError as err:
        raise BitstreamError(f"corrupted {what} section: {err}") from err
    if len(out) != size or not decoder.eof or decoder.unused_data:
        raise BitstreamError(f"corrupted {what} section: it does not hold {size} bytes exactly")
    return out


def read_label_map(path: Path | str) -> np.ndarray:
    """An ``H×W`` uint8 label map from a grey or palette PNG (palette indices are the ids).

    Raises:
        ImageInputError: unreadable, or not a one-channel 8-bit image.
    """
    try:
        with Image.open(path) as image:
            image.load()
            if image.mode not in ("L", "P"):
                raise ImageInputError(
                    f"{path}: a label map is an 8-bit grey or palette PNG of class ids, got "
                    f"mode {image.mode}"
                )
            return np.asarray(image, dtype=np.uint8).copy()
    except OSError as err:
        raise ImageInputError(f"{path}: cannot read the label map ({err})") from err


def check_label_map(labels: np.ndarray, height: int, width: int, classes: int) -> None:
    """Refuse a label map of another size than the picture or with ids out of range.

    Raises:
        ImageInputError: the mismatch, in one line.
    """
    if labels.ndim != 2 or labels.shape != (height, width):
        raise ImageInputError(
            f"the label map is {'×'.join(map(str, labels.shape))}, the picture "
            f"{height}×{width}: they must have the same size"
        )
    top = int(labels.max()) if labels.size else 0
    if top >= classes:
        raise ImageInputError(f"label map holds class id {top}, ids must be below {classes}")


def decode_lzma2_label_map(data: bytes, height: int, width: int, classes: int) -> np.ndarray:
    """The label map of a legacy ``LABELS`` section (a raw LZMA2 stream of the ids).

    Raises:
        BitstreamError: the stream is corrupt, of another size, or holds ids out of range.
    """
    ids = np.frombuffer(_unpack(data, height * width, "LABELS"), dtype=np.uint8)
    if ids.size and int(ids.max()) >= classes:
        raise BitstreamError(f"corrupted LABELS section: class id {int(ids.max())} >= {classes}")
    return ids.reshape(height, width).copy()


def block_any(pixels: np.ndarray, stride: int, shape: tuple[int, int]) -> np.ndarray:
    """``h×w`` bool: whether each ``stride``×``stride`` block of the ``H×W`` bool mask holds a
    true pixel (the mask padded with false to ``shape``·``stride``)."""
    h, w = shape
    padded = np.zeros((h * stride, w * stride), dtype=bool)
    padded[: pixels.shape[0], : pixels.shape[1]] = pixels
    return padded.reshape(h, stride, w, stride).any(axis=(1, 3))


@dataclass(frozen=True)
class KeepRule:
    """Which latent positions are coded (module docstring): all (every field ``None``), those
    of blocks with one of ``classes``, of blocks that meet ``box = (x0, y0, x1, y1)`` (the
    pixels ``x0 ≤ x < x1``, ``y0 ≤ y < y1``), or of blocks with a true pixel of ``pixels``
    (``H×W`` bool, e.g. a mask PNG)."""

    classes: frozenset[int] | None = None
    box: tuple[int, int, int, int] | None = None
    pixels: np.ndarray | None = None
    margin: int = DEFAULT_MARGIN
    """Latent blocks kept around each kept block (module docstring); files before the margin
    existed decode with 0."""

    def __post_init__(self) -> None:
        if not 0 <= self.margin <= MAX_MARGIN:
            raise ImageInputError(
                f"a keep margin is 0 … {MAX_MARGIN} latent blocks, got {self.margin}"
            )

    @classmethod
    def mask_png(cls, path: Path | str) -> KeepRule:
        """Keep the blocks with a non-zero pixel of a one-channel PNG (of the picture's size)."""
        return cls(pixels=read_label_map(path) > 0)

    @property
    def explicit(self) -> bool:
        """Whether the decoder needs the mask itself (it cannot rebuild it from the labels)."""
        return self.box is not None or self.pixels is not None

    def pixel_mask(self, labels: np.ndarray | None, height: int, width: int) -> np.ndarray | None:
        """The ``H×W`` bool pixel mask (``None``: keep all).

        Raises:
            ImageInputError: a box or mask that does not fit the picture, classes without a
                label map.
        """
        if self.classes is not None:
            if labels is None:
                raise ImageInputError("keeping classes needs a label map (--labels)")
            return np.isin(labels, sorted(self.classes))
        if self.box is not None:
            x0, y0, x1, y1 = self.box
            if not (0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height):
                raise ImageInputError(
                    f"box {x0},{y0},{x1},{y1} is empty or outside the {width}×{height} picture"
                )
            pixels = np.zeros((height, width), dtype=bool)
            pixels[y0:y1, x0:x1] = True
            return pixels
        if self.pixels is not None and self.pixels.shape != (height, width):
            raise ImageInputError(
                f"the keep-mask is {self.pixels.shape[0]}×{self.pixels.shape[1]}, the picture "
                f"{height}×{width}: they must have the same size"
            )
        return self.pixels

    def latent_mask(
        self, labels: np.ndarray | None, height: int, width: int, stride: int
    ) -> np.ndarray:
        """The ``⌈H/stride⌉×⌈W/stride⌉`` bool keep-mask at latent resolution.

        Raises:
            ImageInputError: the rule keeps nothing, or does not fit (:meth:`pixel_mask`).
        """
        shape = (-(-height // stride), -(-width // stride))
        pixels = self.pixel_mask(labels, height, width)
        if pixels is None:
            return np.ones(shape, dtype=bool)
        mask = block_any(pixels, stride, shape)
        if self.margin:
            from scipy import ndimage  # here, not at the top: it adds 0.1 s to every CLI start

            mask = ndimage.maximum_filter(mask, size=2 * self.margin + 1, mode="constant")
        if not mask.any():
            what = "classes " + ",".join(map(str, sorted(self.classes))) if self.classes else "mask"
            raise ImageInputError(f"the keep-mask keeps nothing: no pixel of the {what} is kept")
        return mask

    def to_bytes(self, mask: np.ndarray) -> bytes:
        """The ``MASK`` section of this rule, whose latent mask is ``mask``."""
        if self.classes is not None:
            bits = sum(1 << c for c in self.classes)
            margin = bytes([self.margin]) if self.margin else b""
            return bytes([1]) + bits.to_bytes(2, "little") + margin
        if self.explicit:
            return bytes([2]) + _pack(np.packbits(mask.ravel()).tobytes())
        return bytes([0])

    @classmethod
    def from_bytes(cls, data: bytes, shape: tuple[int, int]) -> tuple[KeepRule, np.ndarray | None]:
        """The rule of a ``MASK`` section for a latent of ``shape``, and its latent mask when
        stored explicitly (the rule then holds that mask as its ``pixels``).

        Raises:
            BitstreamError: an unknown mode, a wrong length, an empty class set or mask.
        """
        if not data or data[0] > 2:
            raise BitstreamError("corrupted MASK section: unknown keep-rule mode")
        mode, body = data[0], data[1:]
        if mode == 0:
            if body:
                raise BitstreamError("corrupted MASK section: bytes after the 'all' mode")
            return cls(), None
        if mode == 1:
            if len(body) not in (2, 3) or not int.from_bytes(body[:2], "little"):
                raise BitstreamError("corrupted MASK section: a class set is 2 non-zero bytes")
            margin = body[2] if len(body) == 3 else 0
            if len(body) == 3 and not 1 <= margin <= MAX_MARGIN:
                raise BitstreamError(
                    f"corrupted MASK section: a stored margin is 1 … {MAX_MARGIN} blocks"
                )
            bits = int.from_bytes(body[:2], "little")
            classes = frozenset(c for c in range(MAX_CLASSES) if bits >> c & 1)
            return cls(classes=classes, margin=margin), None
        count = shape[0] * shape[1]
        packed = np.frombuffer(_unpack(body, (count + 7) // 8, "MASK"), dtype=np.uint8)
        mask = np.unpackbits(packed)[:count].astype(bool).reshape(shape)
        if not mask.any():
            raise BitstreamError("corrupted MASK section: the stored mask keeps nothing")
        return cls(pixels=mask, margin=0), mask  # the stored mask holds its margin


def parse_classes(text: str, names: tuple[str, ...]) -> frozenset[int]:
    """Class ids of a comma-separated list of names or ids (``"car,pedestrian"``, ``"8,9"``).

    Raises:
        ImageInputError: an unknown name or an id out of range.
    """
    ids = set()
    for item in (part.strip() for part in text.split(",")):
        if item.isdigit() and int(item) < len(names):
            ids.add(int(item))
        elif item in names:
            ids.add(names.index(item))
        else:
            raise ImageInputError(
                f"unknown class {item!r}; classes: {', '.join(names)} (or ids 0..{len(names) - 1})"
            )
    if not ids:
        raise ImageInputError("--keep-classes names no class")
    return frozenset(ids)
