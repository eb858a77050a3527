"""The .lic container: round trip and every way a file can be broken.

Forgeries recompute the CRC after the edit (:func:`reseal`), so they reach the field
validators behind it; a test that stopped at the CRC would test nothing else.
"""

from __future__ import annotations

import struct
import zlib

import pytest

from licodec.core.bitstream import (
    MAX_SECTIONS,
    Flags,
    Header,
    SectionTag,
    pack,
    unpack,
)
from licodec.core.colour import CodedFormat, ColourMode
from licodec.errors import BitstreamError

NAME = "mbt2018-mean"
HEADER = Header(
    NAME, 3, 512, 768, ColourMode.GRAY, Flags.INTEGER_PATH, CodedFormat.RGB444, 0x05, 0xDEADBEEF
)
SECTIONS = [b"\x01\x02\x03\x04", b"", b"x" * 1000]
TAGS = [SectionTag.HYPER, SectionTag.COSET, SectionTag.LATENT]

# Byte offsets of the v2 fields after the model name.
AFTER_NAME = 6 + len(NAME)
QUALITY, HEIGHT, WIDTH = AFTER_NAME, AFTER_NAME + 1, AFTER_NAME + 5
FORMAT, MODE, FLAGS = AFTER_NAME + 9, AFTER_NAME + 10, AFTER_NAME + 11
MODEL_FLAGS, WEIGHTS_ID, N_SECTIONS = AFTER_NAME + 13, AFTER_NAME + 14, AFTER_NAME + 18
FIRST_SECTION = AFTER_NAME + 19


def reseal(body: bytes | bytearray) -> bytes:
    """``body`` with a freshly computed CRC32 appended."""
    return bytes(body) + struct.pack(">I", zlib.crc32(bytes(body)))


def forged(edit) -> bytes:  # noqa: ANN001 - a callable editing the body in place
    body = bytearray(pack(HEADER, SECTIONS, TAGS)[:-4])
    edit(body)
    return reseal(body)


def test_round_trip_keeps_every_field() -> None:
    container = unpack(pack(HEADER, SECTIONS, TAGS))
    assert container.header == HEADER
    assert container.sections == SECTIONS
    assert container.tags == tuple(TAGS)
    assert container.version == 2


def test_offsets_of_this_test_match_the_layout() -> None:
    data = pack(HEADER, SECTIONS, TAGS)
    assert data[QUALITY] == 3 and data[FORMAT] == 0 and data[MODE] == ColourMode.GRAY
    assert struct.unpack_from(">I", data, WEIGHTS_ID)[0] == 0xDEADBEEF
    assert data[MODEL_FLAGS] == 5 and data[N_SECTIONS] == 3 and data[FIRST_SECTION] == 1


@pytest.mark.parametrize("cut", [1, 4, 10, 20, 100, 1000])
def test_every_truncation_is_rejected(cut: int) -> None:
    data = pack(HEADER, SECTIONS, TAGS)
    with pytest.raises(BitstreamError):
        unpack(data[:-cut])


def test_every_single_bit_flip_is_rejected() -> None:
    data = bytearray(pack(HEADER, [b"abcd"], [SectionTag.LATENT]))
    for position in range(len(data)):
        for bit in range(8):
            broken = bytearray(data)
            broken[position] ^= 1 << bit
            with pytest.raises(BitstreamError):
                unpack(bytes(broken))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"\x89PNG\r\n\x1a\n" + bytes(64), "not a licodec file"),
        (b"GIF89a", "not a licodec file"),
        (b"\x89LIC", "truncated"),
    ],
)
def test_foreign_and_empty_files_name_the_problem(data: bytes, message: str) -> None:
    with pytest.raises(BitstreamError, match=message):
        unpack(data)


