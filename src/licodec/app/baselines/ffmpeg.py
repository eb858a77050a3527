"""Baselines through the static ffmpeg of ``imageio-ffmpeg``: HEVC (x265) and VVC (vvenc)."""

from __future__ import annotations

import functools
import os
import re
import subprocess
import tempfile
from abc import abstractmethod
from collections.abc import Sequence

import numpy as np

from licodec.app.baselines.base import (
    BaselineCodec,
    BaselineError,
    CodecUnavailableError,
)
from licodec.core.yuv import YuvPlanes

FFMPEG_TIMEOUT_S = 300.0
"""Wall-clock limit for one ffmpeg encode or decode."""


def ffmpeg_exe() -> str:
    """Path of the static ffmpeg shipped by ``imageio-ffmpeg``."""
    try:
        import imageio_ffmpeg
    except ImportError as err:
        raise CodecUnavailableError(
            "HEVC/VVC baselines need the 'imageio-ffmpeg' package (pip install imageio-ffmpeg)"
        ) from err
    try:
        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except RuntimeError as err:
        raise CodecUnavailableError(f"imageio-ffmpeg has no ffmpeg binary: {err}") from err


def _run_ffmpeg(args: Sequence[str], label: str) -> subprocess.CompletedProcess[bytes]:
    cmd = [ffmpeg_exe(), "-nostdin", "-hide_banner", *args]
    try:
        proc = subprocess.run(
            cmd,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=FFMPEG_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as err:
        raise BaselineError(
            f"{label}: ffmpeg did not finish within {FFMPEG_TIMEOUT_S:.0f} s: {' '.join(cmd)}"
        ) from err
    if proc.returncode != 0:
        tail = proc.stderr.decode(errors="replace").strip()[-1500:]
        raise BaselineError(f"{label}: ffmpeg exited with {proc.returncode}: {tail}")
    return proc


@functools.cache
def _ffmpeg_list(kind: str) -> frozenset[str]:
    """Names listed by ``ffmpeg -encoders`` or ``ffmpeg -decoders``."""
    out = _run_ffmpeg([f"-{kind}"], "ffmpeg").stdout.decode(errors="replace")
    names = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2 and len(parts[0]) == 6 and parts[0][0] in "VAS.":
            names.add(parts[1])
    return frozenset(names)


@functools.cache
def _ffmpeg_version() -> str:
    try:
        import imageio_ffmpeg

        return str(imageio_ffmpeg.get_ffmpeg_version())
    except Exception:  # noqa: BLE001 - a version string is informative only
        return "unknown"


class FfmpegCodec(BaselineCodec):
    encoder: str
    decoder: str
    muxer: str
    pix_fmt: str
    even_size: bool
    resample: str
    version_pattern: str

    _scale_flags = "accurate_rnd+full_chroma_int+full_chroma_inp"

    @abstractmethod
    def _encoder_args(self, quality: float) -> list[str]:
        """Encoder-specific ffmpeg output options."""

    def check_available(self) -> None:
        exe = ffmpeg_exe()
        if self.encoder not in _ffmpeg_list("encoders"):
            raise CodecUnavailableError(
                f"{self.label} baseline unavailable: the ffmpeg at {exe} has no "
                f"{self.encoder} encoder"
            )
        if self.decoder not in _ffmpeg_list("decoders"):
            raise CodecUnavailableError(
                f"{self.label} baseline unavailable: the ffmpeg at {exe} has no "
                f"'{self.decoder}' decoder"
            )

    @functools.cached_property
    def _encoder_version(self) -> str:
        """Encoder version parsed from ffmpeg's log of a tiny test encode."""
        self.check_available()
        with tempfile.TemporaryDirectory(prefix="licodec-ver-") as tmp:
            out = os.path.join(tmp, f"probe.{self.muxer}")
            args = ["-loglevel", "info", "-f", "lavfi", "-i", "testsrc=size=64x64:rate=1"]
            args += ["-frames:v", "1", "-pix_fmt", self.pix_fmt, *self._encoder_args(40)]
            args += ["-f", self.muxer, "-y", out]
            log = _run_ffmpeg(args, self.label).stderr.decode(errors="replace")
        found = re.search(self.version_pattern, log)
        return found.group(1) if found else "unknown"

    def version(self) -> str:
        return f"{self.encoder} {self._encoder_version} via ffmpeg {_ffmpeg_version()}"

    def _scale(self, direction: str) -> str:
        flags = self._scale_flags if self.resample == "" else f"{self.resample}+{self._scale_flags}"
        return f"scale={direction}_color_matrix=bt601:{direction}_range=tv:flags={flags}"

    def encode(self, image: np.ndarray, quality: float) -> bytes:
        self.check_available()
        if self.even_size:
            image = _pad_even(image)
        h, w = image.shape[:2]
        conversion = ["-vf", self._scale("out"), "-pix_fmt", self.pix_fmt, "-color_range", "tv"]
        conversion += ["-colorspace", "smpte170m", "-color_primaries", "bt709"]
        conversion += ["-color_trc", "iec61966-2-1"]
        raw = np.ascontiguousarray(image).tobytes()
        return self._encode_raw(raw, "rgb24", w, h, conversion, quality)

    def _encode_raw(
        self, raw: bytes, pix_fmt: str, width: int, height: int, options: list[str], quality: float
    ) -> bytes:
        """One ffmpeg encode of a raw ``pix_fmt`` frame with output ``options`` before the
        encoder's own; returns the bitstream (``BaselineError`` if empty)."""
        with tempfile.TemporaryDirectory(prefix="licodec-enc-") as tmp:
            src = os.path.join(tmp, "input.raw")
            dst = os.path.join(tmp, f"output.{self.muxer}")
            with open(src, "wb") as f:
                f.write(raw)
            args = ["-loglevel", "error", "-f", "rawvideo", "-pix_fmt", pix_fmt]
            args += ["-s", f"{width}x{height}", "-i", src, *options]
            args += [*self._encoder_args(quality), "-frames:v", "1", "-f", self.muxer, "-y", dst]
            _run_ffmpeg(args, self.label)
            with open(dst, "rb") as f:
                data = f.read()
        if not data:
            raise BaselineError(f"{self.label}: encoder wrote an empty bitstream")
        return data

    def _decode_raw(self, data: bytes, options: list[str]) -> bytes:
        """One ffmpeg decode of ``data`` to raw video with output ``options``."""
        with tempfile.TemporaryDirectory(prefix="licodec-dec-") as tmp:
            src = os.path.join(tmp, f"input.{self.muxer}")
            with open(src, "wb") as f:
                f.write(data)
            args = ["-loglevel", "error", "-c:v", self.decoder, "-f", self.muxer, "-i", src]
            args += ["-frames:v", "1", *options, "-f", "rawvideo", "-"]
            return _run_ffmpeg(args, self.label).stdout

    def decode(self, data: bytes, height: int, width: int) -> np.ndarray:
        self.check_available()
        ph, pw = (height + height % 2, width + width % 2) if self.even_size else (height, width)
        raw = self._decode_raw(data, ["-vf", self._scale("in"), "-pix_fmt", "rgb24"])
        if len(raw) != ph * pw * 3:
            raise BaselineError(
                f"{self.label}: decoder returned {len(raw)} bytes, expected {ph}×{pw}×3"
            )
        out = np.frombuffer(raw, dtype=np.uint8).reshape(ph, pw, 3)[:height, :width]
        return out.copy()

    def encode_planes(self, planes: YuvPlanes, quality: float) -> bytes:
        """Encode a 4:2:0 picture's planes as they are (no colour conversion): samples are
        shifted to the codec's bit depth (``<< 2`` from 8 to 10 bits) and odd sides padded
        by edge replication.

        Raises:
            BaselineError: the codec does not code 4:2:0.
        """
        self.check_available()
        bits = self._plane_bits()
        padded = _pad_planes(planes)
        h, w = padded.y.shape
        shift = bits - planes.bits
        dtype = np.uint8 if bits == 8 else np.dtype("<u2")
        raw = b"".join(
            (p.astype(np.uint16) << shift).astype(dtype).tobytes()
            for p in (padded.y, padded.u, padded.v)
        )
        return self._encode_raw(raw, self.pix_fmt, w, h, ["-color_range", "tv"], quality)

    def decode_planes(self, data: bytes, height: int, width: int, bits: int) -> YuvPlanes:
        """Decode :meth:`encode_planes`' bytes to ``bits``-bit planes of ``height``×``width``
        (from 10 to 8 bits by rounding, ``(s + 2) >> 2``, clipped)."""
        self.check_available()
        coded = self._plane_bits()
        ph, pw = height + height % 2, width + width % 2
        raw = self._decode_raw(data, ["-pix_fmt", self.pix_fmt])
        samples = np.frombuffer(raw, dtype=np.uint8 if coded == 8 else np.dtype("<u2"))
        chroma = (ph // 2) * (pw // 2)
        if samples.size != ph * pw + 2 * chroma:
            raise BaselineError(
                f"{self.label}: decoder returned {samples.size} samples, expected a "
                f"{pw}×{ph} 4:2:0 picture"
            )
        shift = coded - bits
        peak = (1 << bits) - 1
        out = np.clip((samples.astype(np.int64) + ((1 << shift) >> 1)) >> shift, 0, peak)
        out = out.astype(np.uint8 if bits == 8 else np.uint16)
        y = out[: ph * pw].reshape(ph, pw)[:height, :width]
        u = out[ph * pw : ph * pw + chroma].reshape(ph // 2, pw // 2)
        v = out[ph * pw + chroma :].reshape(ph // 2, pw // 2)
        return YuvPlanes(y.copy(), u.copy(), v.copy(), bits)

    def _plane_bits(self) -> int:
        """Bit depth of the codec's 4:2:0 format (``BaselineError`` if it is not 4:2:0)."""
        if self.pix_fmt not in ("yuv420p", "yuv420p10le"):
            raise BaselineError(f"{self.label} codes {self.pix_fmt}, not 4:2:0 planes")
        return 8 if self.pix_fmt == "yuv420p" else 10


def _pad_planes(planes: YuvPlanes) -> YuvPlanes:
    """Even luma sides by edge replication (the chroma planes already have ``⌈side/2⌉``)."""
    h, w = planes.y.shape
    y = np.pad(planes.y, ((0, h % 2), (0, w % 2)), mode="edge")
    return YuvPlanes(y, planes.u, planes.v, planes.bits)


def _pad_even(image: np.ndarray) -> np.ndarray:
    """Edge-replicate the bottom row / right column so both sides are even (4:2:0 needs it)."""
    h, w = image.shape[:2]
    if h % 2 == 0 and w % 2 == 0:
        return image
    return np.pad(image, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")


class HevcCodec(FfmpegCodec):
    """HEVC intra 4:4:4 8-bit with x265, like BPG: one I picture, constant QP."""

    name = "hevc-444"
    label = "HEVC 4:4:4 (x265)"
    chroma = "4:4:4"
    parameter = "QP (constant, intra slice)"
    default_qualities = (18, 21, 24, 27, 30, 33, 36, 40)
    encoder = "libx265"
    decoder = "hevc"
    muxer = "hevc"
    pix_fmt = "yuv444p"
    even_size = False
    resample = ""
    version_pattern = r"HEVC encoder version (\S+)"
    preset = "veryslow"

    def settings(self) -> str:
        return (
            f"Main 4:4:4 8-bit, preset {self.preset}, tune psnr (no AQ, no psy-rd), "
            "all-intra (keyint=1), ipratio=1 so QP is the slice QP, BT.601 limited range "
            "(ffmpeg swscale), raw Annex-B .hevc bitstream without version SEI"
        )

    def _encoder_args(self, quality: float) -> list[str]:
        params = f"qp={int(quality)}:ipratio=1:keyint=1:min-keyint=1:bframes=0:info=0"
        return ["-c:v", "libx265", "-preset", self.preset, "-tune", "psnr", "-x265-params", params]


class Hevc420Codec(HevcCodec):
    """HEVC intra 4:2:0 8-bit (Main profile) with x265, for YUV 4:2:0 pictures."""

    name = "hevc-420"
    label = "HEVC 4:2:0 (x265)"
    chroma = "4:2:0"
    pix_fmt = "yuv420p"
    even_size = True
    resample = "lanczos"

    def settings(self) -> str:
        return super().settings().replace("Main 4:4:4 8-bit", "Main 4:2:0 8-bit")


class VvcCodec(FfmpegCodec):
    """VVC intra 4:2:0 10-bit with vvenc (Fraunhofer's fast VVC encoder).

    Preset ``fast``: on six Kodak images (QP 20–44) it costs +4.0 % BD-rate (PSNR) against
    vvenc's default ``medium`` at about a third of the encoding time; ``faster`` costs +13 %.
    """

    name = "vvc-420"
    label = "VVC 4:2:0 (vvenc)"
    chroma = "4:2:0"
    parameter = "QP (vvenc -qp)"
    default_qualities = (20, 23, 26, 29, 32, 35, 38, 41, 44)
    encoder = "libvvenc"
    decoder = "vvc"
    muxer = "vvc"
    pix_fmt = "yuv420p10le"
    even_size = True
    resample = "lanczos"
    version_pattern = r"libvvenc version: (\S+)"
    preset = "fast"

    def settings(self) -> str:
        return (
            f"Main 10 4:2:0 10-bit, preset {self.preset}, perceptual QPA off, single intra "
            "picture at constant QP, BT.601 limited range, Lanczos chroma down/up-sampling "
            "(ffmpeg swscale), raw .266 bitstream"
        )

    def _encoder_args(self, quality: float) -> list[str]:
        return ["-c:v", "libvvenc", "-preset", self.preset, "-qp", str(int(quality)), "-qpa", "0"]


class Jpeg420Codec(FfmpegCodec):
    """Baseline JPEG 4:2:0 (ffmpeg's ``mjpeg`` encoder), for YUV 4:2:0 planes.

    ``[D]`` ffmpeg's JPEG encoder, not libjpeg-turbo: it takes the 4:2:0 planes as they are
    (limited-range samples stored unchanged, ``-strict unofficial``), where imagecodecs and
    Pillow take RGB and subsample themselves; Huffman tables are optimised per picture.
    """

    name = "jpeg-420"
    label = "JPEG 4:2:0 (ffmpeg mjpeg)"
    chroma = "4:2:0"
    parameter = "qscale (-q:v, 2 best … 31 worst)"
    default_qualities = (31, 24, 18, 13, 10, 7, 5, 4, 3, 2)
    encoder = "mjpeg"
    decoder = "mjpeg"
    muxer = "mjpeg"
    pix_fmt = "yuv420p"
    even_size = True
    resample = "lanczos"
    version_pattern = r"(?!)"

    def version(self) -> str:
        return f"ffmpeg's native mjpeg encoder, ffmpeg {_ffmpeg_version()}"

    def settings(self) -> str:
        return (
            "baseline JPEG 4:2:0 8-bit, fixed qscale, optimised Huffman tables, JFIF file; "
            "planes stored as given (limited range)"
        )

    def _encoder_args(self, quality: float) -> list[str]:
        return ["-strict", "unofficial", "-c:v", "mjpeg", "-q:v", str(int(quality)),
                "-huffman", "optimal"]  # fmt: skip


class Av1Intra420Codec(FfmpegCodec):
    """AV1 intra 4:2:0 8-bit with libaom (AVIF's coding of a still picture), for planes.

    ``[D]`` a raw AV1 still-picture OBU stream: AVIF wraps exactly this in a HEIF box (a few
    hundred bytes more); ``imagecodecs`` / Pillow AVIF take RGB, not planes.
    """

    name = "av1-420"
    label = "AV1 intra 4:2:0 (libaom, AVIF's coding)"
    chroma = "4:2:0"
    parameter = "CRF (constant quality, 0–63)"
    default_qualities = (58, 52, 46, 40, 34, 28, 22, 16)
    encoder = "libaom-av1"
    decoder = "libdav1d"
    muxer = "obu"
    pix_fmt = "yuv420p"
    even_size = True
    resample = "lanczos"
    version_pattern = r"\[libaom-av1 @ \w+\] (v\S+)"
    cpu_used = 4

    def settings(self) -> str:
        return (
            f"Main 4:2:0 8-bit, still picture, cpu-used {self.cpu_used}, constant quality "
            "(crf, b:v 0), raw OBU stream, decoded by dav1d"
        )

    def _encoder_args(self, quality: float) -> list[str]:
        return ["-c:v", "libaom-av1", "-still-picture", "1", "-crf", str(int(quality)),
                "-b:v", "0", "-cpu-used", str(self.cpu_used)]  # fmt: skip
