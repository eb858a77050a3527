"""Classic image codecs as rate-distortion baselines, run for real.

Every codec here takes an H×W×3 uint8 RGB image and a quality parameter, runs a real encoder,
returns the exact bytes it wrote and decodes them back to RGB uint8 with the matching decoder.
The rate of a coded image is therefore ``bpp = 8 · len(bytes) / (H · W)``, no estimates.

=============  =================================  ==========  ==================================
name           encoder                            chroma      swept parameter
=============  =================================  ==========  ==================================
jpeg           libjpeg-turbo (imagecodecs)        4:2:0       quality 1–100
webp           libwebp, lossy (imagecodecs)       4:2:0       quality 0–100
jpeg2000       OpenJPEG, irreversible 9/7 + ICT   4:4:4       target PSNR in dB (``level``)
avif           libavif + aom (Pillow)             4:2:0       quality 0–100
jpegxl         libjxl (imagecodecs)               4:4:4 XYB   quality 0–100 (→ distance)
hevc-444       x265 through ffmpeg, all-intra     4:4:4 8b    QP
hevc-420       x265 through ffmpeg, all-intra     4:2:0 8b    QP
vvc-420        vvenc through ffmpeg, intra        4:2:0 10b   QP
jpeg-420       ffmpeg mjpeg (4:2:0 planes)        4:2:0       qscale 2–31
av1-420        libaom still picture via ffmpeg    4:2:0 8b    CRF 0–63
=============  =================================  ==========  ==================================

HEVC and VVC use the static ffmpeg shipped by ``imageio-ffmpeg``. The RGB → Y'CbCr conversion
(BT.601 matrix, limited range) and, for 4:2:0, the Lanczos chroma resampling are done by
ffmpeg's swscale on both sides, with explicit matrix and range so encoder and decoder agree.
Limited range is used because swscale's 8-bit full-range path loses about 3 dB on a lossless
round trip while its limited-range path is within 0.15 dB of an ideal 8-bit conversion. The
byte count is that of the raw Annex-B bitstream (``.hevc`` / ``.266``: parameter sets and one
intra picture, no container, x265's version SEI disabled). Images with an odd side are padded
by edge replication to even size for 4:2:0 coding and cropped after decoding. Encoding and
decoding times of the ffmpeg codecs include process start-up and colour conversion.

``hevc-420``, ``vvc-420``, ``jpeg-420`` and ``av1-420`` also code YUV 4:2:0 planes directly
(``run_yuv_baseline``, ``licodec baseline --yuv420``): no colour conversion on either side,
samples shifted to the codec's depth and back by rounding, PSNR-Y/U/V/YUV and MS-SSIM-Y
against the planes.

A codec that cannot run on this machine raises :class:`CodecUnavailableError` naming it.
"""

from licodec.app.baselines.base import (
    BaselineCodec,
    BaselineError,
    CodecUnavailableError,
    CodedImage,
)
from licodec.app.baselines.registry import ALIASES, CODECS, get_codec
from licodec.app.baselines.sweep import load_rgb, run_baseline, run_yuv_baseline

__all__ = [
    "ALIASES",
    "CODECS",
    "BaselineCodec",
    "BaselineError",
    "CodecUnavailableError",
    "CodedImage",
    "get_codec",
    "load_rgb",
    "run_baseline",
    "run_yuv_baseline",
]
