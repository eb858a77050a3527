"""Result loading, Bjøntegaard delta rate, RD plots and their CLI commands."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from licodec.app.report import bd_rate, bd_rate_table, load_results, ms_ssim_to_db, plot_rd
from licodec.cli.main import main

ANCHORS = Path(__file__).resolve().parents[2] / "shared" / "anchors" / "kodak"

RATE = [0.12, 0.25, 0.48, 0.85, 1.40, 2.20]
PSNR = [27.1, 29.6, 32.3, 35.0, 37.8, 40.4]


def _anchor_files() -> list[Path]:
    files = sorted(ANCHORS.glob("*.json"))
    assert files, f"published anchors are expected in {ANCHORS}"
    return files


def _write(tmp_path: Path, name: str, data: dict) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


# --------------------------------------------------------------------------- BD-rate


@pytest.mark.parametrize("method", ["cubic", "pchip"])
def test_bd_rate_of_a_curve_against_itself_is_zero(method: str) -> None:
    assert bd_rate(RATE, PSNR, RATE, PSNR, method) == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("method", ["cubic", "pchip"])
@pytest.mark.parametrize("scale", [0.9, 1.2, 0.5])
def test_bd_rate_of_scaled_rates_is_the_scale(scale: float, method: str) -> None:
    scaled = [r * scale for r in RATE]
    got = bd_rate(RATE, PSNR, scaled[::-1], PSNR[::-1], method)  # point order does not matter
    assert got == pytest.approx((scale - 1) * 100, abs=1e-6)


@pytest.mark.parametrize("method", ["cubic", "pchip"])
def test_bd_rate_matches_closed_form_on_log_linear_curves(method: str) -> None:
    # ln R = D/10 for the anchor and (D − 1)/10 for the test: the test needs exp(−0.1) the rate.
    d_a = [28.0, 30.0, 32.0, 34.0, 36.0]
    d_t = [28.5, 30.5, 32.5, 34.5, 36.5, 38.5]
    r_a = [math.exp(d / 10) for d in d_a]
    r_t = [math.exp((d - 1) / 10) for d in d_t]
    expected = (math.exp(-0.1) - 1) * 100
    assert bd_rate(r_a, d_a, r_t, d_t, method) == pytest.approx(expected, abs=1e-6)
    # Better quality at the same rate gives a negative BD-rate, worse gives positive.
    assert bd_rate(RATE, PSNR, RATE, [p + 1 for p in PSNR], method) < -5
    assert bd_rate(RATE, PSNR, RATE, [p - 1 for p in PSNR], method) > 5


def test_piecewise_bd_rate_follows_a_flattening_curve_where_the_cubic_swings() -> None:
    # Kodak 4:2:0, PSNR-YUV: the RGB twin, and a curve that flattens at the top (its last two
    # points 0.09 dB apart). At every anchor point the test curve, read off straight lines
    # between its own points in (quality, ln R), needs 10–25% fewer bits.
    anchor_rate, anchor_q = [0.1805, 0.2366, 0.2736, 0.2918], [29.611, 29.976, 30.150, 30.213]
    test_rate, test_q = [0.1341, 0.2113, 0.3194, 0.5001], [29.304, 30.082, 30.364, 30.453]
    for rate, q in zip(anchor_rate, anchor_q, strict=True):
        ratio = math.exp(float(np.interp(q, test_q, np.log(test_rate)))) / rate
        assert 0.75 < ratio < 0.9
    piecewise = bd_rate(anchor_rate, anchor_q, test_rate, test_q, "pchip")
    assert -25 < piecewise < -10
    # The four-point cubic passes through every point and overshoots between them: it puts
    # the test curve at 0.33 bpp for 29.61 dB, where its points say 0.16, and flips the sign.
    assert bd_rate(anchor_rate, anchor_q, test_rate, test_q, "cubic") > 0


def test_bd_rate_rejects_bad_curves() -> None:
    with pytest.raises(ValueError, match="overlap"):
        bd_rate(RATE, PSNR, RATE, [p + 20 for p in PSNR])
    with pytest.raises(ValueError, match="at least 4"):
        bd_rate(RATE[:3], PSNR[:3], RATE, PSNR)
    with pytest.raises(ValueError, match="at least 4"):
        bd_rate(RATE, PSNR, RATE[:3], PSNR[:3])
    with pytest.raises(ValueError, match="non-positive"):
        bd_rate([0.0, *RATE[1:]], PSNR, RATE, PSNR)
    with pytest.raises(ValueError, match="distinct quality"):
        bd_rate(RATE, PSNR, RATE, [*PSNR[:-1], PSNR[-2]], "pchip")
    with pytest.raises(ValueError, match="method"):
        bd_rate(RATE, PSNR, RATE, PSNR, "linear")


# --------------------------------------------------------------------------- loading


def test_every_published_anchor_loads() -> None:
    for path in _anchor_files():
        data = load_results(path)
        res = data["results"]
        assert data["name"], path
        assert res["bpp"] == sorted(res["bpp"]), path
        assert {len(v) for v in res.values()} == {len(res["bpp"])}, path
        assert "psnr-rgb" in res or "ms-ssim-db-rgb" in res, path
        if "ms-ssim-rgb" in res:
            assert res["ms-ssim-db-rgb"][0] == pytest.approx(ms_ssim_to_db(res["ms-ssim-rgb"][0]))


def test_load_normalises_variants(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "odd.json",
        {
            "results": {
                "bpp": [0.5, 0.2, 1.0],
                "psnr": [32.0, 29.0, 36.0],
                "ms-ssim-db": [15.0, 12.0, 20.0],
                "per_image": [{"x": 1}],
            }
        },
    )
    data = load_results(path)
    assert data["name"] == "odd"
    res = data["results"]
    assert res["bpp"] == [0.2, 0.5, 1.0]
    assert res["psnr-rgb"] == [29.0, 32.0, 36.0]
    assert res["ms-ssim-rgb"][0] == pytest.approx(1 - 10 ** (-1.2))
    assert "per_image" not in res

    points = {"name": "pts", "results": [{"bpp": 0.4, "psnr": 31}, {"bpp": 0.1, "psnr": 26}]}
    assert load_results(points)["results"]["psnr-rgb"] == [26.0, 31.0]

    bad = _write(tmp_path, "bad.json", {"results": {"bpp": [0.1, 0.2], "psnr-rgb": [30.0]}})
    with pytest.raises(ValueError, match="psnr-rgb"):
        load_results(bad)
    with pytest.raises(ValueError, match="bpp"):
        load_results(_write(tmp_path, "nobpp.json", {"results": {"psnr-rgb": [30.0]}}))


def test_bd_rate_table_against_published_anchors() -> None:
    bpg = ANCHORS / "bpg_444_x265_ycbcr.json"
    others = [ANCHORS / "vtm.json", ANCHORS / "jpeg.json", ANCHORS / "paper-elic2022_ms-ssim.json"]
    rows = {Path(r["path"]).stem: r for r in bd_rate_table(bpg, others)}
    assert -30 < rows["vtm"]["bd_rate"] < -5  # VTM beats BPG by roughly a fifth
    assert rows["jpeg"]["bd_rate"] > 50
    assert rows["paper-elic2022_ms-ssim"]["bd_rate"] is None  # no PSNR in that file
    assert "psnr-rgb" in rows["paper-elic2022_ms-ssim"]["error"]
    ms = bd_rate_table(bpg, [ANCHORS / "paper-elic2022_ms-ssim.json"], metric="ms-ssim")
    assert ms[0]["metric"] == "ms-ssim-db-rgb" and ms[0]["bd_rate"] < -20


# --------------------------------------------------------------------------- plots and CLI


def test_plot_writes_png(tmp_path: Path) -> None:
    ours = _write(
        tmp_path,
        "ours.json",
        {"name": "JPEG", "results": {"bpp": RATE, "psnr-rgb": PSNR}},
    )
    out = plot_rd([ANCHORS / "jpeg.json", ours, ANCHORS / "vtm.json"], tmp_path / "p" / "rd.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(out) as im:
        assert im.width > 1000 and im.height > 300  # two panels side by side
    single = plot_rd([ours], tmp_path / "psnr.png", metric="psnr")
    with Image.open(single) as im:
        assert im.width < 1000


def test_bdrate_and_plot_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["bdrate", "--anchor", str(ANCHORS / "bpg_444_x265_ycbcr.json"), "--json"]
    assert main([*argv, str(ANCHORS / "vtm.json"), str(ANCHORS / "hm.json")]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert [r["name"] for r in rows] == ["VTM", "HM"]
    assert rows[0]["bd_rate"] < rows[1]["bd_rate"]

    assert main(["bdrate", "--anchor", str(ANCHORS / "jpeg.json"), str(ANCHORS / "webp.json")]) == 0
    assert "WebP" in capsys.readouterr().out
    assert main([*argv, "--method", "pchip", str(ANCHORS / "vtm.json")]) == 0
    piecewise = json.loads(capsys.readouterr().out)["rows"][0]["bd_rate"]
    assert piecewise < 0 and piecewise != rows[0]["bd_rate"]

    out = tmp_path / "rd.png"
    assert main(["plot", str(ANCHORS / "webp.json"), "-o", str(out)]) == 0 and out.is_file()
    assert main(["plot", str(tmp_path / "missing.json"), "-o", str(out)]) == 2


def test_yuv_results_get_bd_rates_and_plots_in_psnr_yuv(tmp_path: Path) -> None:
    def curve(scale: float) -> dict:
        bpp = [0.2, 0.4, 0.8, 1.6]
        return {
            "name": f"x{scale}",
            "results": {
                "bpp": [b * scale for b in bpp],
                "psnr-yuv": [30.0, 33.0, 36.0, 39.0],
                "ms-ssim-y": [0.9, 0.95, 0.975, 0.9875],
            },
        }

    loaded = load_results(curve(1.0))
    assert loaded["results"]["ms-ssim-db-y"] == pytest.approx(
        [10.0, 13.0103, 16.0206, 19.0309], 1e-4
    )
    for metric in ("psnr-yuv", "ms-ssim-y"):
        row = bd_rate_table(curve(1.0), [curve(1.1)], metric=metric)[0]
        assert row["bd_rate"] == pytest.approx(10.0, abs=1e-6)
    out = plot_rd([curve(1.0), curve(1.1)], tmp_path / "yuv.png", metric="yuv")
    assert Image.open(out).size[0] > 0
