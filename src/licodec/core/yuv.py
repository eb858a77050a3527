"""YUV 4:2:0 pictures: ``.y4m`` and raw ``.yuv`` files, and the RGB conversion.

:class:`YuvPlanes` holds one frame: ``y`` ``H×W``, ``u`` and ``v`` ``⌈H/2⌉×⌈W/2⌉``, uint8 at 8
bits or uint16 at 10 bits (values ``0 … 2^bits − 1``).

* ``.y4m`` (:func:`read_y4m`, :func:`write_y4m`): the ``YUV4MPEG2`` header (``W``, ``H``,
  ``F``, ``I``, ``A``, ``C``, ``X`` tokens), then ``FRAME`` lines each followed by the Y, U
  and V planes. Colour spaces ``420``, ``420jpeg``, ``420paldv``, ``420mpeg2`` (8-bit, the
  chroma siting is not resampled) and ``420p10`` (10-bit little-endian) are read; 4:2:2,
  4:4:4, mono and other depths are refused by name. A file of several frames needs
  ``frame=N``.
* raw ``.yuv`` (:func:`read_yuv`, :func:`write_yuv`): frames of planar ``yuv420p`` or
  ``yuv420p10le`` (ffmpeg's names) of a size given by the caller; the file must hold a whole
  number of frames.

**RGB** (:func:`rgb_to_yuv420`, :func:`yuv420_to_rgb`): ``[D]`` BT.709 matrix
(``K_R = 0.2126``, ``K_B = 0.0722``) at limited ("video") range: ``Y' = 16 + 219·E_Y``,
``Cb, Cr = 128 + 224·E_C`` at 8 bits (×4 at 10 bits). Chroma is subsampled by the mean of
each 2×2 block (odd sizes: the last row/column repeated) and upsampled by repeating each
sample over its block. The round trip RGB → YUV → RGB is therefore lossy in chroma only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from licodec.core.colour import CodedFormat
from licodec.core.image import load_image
from licodec.core.picture import Picture
from licodec.errors import ImageInputError

KR, KB = 0.2126, 0.0722
"""BT.709 luma coefficients."""

PIX_FMTS = {"yuv420p": 8, "yuv420p10le": 10}
"""Raw ``.yuv`` layouts read and written, with their bit depths."""

_Y4M_COLOURSPACES = {"420": 8, "420jpeg": 8, "420paldv": 8, "420mpeg2": 8, "420p10": 10}
_SAMPLINGS = {"420": "4:2:0 at another depth", "422": "4:2:2", "444": "4:4:4", "mono": "grey"}
_MAGIC = b"YUV4MPEG2"


@dataclass(frozen=True)
class YuvPlanes:
    """One 4:2:0 frame (see module docstring); checked on construction."""

    y: np.ndarray
    u: np.ndarray
    v: np.ndarray
    bits: int = 8

    def __post_init__(self) -> None:
        if self.bits not in (8, 10):
            raise ImageInputError(f"YUV pictures are 8- or 10-bit, got {self.bits} bits")
        height, width = self.y.shape
        chroma = (-(-height // 2), -(-width // 2))
        if self.u.shape != chroma or self.v.shape != chroma:
            raise ImageInputError(
                f"4:2:0 chroma of a {width}×{height} picture is {chroma[1]}×{chroma[0]}, got "
                f"U {self.u.shape[::-1]} and V {self.v.shape[::-1]}"
            )
        if height == 0 or width == 0:
            raise ImageInputError("empty YUV picture (0 pixels)")

    @property
    def height(self) -> int:
        return int(self.y.shape[0])

    @property
    def width(self) -> int:
        return int(self.y.shape[1])

    @property
    def peak(self) -> int:
        """Largest sample value, ``2^bits − 1``."""
        return (1 << self.bits) - 1


def _frame_bytes(width: int, height: int, bits: int) -> int:
    sample = 1 if bits == 8 else 2
    chroma = -(-width // 2) * -(-height // 2)
    return (width * height + 2 * chroma) * sample


def _planes(data: bytes, width: int, height: int, bits: int) -> YuvPlanes:
    dtype = np.uint8 if bits == 8 else np.dtype("<u2")
    samples = np.frombuffer(data, dtype=dtype)
    cw, ch = -(-width // 2), -(-height // 2)
    luma = width * height
    y = samples[:luma].reshape(height, width)
    u = samples[luma : luma + cw * ch].reshape(ch, cw)
    v = samples[luma + cw * ch :].reshape(ch, cw)
    if bits == 10 and max(int(p.max()) for p in (y, u, v)) > 1023:
        raise ImageInputError("10-bit YUV samples above 1023: not a yuv420p10le picture")
    return YuvPlanes(*(p.astype(np.uint8 if bits == 8 else np.uint16) for p in (y, u, v)), bits)


def _serialised(planes: YuvPlanes) -> bytes:
    dtype = np.uint8 if planes.bits == 8 else np.dtype("<u2")
    return b"".join(
        np.ascontiguousarray(p, dtype=dtype).tobytes() for p in (planes.y, planes.u, planes.v)
    )


def _pick(count: int, frame: int | None, name: str) -> int:
    if frame is None:
        if count > 1:
            raise ImageInputError(f"{name} holds {count} frames: pick one with --frame N (0-based)")
        return 0
    if not 0 <= frame < count:
        raise ImageInputError(f"{name} has no frame {frame} (it holds {count}, numbered from 0)")
    return frame


def read_y4m(path: Path | str, frame: int | None = None) -> YuvPlanes:
    """Frame ``frame`` (0-based; required when there are several) of a ``.y4m`` file."""
    path = Path(path)
    data = path.read_bytes()
    line_end = data.find(b"\n")
    if not data.startswith(_MAGIC + b" ") or line_end < 0:
        raise ImageInputError(f"{path.name}: not a y4m file (no 'YUV4MPEG2 ' header line)")
    tokens = data[len(_MAGIC) : line_end].decode("ascii", "replace").split()
    fields = {t[0]: t[1:] for t in tokens}
    try:
        width, height = int(fields["W"]), int(fields["H"])
    except (KeyError, ValueError):
        raise ImageInputError(f"{path.name}: y4m header without a valid W and H") from None
    if width <= 0 or height <= 0:
        raise ImageInputError(f"{path.name}: y4m header gives an empty {width}×{height} picture")
    colour = fields.get("C", "420jpeg")
    if colour not in _Y4M_COLOURSPACES:
        what = next((n for p, n in _SAMPLINGS.items() if colour.startswith(p)), "unknown")
        raise ImageInputError(
            f"{path.name}: y4m colour space C{colour} ({what}) is not supported; licodec reads "
            "4:2:0 at 8 or 10 bits (C420jpeg, C420paldv, C420mpeg2, C420, C420p10)"
        )
    bits = _Y4M_COLOURSPACES[colour]
    size = _frame_bytes(width, height, bits)
    frames, position = [], line_end + 1
    while position < len(data):
        header_end = data.find(b"\n", position)
        if not data.startswith(b"FRAME", position) or header_end < 0:
            raise ImageInputError(f"{path.name}: frame {len(frames)} does not start with FRAME")
        start = header_end + 1
        if start + size > len(data):
            raise ImageInputError(
                f"{path.name}: frame {len(frames)} is truncated ({len(data) - start} of {size} "
                "bytes)"
            )
        frames.append(start)
        position = start + size
    if not frames:
        raise ImageInputError(f"{path.name}: the y4m file holds no frame")
    start = frames[_pick(len(frames), frame, path.name)]
    return _planes(data[start : start + size], width, height, bits)


def y4m_bytes(planes: YuvPlanes) -> bytes:
    """One frame as a ``.y4m`` file (``C420jpeg`` at 8 bits, ``C420p10`` at 10)."""
    colour = "420jpeg" if planes.bits == 8 else "420p10"
    header = f"YUV4MPEG2 W{planes.width} H{planes.height} F25:1 Ip A1:1 C{colour}\n"
    return header.encode() + b"FRAME\n" + _serialised(planes)


def write_y4m(path: Path | str, planes: YuvPlanes) -> None:
    """Write one frame as ``.y4m`` (:func:`y4m_bytes`)."""
    Path(path).write_bytes(y4m_bytes(planes))


def read_yuv(
    path: Path | str, width: int, height: int, pix_fmt: str = "yuv420p", frame: int | None = None
) -> YuvPlanes:
    """Frame ``frame`` of a raw planar file of ``width``×``height`` pictures."""
    path = Path(path)
    if pix_fmt not in PIX_FMTS:
        known = ", ".join(PIX_FMTS)
        raise ImageInputError(f"pixel format {pix_fmt!r} is not supported; use one of {known}")
    if width <= 0 or height <= 0:
        raise ImageInputError(f"--size {width}x{height} is empty")
    bits = PIX_FMTS[pix_fmt]
    size = _frame_bytes(width, height, bits)
    total = path.stat().st_size
    if total == 0 or total % size:
        raise ImageInputError(
            f"{path.name}: {total} bytes is not a whole number of {width}x{height} {pix_fmt} "
            f"frames ({size} bytes each); check --size and --pix-fmt"
        )
    index = _pick(total // size, frame, path.name)
    with path.open("rb") as handle:
        handle.seek(index * size)
        return _planes(handle.read(size), width, height, bits)


def yuv_bytes(planes: YuvPlanes) -> bytes:
    """One frame as raw ``yuv420p`` (8-bit) or ``yuv420p10le`` (10-bit)."""
    return _serialised(planes)


def write_yuv(path: Path | str, planes: YuvPlanes) -> None:
    """Write one frame as raw ``yuv420p`` / ``yuv420p10le`` (:func:`yuv_bytes`)."""
    Path(path).write_bytes(yuv_bytes(planes))


def _ycbcr(r: Any, g: Any, b: Any) -> tuple[Any, Any, Any]:
    """BT.709 ``(E_Y, E_Cb, E_Cr)`` of ``E_R, E_G, E_B`` in [0, 1] (arrays or tensors)."""
    luma = KR * r + (1 - KR - KB) * g + KB * b
    return luma, (b - luma) / (2 * (1 - KB)), (r - luma) / (2 * (1 - KR))


def rgb_to_yuv420(rgb: np.ndarray, bits: int = 8) -> YuvPlanes:
    """``H×W×3`` uint8 RGB → limited-range BT.709 4:2:0 (module docstring)."""
    e = rgb.astype(np.float64) / 255
    luma, cb, cr = _ycbcr(e[..., 0], e[..., 1], e[..., 2])
    scale = 1 << (bits - 8)
    dtype = np.uint8 if bits == 8 else np.uint16
    peak = (1 << bits) - 1

    def quantized(x: np.ndarray) -> np.ndarray:
        return np.clip(np.round(x * scale), 0, peak).astype(dtype)

    return YuvPlanes(
        quantized(16 + 219 * luma),
        quantized(128 + 224 * _subsample(cb)),
        quantized(128 + 224 * _subsample(cr)),
        bits,
    )


def rgb_to_yuv420_batch(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """A training batch ``N×3×H×W`` (RGB in [0, 1], H and W even) → 8-bit 4:2:0 planes as a
    model sees them: ``Y`` ``N×1×H×W`` and ``UV`` ``N×2×H/2×W/2``, samples / 255, rounded to
    the 8-bit levels a file holds (the same conversion as :func:`rgb_to_yuv420`, in the
    batch's dtype)."""
    luma, cb, cr = _ycbcr(x[:, 0:1], x[:, 1:2], x[:, 2:3])
    chroma = F.avg_pool2d(torch.cat([cb, cr], dim=1), 2)
    y = torch.round(16 + 219 * luma).clamp(0, 255) / 255
    return y, torch.round(128 + 224 * chroma).clamp(0, 255) / 255


def _subsample(plane: np.ndarray) -> np.ndarray:
    """Mean of each 2×2 block, the last row and column repeated for odd sizes."""
    height, width = plane.shape
    padded = np.pad(plane, ((0, height % 2), (0, width % 2)), mode="edge")
    return padded.reshape(padded.shape[0] // 2, 2, padded.shape[1] // 2, 2).mean(axis=(1, 3))


def yuv420_to_rgb(planes: YuvPlanes) -> np.ndarray:
    """Limited-range BT.709 4:2:0 → ``H×W×3`` uint8 RGB (chroma repeated over its blocks)."""
    scale = float(1 << (planes.bits - 8))
    height, width = planes.height, planes.width
    luma = (planes.y.astype(np.float64) / scale - 16) / 219

    def upsampled(plane: np.ndarray) -> np.ndarray:
        full = np.repeat(np.repeat(plane.astype(np.float64) / scale, 2, 0), 2, 1)
        return (full[:height, :width] - 128) / 224

    cb, cr = upsampled(planes.u), upsampled(planes.v)
    r = luma + 2 * (1 - KR) * cr
    b = luma + 2 * (1 - KB) * cb
    g = (luma - KR * r - KB * b) / (1 - KR - KB)
    rgb = np.stack([r, g, b], axis=-1)
    return np.clip(np.round(rgb * 255), 0, 255).astype(np.uint8)


def load_yuv420(path: Path | str) -> YuvPlanes:
    """A picture file as 4:2:0 planes: a ``.y4m`` as it is (one frame), any other image
    converted from its RGB pixels (:func:`licodec.core.image.load_image`: grey as R = G = B,
    transparency refused) by :func:`rgb_to_yuv420`."""
    path = Path(path)
    if path.suffix.lower() == ".y4m":
        return read_y4m(path)
    return rgb_to_yuv420(load_image(path)[0])


_FORMATS = {8: CodedFormat.YUV420, 10: CodedFormat.YUV420_10}


def planes_to_picture(planes: YuvPlanes) -> Picture:
    """The planes as a model sees them: ``Y`` ``1×1×H×W`` and ``UV`` ``1×2×⌈H/2⌉×⌈W/2⌉``,
    float32 samples / ``2^bits − 1`` (:mod:`licodec.core.picture`)."""

    def tensor(*arrays: np.ndarray) -> torch.Tensor:
        stacked = np.stack([a.astype(np.float32) for a in arrays])
        return torch.from_numpy(stacked).unsqueeze(0).div_(planes.peak)

    return Picture((tensor(planes.y), tensor(planes.u, planes.v)), _FORMATS[planes.bits])


def picture_to_planes(picture: Picture) -> YuvPlanes:
    """A decoded 4:2:0 :class:`Picture` as samples (clamped, rounded half to even)."""
    bits = {fmt: b for b, fmt in _FORMATS.items()}.get(picture.format)
    if bits is None:
        raise ValueError(f"a {picture.format.name} picture has no YUV 4:2:0 planes")
    peak = (1 << bits) - 1
    dtype = np.uint8 if bits == 8 else np.uint16

    def samples(x: torch.Tensor) -> np.ndarray:
        return (x.detach().clamp(0, 1) * peak).round_().cpu().numpy().astype(dtype)

    y, uv = picture.planes
    chroma = samples(uv[0])
    return YuvPlanes(samples(y[0, 0]), chroma[0], chroma[1], bits)


def is_yuv_path(path: object) -> bool:
    """Whether ``path`` names a ``.y4m`` or raw ``.yuv`` file (by its suffix)."""
    return isinstance(path, str | Path) and Path(path).suffix.lower() in (".y4m", ".yuv")
