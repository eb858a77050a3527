"""The .lic container: round trip and every way a file can be broken."""

from __future__ import annotations

import pytest

from licodec.core.bitstream import ColourMode, Flags, Header, pack, unpack
from licodec.errors import BitstreamError

HEADER = Header("mbt2018-mean", 3, 512, 768, ColourMode.GRAY, Flags.INTEGER_PATH)
SECTIONS = [b"\x01\x02\x03\x04", b"", b"x" * 1000]


def test_round_trip_keeps_every_field() -> None:
    container = unpack(pack(HEADER, SECTIONS))
    assert container.header == HEADER
    assert container.sections == SECTIONS


@pytest.mark.parametrize("cut", [1, 4, 10, 20, 100, 1000])
def test_every_truncation_is_rejected(cut: int) -> None:
    data = pack(HEADER, SECTIONS)
    with pytest.raises(BitstreamError):
        unpack(data[:-cut])


def test_every_single_bit_flip_is_rejected() -> None:
    data = bytearray(pack(HEADER, [b"abcd"]))
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


def test_wrong_version_is_named() -> None:
    import struct
    import zlib

    body = bytearray(pack(HEADER, SECTIONS)[:-4])
    body[4] = 99
    data = bytes(body) + struct.pack(">I", zlib.crc32(body))
    with pytest.raises(BitstreamError, match="version 99"):
        unpack(data)


@pytest.mark.parametrize(("height", "width"), [(0, 5), (5, 0), (1 << 17, 5)])
def test_header_rejects_impossible_sizes(height: int, width: int) -> None:
    with pytest.raises(BitstreamError):
        Header("m", 1, height, width)
