"""The ``.lic`` container: a validated header, length-prefixed sections and a CRC32.

Layout (all integers big-endian)::

    magic        4  bytes  b"\\x89LIC"
    version      u8        FORMAT_VERSION
    name_len     u8        length of the model name
    model        name_len  ASCII model name, e.g. "mbt2018-mean"
    quality      u8        1..255
    height       u32       original image height in pixels (>= 1)
    width        u32       original image width in pixels (>= 1)
    colour       u8        ColourMode
    flags        u16       Flags bit set
    n_sections   u8
    n_sections × (u32 length, bytes)
    crc32        u32       zlib.crc32 of every byte before it

:func:`unpack` checks the size, magic and CRC before it reads any field, then checks
every field and that the sections fill the file exactly, so a truncated, corrupted or
foreign file raises :class:`~licodec.errors.BitstreamError` naming the problem.
"""

from __future__ import annotations

import enum
import struct
import zlib
from dataclasses import dataclass, field

from licodec.errors import BitstreamError

MAGIC = b"\x89LIC"
FORMAT_VERSION = 1
MAX_SIDE = 1 << 16
MAX_SECTIONS = 16
_FIXED_AFTER_NAME = struct.Struct(">BIIBHB")  # quality, height, width, colour, flags, n_sections
_MIN_SIZE = len(MAGIC) + 2 + _FIXED_AFTER_NAME.size + 4
HEADER_OVERHEAD_MAX = _MIN_SIZE + 255 + 4 * MAX_SECTIONS
"""Most bytes a file spends outside its sections (header, lengths, CRC)."""


class ColourMode(enum.IntEnum):
    """How the decoded image is returned; the codec itself always codes three channels."""

    RGB = 0
    GRAY = 1  # coded as R = G = B, decoded back to one channel


class Flags(enum.IntFlag):
    """Per-file switches. Unknown bits are rejected so old decoders never misread new files."""

    NONE = 0
    INTEGER_PATH = 1  # entropy parameters were computed by the fixed-point path


@dataclass(frozen=True)
class Header:
    """What a decoder must know before it touches the sections."""

    model: str
    quality: int
    height: int
    width: int
    colour: ColourMode = ColourMode.RGB
    flags: Flags = Flags.NONE

    def __post_init__(self) -> None:
        name = self.model.encode("ascii", errors="replace")
        if not 0 < len(name) < 256:
            raise BitstreamError(f"model name must be 1..255 ASCII bytes, got {self.model!r}")
        if not 1 <= self.quality <= 255:
            raise BitstreamError(f"quality must be in 1..255, got {self.quality}")
        for side, value in (("height", self.height), ("width", self.width)):
            if not 1 <= value <= MAX_SIDE:
                raise BitstreamError(f"image {side} must be in 1..{MAX_SIDE}, got {value}")


@dataclass(frozen=True)
class Container:
    """A parsed file: its header and its raw sections."""

    header: Header
    sections: list[bytes] = field(default_factory=list)


def pack(header: Header, sections: list[bytes]) -> bytes:
    """Serialise ``header`` and ``sections`` into the bytes of a ``.lic`` file."""
    if len(sections) > MAX_SECTIONS:
        raise BitstreamError(f"at most {MAX_SECTIONS} sections, got {len(sections)}")
    name = header.model.encode("ascii")
    parts = [MAGIC, bytes([FORMAT_VERSION, len(name)]), name]
    parts.append(
        _FIXED_AFTER_NAME.pack(
            header.quality,
            header.height,
            header.width,
            int(header.colour),
            int(header.flags),
            len(sections),
        )
    )
    for section in sections:
        parts.append(struct.pack(">I", len(section)))
        parts.append(bytes(section))
    body = b"".join(parts)
    return body + struct.pack(">I", zlib.crc32(body))


def unpack(data: bytes) -> Container:
    """Validate and parse the bytes of a ``.lic`` file.

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


def _parse_body(body: bytes) -> Container:
    version, name_len = body[4], body[5]
    if version != FORMAT_VERSION:
        raise BitstreamError(
            f"unsupported format version {version} (this licodec reads {FORMAT_VERSION})"
        )
    pos = 6
    fixed_end = pos + name_len + _FIXED_AFTER_NAME.size
    if name_len == 0 or fixed_end > len(body):
        raise BitstreamError("malformed header: model name length out of range")
    try:
        model = body[pos : pos + name_len].decode("ascii")
    except UnicodeDecodeError as err:
        raise BitstreamError("malformed header: model name is not ASCII") from err
    pos += name_len
    quality, height, width, colour, flags, n_sections = _FIXED_AFTER_NAME.unpack_from(body, pos)
    pos += _FIXED_AFTER_NAME.size
    try:
        colour_mode = ColourMode(colour)
    except ValueError as err:
        raise BitstreamError(f"malformed header: unknown colour mode {colour}") from err
    if flags & ~int(Flags.INTEGER_PATH):
        raise BitstreamError(f"malformed header: unknown flag bits 0x{flags:04x}")
    if n_sections > MAX_SECTIONS:
        raise BitstreamError(f"malformed header: {n_sections} sections (max {MAX_SECTIONS})")
    header = Header(model, quality, height, width, colour_mode, Flags(flags))
    sections = []
    for index in range(n_sections):
        if pos + 4 > len(body):
            raise BitstreamError(f"truncated file: section {index} length is missing")
        (length,) = struct.unpack_from(">I", body, pos)
        pos += 4
        if pos + length > len(body):
            raise BitstreamError(f"truncated file: section {index} needs {length} bytes")
        sections.append(body[pos : pos + length])
        pos += length
    if pos != len(body):
        raise BitstreamError(f"malformed file: {len(body) - pos} unexpected trailing bytes")
    return Container(header, sections)
