"""Classic-codec baselines: real bytes, real decodes, honest bpp; plus the metrics they use."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from pytorch_msssim import ms_ssim as reference_ms_ssim

from licodec.app import baselines
from licodec.app.baselines import (
    BaselineError,
    CodecUnavailableError,
    get_codec,
    run_baseline,
    run_yuv_baseline,
)
from licodec.cli.main import main
from licodec.core.metrics import ms_ssim, ms_ssim_scales, psnr, psnr_uint8, yuv_metrics
from licodec.core.yuv import rgb_to_yuv420

KODAK = Path(__file__).resolve().parents[2] / "shared" / "data" / "kodak"


def smooth_image(height: int, width: int, seed: int = 0) -> np.ndarray:
    """Gradients plus a little blurred noise: compressible like a photo, not like noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    base = np.stack(
        [
            120 + 80 * np.sin(x / 9.0) * np.cos(y / 13.0),
            100 + 0.9 * x + 0.5 * y,
            200 - 1.2 * y + 20 * np.sin((x + y) / 7.0),
        ],
        axis=-1,
    )
    noise = rng.normal(scale=6.0, size=base.shape)
    noise = (noise + np.roll(noise, 1, 0) + np.roll(noise, 1, 1)) / 3
    return np.clip(base + noise, 0, 255).round().astype(np.uint8)


@pytest.fixture(scope="module")
def kodak_crop() -> np.ndarray:
    path = KODAK / "kodim23.png"
    assert path.is_file(), f"Kodak images are expected at {KODAK}"
    return baselines.load_rgb(path)[160:256, 256:384].copy()  # 96×128, parrots


def _save(tmp_path: Path, name: str, image: np.ndarray) -> Path:
    path = tmp_path / name
    Image.fromarray(image).save(path)
    return path


# --------------------------------------------------------------------------- metrics


def test_psnr_matches_formula() -> None:
    a = torch.zeros(2, 3, 8, 8)
    b = torch.full((2, 3, 8, 8), 0.1)
    assert psnr(a, b).item() == pytest.approx(20.0)  # 10·log10(1 / 0.01)
    assert psnr(a, a).item() == float("inf")
    x = np.zeros((4, 4, 3), np.uint8)
    y = x.copy()
    y[0, 0, 0] = 16  # MSE = 256 / 48
    assert psnr_uint8(x, y) == pytest.approx(10 * np.log10(255**2 * 48 / 256))
    assert psnr_uint8(x, x) == float("inf")


def test_ms_ssim_matches_pytorch_msssim_and_falls_back_on_small_images() -> None:
    torch.manual_seed(0)
    a = torch.rand(2, 3, 176, 192)
    b = (a + 0.1 * torch.randn_like(a)).clamp(0, 1)
    expected = reference_ms_ssim(a, b, data_range=1.0, size_average=False)
    assert torch.allclose(ms_ssim(a, b, reduction="none"), expected, atol=1e-6)
    # Our own multi-scale loop, forced to five scales, agrees with pytorch_msssim.
    own = baselines_ms_ssim_five_scales(a, b)
    assert torch.allclose(own, expected, atol=1e-5)

    small_a, small_b = a[..., :48, :64], b[..., :48, :64]
    assert ms_ssim_scales(48, 64) == 3
    value = ms_ssim(small_a, small_b)
    assert 0.0 < value.item() < 1.0
    assert ms_ssim(small_a, small_a).item() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="10 px"):
        ms_ssim(a[..., :10, :64], b[..., :10, :64])


