"""YUV 4:2:0 files (.y4m, raw .yuv), the BT.709 conversion and the YUV metrics."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from licodec.app import zoo
from licodec.app.evaluate import measure_image_yuv420
from licodec.core.metrics import psnr_plane, yuv_metrics
from licodec.core.yuv import (
    YuvPlanes,
    read_y4m,
    read_yuv,
    rgb_to_yuv420,
    write_y4m,
    write_yuv,
    yuv420_to_rgb,
)
from licodec.errors import ImageInputError

KODIM01 = Path(__file__).resolve().parents[2] / "shared" / "data" / "kodak" / "kodim01.png"


def planes(height: int, width: int, bits: int = 8, seed: int = 0) -> YuvPlanes:
    rng = np.random.default_rng(seed)
    dtype = np.uint8 if bits == 8 else np.uint16
    ch, cw = -(-height // 2), -(-width // 2)
    peak = (1 << bits) - 1
    return YuvPlanes(
        rng.integers(0, peak + 1, (height, width)).astype(dtype),
        rng.integers(0, peak + 1, (ch, cw)).astype(dtype),
        rng.integers(0, peak + 1, (ch, cw)).astype(dtype),
        bits,
    )


def same(a: YuvPlanes, b: YuvPlanes) -> bool:
    return a.bits == b.bits and all(
        np.array_equal(getattr(a, p), getattr(b, p)) for p in ("y", "u", "v")
    )


@pytest.mark.parametrize(("bits", "size"), [(8, (6, 10)), (10, (7, 5))])
def test_y4m_and_yuv_round_trip_odd_sizes_included(tmp_path, bits: int, size: tuple) -> None:
    picture = planes(*size, bits)
    write_y4m(tmp_path / "a.y4m", picture)
    assert same(read_y4m(tmp_path / "a.y4m"), picture)
    write_yuv(tmp_path / "a.yuv", picture)
    fmt = "yuv420p" if bits == 8 else "yuv420p10le"
    assert same(read_yuv(tmp_path / "a.yuv", size[1], size[0], fmt), picture)
    header = (tmp_path / "a.y4m").read_bytes().split(b"\n")[0]
    assert header.endswith(b"C420jpeg" if bits == 8 else b"C420p10")


def test_several_frames_need_a_frame_number(tmp_path) -> None:
    first, second = planes(4, 6, seed=1), planes(4, 6, seed=2)
    body = b"".join(
        b"FRAME\n" + p.y.tobytes() + p.u.tobytes() + p.v.tobytes() for p in (first, second)
    )
    (tmp_path / "two.y4m").write_bytes(b"YUV4MPEG2 W6 H4 F25:1 C420mpeg2\n" + body)
    with pytest.raises(ImageInputError, match="2 frames: pick one with --frame N"):
        read_y4m(tmp_path / "two.y4m")
    assert same(read_y4m(tmp_path / "two.y4m", frame=1), second)
    with pytest.raises(ImageInputError, match="no frame 2"):
        read_y4m(tmp_path / "two.y4m", frame=2)
    (tmp_path / "two.yuv").write_bytes(body.replace(b"FRAME\n", b""))
    assert same(read_yuv(tmp_path / "two.yuv", 6, 4, frame=0), first)
    with pytest.raises(ImageInputError, match="--frame N"):
        read_yuv(tmp_path / "two.yuv", 6, 4)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"P6 6 4 255\n", "not a y4m file"),
        (b"YUV4MPEG2 W6 C420\nFRAME\n", "without a valid W and H"),
        (b"YUV4MPEG2 W6 H4 C422\nFRAME\n" + bytes(48), r"C422 \(4:2:2\) is not supported"),
        (b"YUV4MPEG2 W6 H4 C444\nFRAME\n" + bytes(72), r"C444 \(4:4:4\)"),
        (b"YUV4MPEG2 W6 H4 Cmono\nFRAME\n" + bytes(24), r"Cmono \(grey\)"),
        (b"YUV4MPEG2 W6 H4 C420jpeg\nFRAME\n" + bytes(30), "frame 0 is truncated"),
        (b"YUV4MPEG2 W6 H4 C420jpeg\nFRAME\n" + bytes(36) + b"JUNK", "does not start with FRAME"),
        (b"YUV4MPEG2 W6 H4 C420jpeg\n", "holds no frame"),
        (b"YUV4MPEG2 W0 H4 C420jpeg\n", "empty"),
    ],
)
def test_bad_y4m_files_get_one_line_errors(tmp_path, content: bytes, message: str) -> None:
    (tmp_path / "bad.y4m").write_bytes(content)
    with pytest.raises(ImageInputError, match=message) as error:
        read_y4m(tmp_path / "bad.y4m")
    assert "\n" not in str(error.value)


def test_raw_yuv_of_the_wrong_size_or_format_is_refused(tmp_path) -> None:
    (tmp_path / "a.yuv").write_bytes(bytes(36 + 1))
    with pytest.raises(ImageInputError, match="not a whole number of 6x4 yuv420p frames"):
        read_yuv(tmp_path / "a.yuv", 6, 4)
    (tmp_path / "b.yuv").write_bytes(bytes(36))
    with pytest.raises(ImageInputError, match="pixel format 'yuv422p'"):
        read_yuv(tmp_path / "b.yuv", 6, 4, "yuv422p")
    (tmp_path / "c.yuv").write_bytes(np.full(36, 1024, "<u2").tobytes())
    with pytest.raises(ImageInputError, match="above 1023"):
        read_yuv(tmp_path / "c.yuv", 6, 4, "yuv420p10le")


def test_bt709_limited_range_values() -> None:
    rgb = np.array([[[255, 255, 255], [0, 0, 0]], [[255, 0, 0], [255, 0, 0]]], np.uint8)
    yuv = rgb_to_yuv420(rgb)
    assert yuv.y.tolist() == [[235, 16], [63, 63]]  # 16 + 219·K_R = 62.6 for red
    red = rgb_to_yuv420(np.full((2, 2, 3), (255, 0, 0), np.uint8))
    assert int(red.v[0, 0]) == 240 and int(red.u[0, 0]) == round(128 - 224 * KR_CB)
    ten = rgb_to_yuv420(rgb, bits=10)
    assert ten.y.tolist() == [[940, 64], [250, 250]]


KR_CB = 0.2126 / (2 * (1 - 0.0722))


def test_rgb_round_trip_loses_only_chroma_detail() -> None:
    rgb = np.asarray(Image.open(KODIM01).convert("RGB"))[:101, :77]
    back = yuv420_to_rgb(rgb_to_yuv420(rgb))
    assert back.shape == rgb.shape
    grey = np.repeat(rgb[..., :1], 3, axis=2)  # no chroma: exact up to rounding
    assert np.abs(yuv420_to_rgb(rgb_to_yuv420(grey)).astype(int) - grey).max() <= 1
    assert psnr_plane(back, rgb, 255) > 30


def test_yuv_metrics_weight_luma_six_to_one() -> None:
    reference = planes(32, 48, bits=10, seed=3)
    noisy = YuvPlanes(
        np.clip(reference.y.astype(int) + 4, 0, 1023).astype(np.uint16),
        reference.u,
        np.clip(reference.v.astype(int) - 8, 0, 1023).astype(np.uint16),
        10,
    )
    rows = yuv_metrics(reference, noisy)
    assert rows["psnr-u"] == rows["psnr-yuv"] == float("inf")  # U untouched
    assert rows["psnr-y"] == pytest.approx(psnr_plane(reference.y, noisy.y, 1023))
    finite = yuv_metrics(reference, YuvPlanes(noisy.y, noisy.v, noisy.v, 10))
    expected = (6 * finite["psnr-y"] + finite["psnr-u"] + finite["psnr-v"]) / 8
    assert finite["psnr-yuv"] == pytest.approx(expected)
    assert 0 < finite["ms-ssim-y"] < 1


def test_rgb_models_are_measured_on_yuv_pictures_through_the_same_matrix(tmp_path) -> None:
    rgb = np.asarray(Image.open(KODIM01).convert("RGB"))[:64, :96]
    write_y4m(tmp_path / "a.y4m", rgb_to_yuv420(rgb))
    model = zoo.load_model("mbt2018-mean", 1)
    row = measure_image_yuv420(model, tmp_path / "a.y4m")
    assert row["bpp"] > 0 and 20 < row["psnr-y"] < row["psnr-u"]
    assert row["psnr-yuv"] == pytest.approx((6 * row["psnr-y"] + row["psnr-u"] + row["psnr-v"]) / 8)
