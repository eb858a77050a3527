"""``Picture``: the planes a model codes, with their format; ``Coded``: what it returns.

A model takes a picture and gives back the coded sections, the bits of its model-flag byte
and, only when asked, its reconstruction. Plane layouts (all float32 in ``[0, 1]``, batch 1):

* ``RGB444``: one plane ``1×3×H×W``;
* ``YUV420`` / ``YUV420_10``: ``Y`` ``1×1×H×W`` and ``UV`` ``1×2×⌈H/2⌉×⌈W/2⌉`` (10-bit
  samples scaled by ``1/1023``);
* ``GREY``: one plane ``1×1×H×W``.

``height`` and ``width`` are those of the first (luma) plane.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from licodec.core.colour import CodedFormat
from licodec.errors import ImageInputError

_PLANE_CHANNELS = {
    CodedFormat.RGB444: (3,),
    CodedFormat.YUV420: (1, 2),
    CodedFormat.YUV420_10: (1, 2),
    CodedFormat.GREY: (1,),
}


@dataclass(frozen=True)
class Picture:
    """Planes and their format (see module docstring); validated on construction."""

    planes: tuple[Tensor, ...]
    format: CodedFormat = CodedFormat.RGB444

    def __post_init__(self) -> None:
        channels = _PLANE_CHANNELS[self.format]
        shapes = [tuple(p.shape) for p in self.planes]
        if len(shapes) != len(channels) or any(
            len(s) != 4 or s[0] != 1 or s[1] != c for s, c in zip(shapes, channels, strict=False)
        ):
            raise ImageInputError(
                f"a {self.format.name} picture has planes of {list(channels)} channels "
                f"(1×C×H×W each), got shapes {shapes}"
            )
        if len(shapes) == 2:
            expected = (-(-self.height // 2), -(-self.width // 2))
            if shapes[1][2:] != expected:
                raise ImageInputError(
                    f"4:2:0 chroma of a {self.height}×{self.width} picture is "
                    f"{expected[0]}×{expected[1]}, got {shapes[1][2]}×{shapes[1][3]}"
                )

    @classmethod
    def rgb(cls, x: Tensor) -> Picture:
        """An RGB 4:4:4 picture from a ``1×3×H×W`` tensor."""
        return cls((x,), CodedFormat.RGB444)

    @property
    def height(self) -> int:
        return int(self.planes[0].shape[-2])

    @property
    def width(self) -> int:
        return int(self.planes[0].shape[-1])

    @property
    def tensor(self) -> Tensor:
        """The only plane of a one-plane picture (RGB 4:4:4, grey)."""
        if len(self.planes) != 1:
            raise ValueError(f"a {self.format.name} picture has {len(self.planes)} planes")
        return self.planes[0]


@dataclass(frozen=True)
class Coded:
    """A model's output: byte sections, its model-flag bits, and the reconstruction the
    decoder will produce (``None`` unless asked for)."""

    sections: list[bytes]
    model_flags: int = 0
    reconstruction: Picture | None = None
