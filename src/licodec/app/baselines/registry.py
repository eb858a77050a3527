"""Every baseline codec by name and alias."""

from __future__ import annotations

from licodec.app.baselines.base import BaselineCodec
from licodec.app.baselines.ffmpeg import (
    Av1Intra420Codec,
    Hevc420Codec,
    HevcCodec,
    Jpeg420Codec,
    VvcCodec,
)
from licodec.app.baselines.imagecodecs import (
    AvifCodec,
    Jpeg2000Codec,
    JpegCodec,
    JpegXlCodec,
    WebpCodec,
)

CODECS: dict[str, BaselineCodec] = {
    c.name: c
    for c in (
        JpegCodec(),
        WebpCodec(),
        Jpeg2000Codec(),
        AvifCodec(),
        JpegXlCodec(),
        HevcCodec(),
        Hevc420Codec(),
        VvcCodec(),
        Jpeg420Codec(),
        Av1Intra420Codec(),
    )
}
"""Every baseline by name."""

ALIASES: dict[str, str] = {
    "jpg": "jpeg",
    "j2k": "jpeg2000",
    "jp2": "jpeg2000",
    "jxl": "jpegxl",
    "hevc": "hevc-444",
    "bpg": "hevc-444",
    "x265": "hevc-444",
    "vvc": "vvc-420",
    "vvenc": "vvc-420",
}


def get_codec(name: str) -> BaselineCodec:
    """Look a baseline up by name or alias (case-insensitive)."""
    key = name.lower()
    key = ALIASES.get(key, key)
    if key not in CODECS:
        known = ", ".join(sorted(CODECS))
        raise ValueError(f"unknown baseline codec {name!r}; known: {known}")
    return CODECS[key]