def _set(offset: int, value: int, size: int = 1):  # noqa: ANN202
    def edit(body: bytearray) -> None:
        body[offset : offset + size] = value.to_bytes(size, "big")

    return edit


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (_set(4, 99), "version 99"),
        (_set(4, 0), "version 0"),
        (_set(FLAGS, 0x8001, 2), "unknown flag bits 0x8001"),
        (_set(FORMAT, 7), "unknown coded format 7"),
        (_set(MODE, 9), "unknown colour mode 9"),
        (_set(MODE, int(ColourMode.YUV)), "RGB444 picture cannot be returned as YUV"),
        (_set(QUALITY, 0), "quality must be in 1..255"),
        (_set(HEIGHT, 0, 4), "height must be in"),
        (_set(WIDTH, 1 << 20, 4), "width must be in"),
        (_set(N_SECTIONS, MAX_SECTIONS + 1), f"{MAX_SECTIONS + 1} sections"),
        (_set(N_SECTIONS, 4), "section 3 length is missing"),
        (_set(N_SECTIONS, 2), "1005 unexpected trailing bytes"),
        (_set(FIRST_SECTION, 0), "unknown section tag 0"),
        (_set(FIRST_SECTION, 200), "unknown section tag 200"),
        (_set(FIRST_SECTION + 1, 1 << 30, 4), "section 0 needs 1073741824 bytes"),
        (_set(5, 0), "model name length out of range"),
        (_set(6, 0xFF), "not ASCII"),
    ],
)
def test_forged_fields_are_named(edit, message: str) -> None:  # noqa: ANN001
    with pytest.raises(BitstreamError, match=message):
        unpack(forged(edit))


def test_trailing_bytes_after_the_sections_are_refused() -> None:
    body = pack(HEADER, SECTIONS, TAGS)[:-4] + b"\x00\x00"
    with pytest.raises(BitstreamError, match="2 unexpected trailing bytes"):
        unpack(reseal(body))


def test_writer_refuses_what_it_cannot_describe() -> None:
    with pytest.raises(BitstreamError, match="weights id"):
        pack(Header(NAME, 1, 4, 4), [b""], [SectionTag.LATENT])
    with pytest.raises(BitstreamError, match="tags"):
        pack(HEADER, SECTIONS, TAGS[:2])
    with pytest.raises(BitstreamError, match="at most"):
        pack(HEADER, [b""] * (MAX_SECTIONS + 1), [SectionTag.LATENT] * (MAX_SECTIONS + 1))


@pytest.mark.parametrize(("height", "width"), [(0, 5), (5, 0), (1 << 17, 5)])
def test_header_rejects_impossible_sizes(height: int, width: int) -> None:
    with pytest.raises(BitstreamError):
        Header("m", 1, height, width)


def test_header_rejects_an_empty_model_name() -> None:
    with pytest.raises(BitstreamError, match="model name"):
        Header("", 1, 4, 4, weights_id=1)


def _v1(model: str, sections: list[bytes], colour: int = 0, flags: int = 0) -> bytes:
    name = model.encode()
    body = b"\x89LIC" + bytes([1, len(name)]) + name
    body += struct.pack(">BIIBHB", 2, 10, 20, colour, flags, len(sections))
    body += b"".join(struct.pack(">I", len(s)) + s for s in sections)
    return reseal(body)


def test_version_1_files_read_as_untagged_rgb_without_weights_id() -> None:
    container = unpack(_v1(NAME, [b"abcd", b"ef"], colour=1, flags=1))
    header = container.header
    assert container.version == 1 and container.tags is None
    assert container.sections == [b"abcd", b"ef"]
    assert (header.format, header.mode, header.flags) == (
        CodedFormat.RGB444, ColourMode.GRAY, Flags.INTEGER_PATH,
    )  # fmt: skip
    assert header.weights_id is None and header.model_flags == 0
    assert (header.height, header.width, header.quality) == (10, 20, 2)


def test_version_1_forgeries_are_named() -> None:
    with pytest.raises(BitstreamError, match="unknown colour mode 5"):
        unpack(_v1(NAME, [b"abcd"], colour=5))
    with pytest.raises(BitstreamError, match="unknown flag bits"):
        unpack(_v1(NAME, [b"abcd"], flags=4))
