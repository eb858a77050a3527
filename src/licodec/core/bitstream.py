"""The ``.lic`` container: a validated header, tagged length-prefixed sections and a CRC32.

Format version 2 (all integers big-endian)::

    magic        4  bytes  b"\\x89LIC"
    version      u8        2
    name_len     u8        length of the model name (1..255)
    model        name_len  ASCII model name, e.g. "mbt2018-mean"
    quality      u8        1..255
    height       u32       original picture height in pixels (1..65536)
    width        u32       original picture width in pixels (1..65536)
    format       u8        CodedFormat: the planes the model coded
    mode         u8        ColourMode: how the picture is returned (see core.colour.RETURNABLE)
    flags        u16       Flags, owned by the container
    model_flags  u8        bits owned by the model (validated by it, e.g. enhancement switches)
    weights_id   u32       hash of the weights the file was written with (weights_id())
    n_sections   u8        0..MAX_SECTIONS
    n_sections × (tag u8 SectionTag, length u32, bytes)
    crc32        u32       zlib.crc32 of every byte before it

Version 1 (still read, never written) has no format, model flags, weights id or tags::

    magic, version=1, name_len, model, quality, height, width, colour u8, flags u16,
    n_sections u8, n_sections × (length u32, bytes), crc32

A v1 file reads as ``format = RGB444``, ``mode = colour``, ``model_flags = 0``,
``weights_id = None`` (unknown: no check) and ``tags = None`` (untagged).

:func:`unpack` checks the size, magic and CRC before it reads any field, then checks every
field and that the sections fill the file exactly, so a truncated, corrupted or foreign file
raises :class:`~licodec.errors.BitstreamError` naming the problem. What the fields must be
*for a given model* (its tags, its flag bits, its weights id) is checked by the codec.
"""

from __future__ import annotations

import enum
import struct
import zlib
from dataclasses import dataclass, field

from licodec.core.colour import RETURNABLE, CodedFormat, ColourMode
from licodec.errors import BitstreamError

MAGIC = b"\x89LIC"
FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)
MAX_SIDE = 1 << 16
MAX_SECTIONS = 16
_V1_FIXED = struct.Struct(">BIIBHB")  # quality, height, width, colour, flags, n_sections
_V2_FIXED = struct.Struct(">BIIBBHBIB")  # ... format, mode, flags, model_flags, id, n_sections
_MIN_SIZE = len(MAGIC) + 2 + 1 + _V1_FIXED.size + 4
HEADER_OVERHEAD_MAX = len(MAGIC) + 2 + 255 + _V2_FIXED.size + 5 * MAX_SECTIONS + 4
"""Most bytes a file spends outside its sections' payloads (header, tags, lengths, CRC)."""


class Flags(enum.IntFlag):
    """Per-file switches of the container. Unknown bits are rejected so old decoders never
    misread new files."""

    NONE = 0
    INTEGER_PATH = 1  # entropy parameters were computed by the fixed-point path


class SectionTag(enum.IntEnum):
    """What a section holds. Range-coded sections (:data:`ENTROPY_CODED`) are checked to end
    exactly where the encoder's stream ended."""

    HYPER = 1  # range-coded hyper-latent ẑ
    LATENT = 2  # range-coded latent ŷ
    COSET = 3  # range-coded coset bits (lattice quantizers)
    TABLES = 4  # frequency tables stored in the file
    LABELS = 5  # a losslessly coded label map
    MASK = 6  # a keep-mask of latent positions
    SEED = 7  # a noise seed
    ICC = 8  # the input picture's ICC profile, carried to the decoded picture


ENTROPY_CODED = frozenset({SectionTag.HYPER, SectionTag.LATENT, SectionTag.COSET})


@dataclass(frozen=True)
class Header:
    """What a decoder must know before it touches the sections."""

    model: str
    quality: int
    height: int
    width: int
    mode: ColourMode = ColourMode.RGB
    flags: Flags = Flags.NONE
    format: CodedFormat = CodedFormat.RGB444
    model_flags: int = 0
    weights_id: int | None = None
    """``None`` only for v1 files, which did not record it."""

    def __post_init__(self) -> None:
        name = self.model.encode("ascii", errors="replace")
        if not 0 < len(name) < 256:
            raise BitstreamError(f"model name must be 1..255 ASCII bytes, got {self.model!r}")
        if not 1 <= self.quality <= 255:
            raise BitstreamError(f"quality must be in 1..255, got {self.quality}")
        for side, value in (("height", self.height), ("width", self.width)):
            if not 1 <= value <= MAX_SIDE:
                raise BitstreamError(f"image {side} must be in 1..{MAX_SIDE}, got {value}")
        if self.mode not in RETURNABLE[self.format]:
            raise BitstreamError(
                f"a {self.format.name} picture cannot be returned as {self.mode.name}"
            )
        if not 0 <= self.model_flags <= 0xFF:
            raise BitstreamError(f"model flags must fit a byte, got {self.model_flags}")
        if self.weights_id is not None and not 0 <= self.weights_id < 1 << 32:
            raise BitstreamError(f"weights id must fit 32 bits, got {self.weights_id}")


