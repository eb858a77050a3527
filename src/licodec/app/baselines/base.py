"""The baseline-codec interface: a real encoder and decoder behind ``code(image, q)``."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

from licodec.errors import LicodecError


class BaselineError(LicodecError, RuntimeError):
    """A classic encoder or decoder failed or returned something unusable."""


class CodecUnavailableError(BaselineError):
    """The codec's library or ffmpeg encoder/decoder is missing on this machine."""


@dataclass(frozen=True)
class CodedImage:
    """One image through one codec at one quality."""

    data: bytes
    """The exact bytes the encoder wrote."""
    decoded: np.ndarray
    """The decoder's H×W×3 uint8 RGB output."""
    encoding_time: float
    decoding_time: float

    def bpp(self) -> float:
        """Bits per pixel: ``8 · len(data) / (H · W)``."""
        h, w = self.decoded.shape[:2]
        return 8.0 * len(self.data) / (h * w)


class BaselineCodec(ABC):
    """A classic codec with a quality sweep; subclasses implement ``encode`` and ``decode``."""

    name: str
    """Registry key and result-file stem, e.g. ``"hevc-444"``."""
    label: str
    """Human-readable name used as the ``name`` of result files."""
    chroma: str
    """Chroma format the codec codes, e.g. ``"4:2:0"``."""
    parameter: str
    """What the swept quality value means."""
    default_qualities: tuple[float, ...]
    """Sweep spanning roughly 0.1–2 bpp on Kodak."""

    @abstractmethod
    def check_available(self) -> None:
        """Raise :class:`CodecUnavailableError` naming the codec if it cannot run here."""

    @abstractmethod
    def version(self) -> str:
        """Encoder name and version, e.g. ``"libjpeg_turbo 3.1.3 via imagecodecs 2026.3.6"``."""

    @abstractmethod
    def settings(self) -> str:
        """Fixed encoder settings, for the result description."""

    @abstractmethod
    def encode(self, image: np.ndarray, quality: float) -> bytes:
        """Encode an H×W×3 uint8 RGB image; return the encoder's bytes."""

    @abstractmethod
    def decode(self, data: bytes, height: int, width: int) -> np.ndarray:
        """Decode bytes from :meth:`encode` to an H×W×3 uint8 RGB image."""

    def description(self) -> str:
        """One line: encoder, version, chroma format, settings and swept parameter."""
        return (
            f"{self.label}. {self.version()}; chroma {self.chroma}; {self.settings()}; "
            f"swept parameter: {self.parameter}"
        )

    def code(self, image: np.ndarray, quality: float) -> CodedImage:
        """Encode and decode ``image`` at ``quality``, timing each step."""
        image = _as_rgb_uint8(image)
        h, w = image.shape[:2]
        t0 = time.perf_counter()
        data = self.encode(image, quality)
        t1 = time.perf_counter()
        decoded = self.decode(data, h, w)
        t2 = time.perf_counter()
        if decoded.shape != image.shape or decoded.dtype != np.uint8:
            raise BaselineError(
                f"{self.label} decoder returned {decoded.dtype} {decoded.shape}, "
                f"expected uint8 {image.shape}"
            )
        return CodedImage(bytes(data), decoded, t1 - t0, t2 - t1)


def _as_rgb_uint8(image: np.ndarray) -> np.ndarray:
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an H×W×3 uint8 RGB image, got {image.dtype} {image.shape}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"empty image {image.shape}")
    return np.ascontiguousarray(image)


def check_rgb(decoded: np.ndarray, height: int, width: int, label: str) -> np.ndarray:
    arr = np.asarray(decoded)
    if arr.shape != (height, width, 3) or arr.dtype != np.uint8:
        raise BaselineError(
            f"{label} decoder returned {arr.dtype} {arr.shape}, expected uint8 {(height, width, 3)}"
        )
    return arr
