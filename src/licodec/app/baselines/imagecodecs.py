"""Baselines through imagecodecs and Pillow: JPEG, WebP, JPEG 2000, JPEG XL, AVIF."""

from __future__ import annotations

import io
from typing import Any

import numpy as np

from licodec.app.baselines.base import (
    BaselineCodec,
    CodecUnavailableError,
    check_rgb,
)


def _imagecodecs(label: str, codec_attr: str) -> Any:
    """Import imagecodecs and check that the named codec was compiled in."""
    try:
        import imagecodecs
    except ImportError as err:
        raise CodecUnavailableError(
            f"{label} baseline needs the 'imagecodecs' package (pip install imagecodecs)"
        ) from err
    codec = getattr(imagecodecs, codec_attr, None)
    if codec is None or not getattr(codec, "available", False):
        raise CodecUnavailableError(
            f"{label} baseline unavailable: imagecodecs {imagecodecs.__version__} "
            f"was built without {codec_attr}"
        )
    return imagecodecs


class _ImagecodecsCodec(BaselineCodec):
    """An imagecodecs codec coding RGB uint8 arrays by ``{prefix}_encode(image, level=…,
    **encode_options)`` and ``{prefix}_decode(data)``; subclasses declare the names, the
    options and how a sweep value becomes ``level``."""

    codec_attr: str
    prefix: str
    encode_options: dict[str, Any] = {}

    def level(self, quality: float) -> float:
        """imagecodecs' ``level`` for one sweep value."""
        return float(quality)

    def check_available(self) -> None:
        _imagecodecs(self.label, self.codec_attr)

    def version(self) -> str:
        ic = _imagecodecs(self.label, self.codec_attr)
        return f"{getattr(ic, self.prefix + '_version')()} via imagecodecs {ic.__version__}"

    def encode(self, image: np.ndarray, quality: float) -> bytes:
        encode = getattr(_imagecodecs(self.label, self.codec_attr), self.prefix + "_encode")
        return bytes(encode(image, level=self.level(quality), **self.encode_options))

    def decode(self, data: bytes, height: int, width: int) -> np.ndarray:
        decode = getattr(_imagecodecs(self.label, self.codec_attr), self.prefix + "_decode")
        return check_rgb(decode(data), height, width, self.label)


class JpegCodec(_ImagecodecsCodec):
    """JPEG (libjpeg-turbo) with the same defaults as Pillow: 4:2:0, standard Huffman tables."""

    name = "jpeg"
    label = "JPEG"
    chroma = "4:2:0"
    parameter = "quality (1-100)"
    default_qualities = (5, 10, 20, 30, 45, 60, 75, 85)
    codec_attr = "JPEG8"
    prefix = "jpeg8"
    encode_options = {"subsampling": "420"}

    def settings(self) -> str:
        return "baseline sequential, standard Huffman tables (no optimize), JFIF"

    def level(self, quality: float) -> float:
        return int(quality)


class WebpCodec(_ImagecodecsCodec):
    """Lossy WebP (libwebp, VP8 intra, always 4:2:0), method 4 as in Pillow."""

    name = "webp"
    label = "WebP"
    chroma = "4:2:0"
    parameter = "quality (0-100)"
    default_qualities = (1, 10, 25, 40, 55, 70, 80, 90)
    codec_attr = "WEBP"
    prefix = "webp"
    encode_options = {"lossless": False, "method": 4}

    def settings(self) -> str:
        return "lossy, method 4 (libwebp and Pillow default), RIFF container"


class Jpeg2000Codec(_ImagecodecsCodec):
    """JPEG 2000 (OpenJPEG) whose rate is set by a target PSNR (OpenJPEG's ``tcp_distoratio``)."""

    name = "jpeg2000"
    label = "JPEG 2000"
    chroma = "4:4:4"
    parameter = "target PSNR in dB (OpenJPEG distortion ratio, imagecodecs 'level')"
    default_qualities = (25, 27, 29, 31, 33, 35, 37, 39, 41)
    codec_attr = "JPEG2K"
    prefix = "jpeg2k"
    encode_options = {"reversible": False, "mct": True, "codecformat": "J2K"}

    def settings(self) -> str:
        return (
            "irreversible 9/7 wavelet with irreversible colour transform (ICT), "
            "single tile, one quality layer, raw J2K codestream"
        )


class JpegXlCodec(_ImagecodecsCodec):
    """JPEG XL (libjxl), VarDCT in the XYB colour space, effort 7 (libjxl default)."""

    name = "jpegxl"
    label = "JPEG XL"
    chroma = "4:4:4 (XYB)"
    parameter = "quality (0-100, mapped by libjxl to a Butteraugli distance)"
    default_qualities = (5, 15, 30, 45, 60, 75, 85, 90)
    codec_attr = "JPEGXL"
    prefix = "jpegxl"
    encode_options = {"effort": 7, "usecontainer": False}

    def settings(self) -> str:
        return f"lossy VarDCT, effort {self.encode_options['effort']}, raw codestream"


class AvifCodec(BaselineCodec):
    """AVIF (AV1 intra in HEIF) through Pillow's own AVIF plugin, else through imagecodecs."""

    name = "avif"
    label = "AVIF"
    chroma = "4:2:0"
    parameter = "quality (0-100)"
    default_qualities = (10, 20, 30, 40, 50, 60, 70, 80)
    speed = 4

    def _backend(self) -> str:
        try:
            from PIL import features

            if features.check("avif"):
                return "pillow"
        except ImportError:
            pass
        try:
            _imagecodecs(self.label, "AVIF")
        except CodecUnavailableError as err:
            raise CodecUnavailableError(
                "AVIF baseline unavailable: neither Pillow's AVIF plugin nor imagecodecs' "
                "AVIF codec is installed"
            ) from err
        return "imagecodecs"

    def check_available(self) -> None:
        self._backend()

    def version(self) -> str:
        if self._backend() == "pillow":
            import PIL
            from PIL import features

            return f"libavif {features.version('avif')} via Pillow {PIL.__version__}"
        ic = _imagecodecs(self.label, "AVIF")
        return f"{ic.avif_version()} via imagecodecs {ic.__version__}"

    def settings(self) -> str:
        return f"encoder speed {self.speed}, full-range YUV, codec chosen by libavif (aom)"

    def encode(self, image: np.ndarray, quality: float) -> bytes:
        if self._backend() == "pillow":
            from PIL import Image

            buf = io.BytesIO()
            Image.fromarray(image).save(
                buf,
                format="AVIF",
                quality=int(quality),
                subsampling="4:2:0",
                speed=self.speed,
                range="full",
            )
            return buf.getvalue()
        ic = _imagecodecs(self.label, "AVIF")
        return bytes(
            ic.avif_encode(image, level=int(quality), speed=self.speed, pixelformat="yuv420")
        )

    def decode(self, data: bytes, height: int, width: int) -> np.ndarray:
        if self._backend() == "pillow":
            from PIL import Image

            with Image.open(io.BytesIO(data)) as im:
                out = np.asarray(im.convert("RGB"))
        else:
            out = _imagecodecs(self.label, "AVIF").avif_decode(data)
        return check_rgb(out, height, width, self.label)