@dataclass(frozen=True)
class Container:
    """A parsed file: its header, its raw sections and their tags (``None`` in v1 files)."""

    header: Header
    sections: list[bytes] = field(default_factory=list)
    tags: tuple[SectionTag, ...] | None = None
    version: int = FORMAT_VERSION


def pack(header: Header, sections: list[bytes], tags: list[SectionTag]) -> bytes:
    """Serialise ``header`` and the tagged ``sections`` into the bytes of a v2 ``.lic`` file."""
    if len(sections) > MAX_SECTIONS:
        raise BitstreamError(f"at most {MAX_SECTIONS} sections, got {len(sections)}")
    if len(tags) != len(sections):
        raise BitstreamError(f"{len(sections)} sections need as many tags, got {len(tags)}")
    if header.weights_id is None:
        raise BitstreamError("a v2 file needs the weights id of the model that writes it")
    name = header.model.encode("ascii")
    parts = [MAGIC, bytes([FORMAT_VERSION, len(name)]), name]
    parts.append(
        _V2_FIXED.pack(
            header.quality,
            header.height,
            header.width,
            int(header.format),
            int(header.mode),
            int(header.flags),
            header.model_flags,
            header.weights_id,
            len(sections),
        )
    )
    for tag, section in zip(tags, sections, strict=True):
        parts.append(struct.pack(">BI", SectionTag(tag), len(section)))
        parts.append(bytes(section))
    body = b"".join(parts)
    return body + struct.pack(">I", zlib.crc32(body))


def unpack(data: bytes) -> Container:
    """Validate and parse the bytes of a ``.lic`` file (version 1 or 2).

    Raises:
        BitstreamError: the data is empty, truncated, not a licodec file, fails its CRC,
            has an unsupported version, or holds a field out of range.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise BitstreamError(f"expected bytes, got {type(data).__name__}")
    data = bytes(data)
    if not data:
        raise BitstreamError("empty file: no licodec data")
    if data[: len(MAGIC)] != MAGIC[: len(data)] or len(data) < len(MAGIC):
        raise BitstreamError("not a licodec file (bad magic bytes)")
    if len(data) < _MIN_SIZE:
        raise BitstreamError(f"truncated file: {len(data)} bytes is shorter than any header")
    body, (stored_crc,) = data[:-4], struct.unpack(">I", data[-4:])
    if zlib.crc32(body) != stored_crc:
        raise BitstreamError("corrupted or truncated file: CRC32 mismatch")
    return _parse_body(body)


def _enum(kind: type[enum.IntEnum], value: int, what: str) -> enum.IntEnum:
    try:
        return kind(value)
    except ValueError as err:
        raise BitstreamError(f"malformed header: unknown {what} {value}") from err


def _parse_body(body: bytes) -> Container:
    version, name_len = body[4], body[5]
    if version not in READABLE_VERSIONS:
        raise BitstreamError(
            f"unsupported format version {version} (this licodec reads "
            f"{', '.join(map(str, READABLE_VERSIONS))})"
        )
    fixed = _V1_FIXED if version == 1 else _V2_FIXED
    pos = 6
    if name_len == 0 or pos + name_len + fixed.size > len(body):
        raise BitstreamError("malformed header: model name length out of range")
    try:
        model = body[pos : pos + name_len].decode("ascii")
    except UnicodeDecodeError as err:
        raise BitstreamError("malformed header: model name is not ASCII") from err
    pos += name_len
    if version == 1:
        quality, height, width, mode, flags, n_sections = fixed.unpack_from(body, pos)
        coded, model_flags, weights_id = int(CodedFormat.RGB444), 0, None
    else:
        (quality, height, width, coded, mode, flags, model_flags, weights_id, n_sections) = (
            fixed.unpack_from(body, pos)
        )
    pos += fixed.size
    coded_format = _enum(CodedFormat, coded, "coded format")
    colour_mode = _enum(ColourMode, mode, "colour mode")
    if flags & ~int(Flags.INTEGER_PATH):
        raise BitstreamError(f"malformed header: unknown flag bits 0x{flags:04x}")
    if n_sections > MAX_SECTIONS:
        raise BitstreamError(f"malformed header: {n_sections} sections (max {MAX_SECTIONS})")
    header = Header(
        model, quality, height, width, colour_mode, Flags(flags), coded_format, model_flags,
        weights_id,
    )  # fmt: skip
    sections, tags = _parse_sections(body, pos, n_sections, tagged=version >= 2)
    return Container(header, sections, tags, version)


def _parse_sections(
    body: bytes, pos: int, count: int, tagged: bool
) -> tuple[list[bytes], tuple[SectionTag, ...] | None]:
    prefix = struct.Struct(">BI" if tagged else ">I")
    sections, tags = [], []
    for index in range(count):
        if pos + prefix.size > len(body):
            raise BitstreamError(f"truncated file: section {index} length is missing")
        fields = prefix.unpack_from(body, pos)
        pos += prefix.size
        if tagged:
            tags.append(_enum(SectionTag, fields[0], "section tag"))
        length = fields[-1]
        if pos + length > len(body):
            raise BitstreamError(f"truncated file: section {index} needs {length} bytes")
        sections.append(body[pos : pos + length])
        pos += length
    if pos != len(body):
        raise BitstreamError(f"malformed file: {len(body) - pos} unexpected trailing bytes")
    return sections, tuple(tags) if tagged else None
