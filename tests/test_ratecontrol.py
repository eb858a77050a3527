"""Rate control: the highest shipped quality whose real file fits a byte budget."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import licodec
from licodec.app import codec, ratecontrol, zoo
from licodec.cli.main import main
from licodec.errors import BudgetError

MODEL = zoo.DEFAULT_MODEL


@pytest.fixture(scope="module")
def crop(kodim01) -> np.ndarray:
    return np.asarray(Image.open(kodim01).convert("RGB"))[200:264, 300:396].copy()


@pytest.fixture(scope="module")
def sizes(crop) -> dict[int, bytes]:
    """Each shipped quality's file of the crop."""
    return {q: codec.encode(crop, zoo.load_model(MODEL, q)) for q in zoo.shipped_qualities(MODEL)}


def test_budget_picks_the_highest_quality_that_fits(crop, sizes) -> None:
    qualities = sorted(sizes)
    assert len(qualities) >= 3
    lengths = [len(sizes[q]) for q in qualities]
    assert lengths == sorted(lengths), "files should grow with quality"
    for index, quality in enumerate(qualities):
        data, chosen = ratecontrol.encode_within(crop, len(sizes[quality]), MODEL)
        assert (chosen, data) == (quality, sizes[quality])
        if index > 0 and lengths[index - 1] < lengths[index]:
            _, below = ratecontrol.encode_within(crop, len(sizes[quality]) - 1, MODEL)
            assert below == qualities[index - 1]
    assert ratecontrol.encode_within(crop, 10**9, MODEL)[1] == qualities[-1]
    assert licodec.compress(crop, max_bytes=len(sizes[qualities[1]])) == sizes[qualities[1]]
    with pytest.raises(licodec.ModelError, match="no quality"):
        licodec.compress(crop, quality=2, max_bytes=10**6)


def test_budget_below_the_lowest_quality_names_its_size(crop, sizes) -> None:
    lowest = min(sizes)
    with pytest.raises(BudgetError, match=f"needs {len(sizes[lowest])} bytes"):
        ratecontrol.encode_within(crop, len(sizes[lowest]) - 1, MODEL)
    with pytest.raises(BudgetError, match="at least one byte"):
        ratecontrol.encode_within(crop, 0, MODEL)
    with pytest.raises(BudgetError, match="positive"):
        ratecontrol.bytes_for_bpp(0.0, 64, 96)
    assert ratecontrol.bytes_for_bpp(0.5, 64, 96) == 384


def test_cli_max_bpp_and_bad_budgets(tmp_path, crop, sizes, capsys) -> None:
    source, out = tmp_path / "crop.png", tmp_path / "crop.lic"
    Image.fromarray(crop).save(source)
    middle = sorted(sizes)[len(sizes) // 2]
    max_bpp = (len(sizes[middle]) + 0.5) * 8 / (64 * 96)  # half a byte of float slack
    assert main(["encode", str(source), "-o", str(out), "--max-bpp", str(max_bpp)]) == 0
    assert out.read_bytes() == sizes[middle]
    capsys.readouterr()
    assert main(["encode", str(source), "-o", str(out), "-f", "--max-bytes", "20"]) == 2
    error = capsys.readouterr().err.strip()
    assert "too small" in error and "\n" not in error
    args = ["encode", str(source), "--max-bytes", "900", "--weights", str(source)]
    assert main(args) == 2
    assert "drop --weights" in capsys.readouterr().err