def baselines_ms_ssim_five_scales(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    from licodec.core import metrics

    return metrics._ms_ssim_few_scales(a, b, 1.0, list(metrics.MS_SSIM_WEIGHTS))


# --------------------------------------------------------------------------- imagecodecs codecs


@pytest.mark.parametrize("codec_name", ["jpeg", "webp"])
@pytest.mark.parametrize("which", ["synthetic", "kodak"])
def test_jpeg_webp_bytes_match_reported_bpp(
    codec_name: str, which: str, kodak_crop: np.ndarray, tmp_path: Path
) -> None:
    image = smooth_image(40, 56) if which == "synthetic" else kodak_crop
    h, w = image.shape[:2]
    codec = get_codec(codec_name)
    coded = codec.code(image, 50)
    magic = {"jpeg": b"\xff\xd8\xff", "webp": b"RIFF"}[codec_name]
    assert coded.data.startswith(magic)

    # An independent decoder (Pillow) reads the same bytes to nearly the same image.
    with Image.open(io.BytesIO(coded.data)) as im:
        other = np.asarray(im.convert("RGB"))
    assert other.shape == image.shape
    assert abs(psnr_uint8(image, other) - psnr_uint8(image, coded.decoded)) < 0.5

    # run_baseline reports exactly these bytes and this PSNR (the encoders are deterministic).
    result = run_baseline(codec_name, [_save(tmp_path, "x.png", image)], [50], progress=False)
    assert result["results"]["bpp"] == [8 * len(coded.data) / (h * w)]
    assert result["results"]["psnr-rgb"][0] == pytest.approx(psnr_uint8(image, coded.decoded))
    assert result["meta"]["chroma"] == "4:2:0"


@pytest.mark.parametrize(
    ("codec_name", "qualities"),
    [
        ("jpeg", (10, 50, 90)),
        ("webp", (10, 50, 90)),
        ("jpeg2000", (26, 32, 38)),
        ("avif", (20, 50, 80)),
        ("jpegxl", (20, 50, 90)),
    ],
)
def test_psnr_and_rate_increase_with_quality(
    codec_name: str, qualities: tuple[int, ...], kodak_crop: np.ndarray
) -> None:
    codec = get_codec(codec_name)
    coded = [codec.code(kodak_crop, q) for q in qualities]
    psnrs = [psnr_uint8(kodak_crop, c.decoded) for c in coded]
    sizes = [len(c.data) for c in coded]
    assert psnrs == sorted(psnrs) and len(set(psnrs)) == len(psnrs), psnrs
    assert sizes == sorted(sizes) and len(set(sizes)) == len(sizes), sizes
    assert psnrs[-1] > 30.0


def test_avif_falls_back_to_imagecodecs(monkeypatch: pytest.MonkeyPatch) -> None:
    from PIL import features

    monkeypatch.setattr(features, "check", lambda name: False)
    codec = get_codec("avif")
    assert "imagecodecs" in codec.version()
    image = smooth_image(48, 64)
    coded = codec.code(image, 60)
    assert coded.data[4:12] == b"ftypavif"
    assert psnr_uint8(image, coded.decoded) > 30.0


# --------------------------------------------------------------------------- ffmpeg codecs


@pytest.mark.parametrize(
    ("codec_name", "shape"),
    [("hevc-444", (48, 64)), ("vvc-420", (48, 64)), ("vvc-420", (49, 65))],
)
def test_hevc_vvc_round_trip(codec_name: str, shape: tuple[int, int]) -> None:
    image = smooth_image(*shape, seed=1)
    codec = get_codec(codec_name)
    coded = codec.code(image, 24)
    assert coded.data.startswith((b"\x00\x00\x01", b"\x00\x00\x00\x01"))  # Annex-B
    assert coded.decoded.shape == image.shape
    # Measured ≈ 37 dB; a colour-matrix or range mismatch between the two sides drops far below.
    assert psnr_uint8(image, coded.decoded) > 33.0
    # Decoding the same bytes again is deterministic.
    assert np.array_equal(codec.decode(coded.data, *shape), coded.decoded)
    # A coarser QP spends fewer bytes.
    assert len(codec.code(image, 40).data) < len(coded.data)


def test_ffmpeg_garbage_bitstream_is_a_clear_error() -> None:
    with pytest.raises(BaselineError, match="HEVC"):
        get_codec("hevc").decode(b"\x00\x00\x00\x01" + b"\x17" * 40, 48, 64)


def test_missing_codec_support_names_the_codec(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(baselines.ffmpeg, "_ffmpeg_list", lambda kind: frozenset())
    with pytest.raises(CodecUnavailableError, match="libvvenc"):
        get_codec("vvc").check_available()
    monkeypatch.setitem(sys.modules, "imagecodecs", None)
    with pytest.raises(CodecUnavailableError, match="JPEG XL"):
        get_codec("jxl").code(smooth_image(16, 16), 50)
    with pytest.raises(ValueError, match="known: "):
        get_codec("gif")


# --------------------------------------------------------------------------- sweeps and CLI


def test_run_baseline_layout_and_means(tmp_path: Path) -> None:
    images = [smooth_image(40, 56, seed=2), smooth_image(32, 48, seed=3)]
    paths = [_save(tmp_path, f"im{i}.png", im) for i, im in enumerate(images)]
    seen: dict[tuple[str, float], float] = {}

    def record(path: str, quality: float, coded: baselines.CodedImage) -> None:
        seen[(Path(path).name, quality)] = 8 * len(coded.data) / coded.decoded[..., 0].size

    result = run_baseline("jpeg", paths, [80, 20], progress=False, on_image=record)
    res = result["results"]
    assert set(res) == {"bpp", "psnr-rgb", "ms-ssim-rgb", "encoding_time", "decoding_time"}
    assert all(len(v) == 2 for v in res.values())
    assert res["bpp"] == sorted(res["bpp"])
    assert result["meta"]["qualities"] == [20, 80]
    for q, bpp in zip(result["meta"]["qualities"], res["bpp"], strict=True):
        assert bpp == pytest.approx((seen[("im0.png", q)] + seen[("im1.png", q)]) / 2)
    assert res["psnr-rgb"][0] < res["psnr-rgb"][1]
    assert 0 < res["ms-ssim-rgb"][0] < res["ms-ssim-rgb"][1] <= 1
    assert "libjpeg" in result["description"] and "4:2:0" in result["description"]
    json.dumps(result)  # serialisable as is


def test_baseline_cli_writes_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "imgs"
    folder.mkdir()
    _save(folder, "a.png", smooth_image(40, 56))
    out = tmp_path / "res" / "webp.json"
    argv = ["baseline", "webp", "--images", str(folder), "--qualities", "30", "70"]
    assert main([*argv, "-o", str(out), "--no-progress"]) == 0
    data = json.loads(out.read_text())
    assert data["name"] == "WebP" and len(data["results"]["bpp"]) == 2

    assert main(["baseline", "webp", "--images", str(tmp_path / "missing")]) == 2
    assert "not found" in capsys.readouterr().err


# --------------------------------------------------------------------------- YUV 4:2:0 planes


@pytest.mark.parametrize(
    ("codec_name", "bits", "fine", "coarse"),
    [
        ("hevc-420", 8, 22, 40),
        ("vvc-420", 8, 22, 40),
        ("vvc-420", 10, 22, 40),
        ("jpeg-420", 8, 2, 10),
        ("av1-420", 8, 16, 40),
    ],
)
def test_yuv_planes_are_coded_as_they_are(codec_name: str, bits: int, fine: int, coarse: int):
    picture = rgb_to_yuv420(smooth_image(37, 51, seed=4), bits=bits)
    codec = get_codec(codec_name)
    data = codec.encode_planes(picture, fine)
    decoded = codec.decode_planes(data, picture.height, picture.width, bits)
    assert decoded.y.shape == picture.y.shape and decoded.bits == bits
    scores = yuv_metrics(picture, decoded)
    assert scores["psnr-y"] > 38 and scores["psnr-u"] > 38  # no colour conversion in between
    assert len(codec.encode_planes(picture, coarse)) < len(data)


def test_yuv_sweep_reports_yuv_metrics_and_refuses_rgb_only_codecs(tmp_path: Path) -> None:
    paths = [_save(tmp_path, "a.png", smooth_image(40, 56, seed=2))]
    result = run_yuv_baseline("hevc-420", paths, [27, 37], progress=False)
    res = result["results"]
    assert {"bpp", "psnr-y", "psnr-u", "psnr-v", "psnr-yuv", "ms-ssim-y"} <= set(res)
    assert "psnr-rgb" not in res and res["psnr-yuv"][0] < res["psnr-yuv"][1]
    with pytest.raises(BaselineError, match="not YUV planes"):
        run_yuv_baseline("jpeg", paths, [50], progress=False)
    with pytest.raises(BaselineError, match="not 4:2:0 planes"):
        get_codec("hevc-444").encode_planes(rgb_to_yuv420(smooth_image(8, 8)), 30)
