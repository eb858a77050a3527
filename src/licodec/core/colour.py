"""Picture formats: what a model codes, and what the decoder hands back to the user.

Two separate questions, both recorded in a ``.lic`` header:

* :class:`CodedFormat` — the planes the model's transforms see (RGB 4:4:4, YUV 4:2:0 at 8 or
  10 bits, or one grey plane);
* :class:`ColourMode` — how the decoded picture is returned (an RGB image, a one-channel
  grey image, or YUV planes).

A grey photo coded by an RGB model is ``(RGB444, GRAY)``: coded as R = G = B and returned as
one channel. :data:`RETURNABLE` lists the pairs a file may hold.
"""

from __future__ import annotations

import enum


class CodedFormat(enum.IntEnum):
    """The planes a model codes."""

    RGB444 = 0
    YUV420 = 1  # 8-bit Y, U, V; U and V at half resolution in both directions
    YUV420_10 = 2  # the same at 10 bits per sample
    GREY = 3  # one plane


class ColourMode(enum.IntEnum):
    """How a decoded picture is returned to the user."""

    RGB = 0
    GRAY = 1  # one channel
    YUV = 2  # Y, U, V planes


RETURNABLE: dict[CodedFormat, frozenset[ColourMode]] = {
    CodedFormat.RGB444: frozenset({ColourMode.RGB, ColourMode.GRAY}),
    CodedFormat.YUV420: frozenset({ColourMode.YUV, ColourMode.RGB, ColourMode.GRAY}),
    CodedFormat.YUV420_10: frozenset({ColourMode.YUV, ColourMode.RGB, ColourMode.GRAY}),
    CodedFormat.GREY: frozenset({ColourMode.GRAY}),
}
"""The modes each coded format can be returned in."""
