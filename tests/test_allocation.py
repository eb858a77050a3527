"""Dataset rate allocation: exact, within budget, real files."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from licodec.app.allocation import Candidate, Option, choose, parse_candidates
from licodec.cli.main import main
from licodec.core.bitstream import unpack
from licodec.errors import BudgetError, ModelError


def synthetic(rng: np.random.Generator, images: int, choices: int) -> list[list[Option]]:
    """Options with rising sizes and falling errors, as a real set of qualities has."""
    out = []
    for _ in range(images):
        sizes = np.cumsum(rng.integers(5, 60, choices)) + 20
        errors = np.sort(rng.random(choices) * 1000)[::-1]
        out.append(
            [Option(Candidate("m", k + 1), b"x" * int(s), float(e), 0.0, 0.0)
             for k, (s, e) in enumerate(zip(sizes, errors, strict=True))]
        )  # fmt: skip
    return out


@pytest.mark.parametrize("seed", range(12))
def test_choice_is_the_brute_force_optimum_within_budget(seed: int) -> None:
    rng = np.random.default_rng(seed)
    options = synthetic(rng, images=int(rng.integers(1, 5)), choices=int(rng.integers(1, 5)))
    low = sum(min(o.size for o in opts) for opts in options)
    high = sum(max(o.size for o in opts) for opts in options)
    budget = int(rng.integers(low, high + 20))
    chosen = choose(options, budget)
    assert sum(options[i][k].size for i, k in enumerate(chosen)) <= budget
    best = min(
        sum(options[i][k].squared_error for i, k in enumerate(combo))
        for combo in itertools.product(*[range(len(o)) for o in options])
        if sum(options[i][k].size for i, k in enumerate(combo)) <= budget
    )
    assert sum(options[i][k].squared_error for i, k in enumerate(chosen)) == pytest.approx(best)


def test_an_impossible_budget_names_the_smallest_total() -> None:
    options = synthetic(np.random.default_rng(0), 3, 2)
    smallest = sum(min(o.size for o in opts) for opts in options)
    with pytest.raises(BudgetError, match=f"already take {smallest} bytes"):
        choose(options, smallest - 1)


def test_candidate_specs() -> None:
    assert parse_candidates(["a:1-3", "b:2,5"]) == [
        Candidate("a", 1), Candidate("a", 2), Candidate("a", 3), Candidate("b", 2),
        Candidate("b", 5),
    ]  # fmt: skip
    assert parse_candidates(["mbt2018-mean"])[0] == Candidate("mbt2018-mean", 1)
    with pytest.raises(ModelError, match="cannot read candidates"):
        parse_candidates(["a:x"])


def test_allocate_command_meets_the_budget_with_real_files(kodak_dir, tmp_path, capsys) -> None:
    folder = tmp_path / "images"
    folder.mkdir()
    boxes = {"a": (0, 0, 96, 64), "b": (300, 200, 396, 264), "c": (500, 100, 596, 164)}
    for name, box in boxes.items():
        Image.open(kodak_dir / "kodim23.png").crop(box).save(folder / f"{name}.png")
    out = tmp_path / "out"
    argv = ["allocate", "--images", str(folder), "-o", str(out), "--no-progress"]
    argv += ["--models", "mbt2018-mean:1,2,6"]
    assert main([*argv, "--budget-bytes", "10"]) == 2
    assert "impossible" in capsys.readouterr().err
    assert main([*argv, "--budget-bpp", "0.6"]) == 0
    result = json.loads((out / "allocation.json").read_text())
    totals = result["totals"]
    assert totals["bytes"] <= result["budget_bytes"] == int(0.6 * 3 * 96 * 64 // 8)
    assert totals["bytes"] == sum((out / f"{n}.lic").stat().st_size for n in "abc")
    for entry in result["images"]:
        header = unpack((out / f"{Path(entry['image']).stem}.lic").read_bytes()).header
        assert (header.model, header.quality) == (entry["model"], entry["quality"])
    assert main([*argv, "--budget-bpp", "0.6"]) == 2  # outputs exist: -f needed
    assert "exists" in capsys.readouterr().err
