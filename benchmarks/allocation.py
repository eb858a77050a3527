"""Dataset rate allocation on a folder against the best single quality, at several budgets.

    python benchmarks/allocation.py --images ../shared/data/kodak --budgets 0.15 0.25 0.5 \
        [--candidates tucodec:1-5 ...] [--out results/kodak/allocation.json]

Every image is coded once with every candidate (default: every shipped model and quality;
real files, :func:`licodec.app.allocation.measure`), then for each budget (bits per pixel
of the whole set) the exact allocation (:func:`~licodec.app.allocation.choose`) is set
against the best *single* candidate whose files fit the budget in all: pooled PSNR of both,
their totals, and the gain. Prints and writes JSON.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from licodec.app.allocation import (
    choose,
    measure,
    parse_candidates,
    set_pixels,
    shipped_candidates,
)
from licodec.core.files import list_images
from licodec.errors import BudgetError


def pooled_psnr(errors: float, pixels: int) -> float:
    return float(10 * np.log10(255**2 * 3 * pixels / errors))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=Path, required=True)
    parser.add_argument("--budgets", type=float, nargs="+", default=[0.15, 0.25, 0.5])
    parser.add_argument("--candidates", nargs="*", default=None)
    parser.add_argument("--out", type=Path, default=Path("results/kodak/allocation.json"))
    args = parser.parse_args()
    images = list_images(args.images)
    candidates = parse_candidates(args.candidates) if args.candidates else shipped_candidates()
    options = measure(images, candidates, progress=False)
    pixels = set_pixels(options)
    singles = []
    for k, candidate in enumerate(candidates):
        size = sum(opts[k].size for opts in options)
        errors = sum(opts[k].squared_error for opts in options)
        singles.append(
            {
                "candidate": str(candidate),
                "bpp": 8 * size / pixels,
                "pooled_psnr_rgb": pooled_psnr(errors, pixels),
            }
        )
    budgets: list[dict[str, Any]] = []
    for bpp in args.budgets:
        budget = int(bpp * pixels // 8)
        row: dict[str, Any] = {"budget_bpp": bpp, "budget_bytes": budget}
        try:
            chosen = choose(options, budget)
        except BudgetError as err:
            budgets.append({**row, "error": str(err)})
            continue
        picked = [opts[k] for opts, k in zip(options, chosen, strict=True)]
        fitting = [s for s in singles if s["bpp"] <= bpp]
        row["allocated"] = {
            "bpp": 8 * sum(o.size for o in picked) / pixels,
            "pooled_psnr_rgb": pooled_psnr(sum(o.squared_error for o in picked), pixels),
            "choices": {
                c: [str(o.candidate) for o in picked].count(c) for c in map(str, candidates)
            },
        }
        if fitting:
            best = max(fitting, key=lambda s: s["pooled_psnr_rgb"])
            row["best_single"] = best
            row["gain_db"] = row["allocated"]["pooled_psnr_rgb"] - best["pooled_psnr_rgb"]
        else:
            row["best_single"] = None
        budgets.append(row)
    result = {
        "images": len(images),
        "dataset": args.images.name,
        "candidates": [str(c) for c in candidates],
        "single_qualities": singles,
        "budgets": budgets,
        "command": "python benchmarks/allocation.py "
        + " ".join(
            [f"--images {args.images}", "--budgets", *map(str, args.budgets)]
            + (["--candidates", *args.candidates] if args.candidates else [])
        ),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
