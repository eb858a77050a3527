"""Dataset rate allocation: one file per image so that a whole set meets one size budget.

Every image is encoded with every candidate (model, quality) for real; each choice ``k`` of
image ``i`` costs ``b_ik`` bytes (the whole file) and leaves an error ``e_ik``: the sum of
squared 8-bit errors for ``metric="psnr"`` (so the objective is the *pooled* PSNR,
``10·log10(255² · N / Σ e)`` over all ``N`` samples of the set), or ``1 − MS-SSIM`` for
``metric="ms-ssim"`` (the mean MS-SSIM). Choosing one ``k`` per image to minimise
``Σ_i e_ik`` subject to ``Σ_i b_ik ≤ B`` is a multiple-choice knapsack, solved **exactly** by
dynamic programming over bytes (``[D]``: exact rather than a Lagrangian sweep, whose convex
hull can miss the optimum by a whole image's step): with ``m_i = min_k b_ik`` only the
``B − Σ m_i`` bytes above every image's smallest file are allocated, in
``O(Σ_i K_i · (B − Σ m_i))`` time and one byte of resolution, so the total never exceeds the
budget. A budget below ``Σ m_i`` is impossible and the error names that smallest total.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from licodec.app import codec, zoo
from licodec.core.files import write_json, write_output
from licodec.core.image import load_image
from licodec.core.metrics import ms_ssim_uint8, psnr_uint8
from licodec.errors import BudgetError, ModelError

METRICS = ("psnr", "ms-ssim")


@dataclass(frozen=True)
class Candidate:
    """A registered model at one quality."""

    model: str
    quality: int

    def __str__(self) -> str:
        return f"{self.model} q{self.quality}"


@dataclass(frozen=True)
class Option:
    """One image coded with one candidate: the real file and what it costs and leaves."""

    candidate: Candidate
    data: bytes
    squared_error: float
    psnr: float
    ms_ssim: float

    @property
    def size(self) -> int:
        return len(self.data)


def parse_candidates(specs: Iterable[str]) -> list[Candidate]:
    """``["mbt2018-mean:1-4", "cheng2020-anchor:2,5"]`` → candidates (``MODEL`` alone: its
    shipped qualities).

    Raises:
        ModelError: a malformed spec, or a model without shipped qualities.
    """
    candidates = []
    for spec in specs:
        model, _, qualities = spec.partition(":")
        if not qualities:
            found = zoo.shipped_qualities(model)
            if not found:
                raise ModelError(f"no shipped weights for {model!r}: name qualities, {model}:1-3")
        elif re.fullmatch(r"\d+(-\d+)?(,\d+(-\d+)?)*", qualities):
            found = []
            for part in qualities.split(","):
                low, _, high = part.partition("-")
                found += list(range(int(low), int(high or low) + 1))
        else:
            raise ModelError(f"cannot read candidates {spec!r}: use MODEL:Q1-Q5 or MODEL:1,3,5")
        candidates += [Candidate(model, q) for q in found]
    return candidates


def shipped_candidates() -> list[Candidate]:
    """Every model and quality whose weights ship with the package."""
    return [Candidate(m, q) for m in sorted(zoo.manifest()) for q in zoo.shipped_qualities(m)]


def measure(
    images: Sequence[Path], candidates: Sequence[Candidate], progress: bool = True
) -> list[list[Option]]:
    """Encode every image with every candidate and decode it back (real files): the options
    of each image, in candidate order."""
    if not candidates:
        raise ModelError("no candidate models to allocate among")
    pictures = [load_image(path)[0] for path in images]
    options: list[list[Option]] = [[] for _ in pictures]
    bar = tqdm(total=len(pictures) * len(candidates), disable=not progress, unit="file")
    for candidate in candidates:
        model = zoo.load_model(candidate.model, candidate.quality)
        for index, pixels in enumerate(pictures):
            data = codec.encode(pixels, model)
            decoded = np.asarray(codec.decode(data, model).convert("RGB"))
            error = float(np.sum((decoded.astype(np.float64) - pixels) ** 2))
            options[index].append(
                Option(candidate, data, error, psnr_uint8(pixels, decoded),
                       ms_ssim_uint8(pixels, decoded))
            )  # fmt: skip
            bar.update()
    bar.close()
    return options


def _cost(option: Option, metric: str) -> float:
    return option.squared_error if metric == "psnr" else 1.0 - option.ms_ssim


def choose(options: Sequence[Sequence[Option]], budget: int, metric: str = "psnr") -> list[int]:
    """The option index per image that minimises the summed cost within ``budget`` bytes
    (exact dynamic programming, module docstring).

    Raises:
        BudgetError: the budget is below the smallest feasible total.
    """
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
    smallest = [min(o.size for o in opts) for opts in options]
    spare = budget - sum(smallest)
    if spare < 0:
        raise BudgetError(
            f"a budget of {budget} bytes is impossible: the smallest files of these candidates "
            f"already take {sum(smallest)} bytes in all"
        )
    ranges = [max(o.size for o in opts) - low for opts, low in zip(options, smallest, strict=True)]
    spare = min(spare, sum(ranges))  # more spare bytes than that change nothing
    best = np.zeros(spare + 1)  # best[b]: least cost of the images so far within b spare bytes
    picks = np.zeros((len(options), spare + 1), dtype=np.int16)
    for i, (opts, low) in enumerate(zip(options, smallest, strict=True)):
        candidates = np.full((len(opts), spare + 1), np.inf)
        for k, option in enumerate(opts):
            extra = option.size - low
            if extra <= spare:
                candidates[k, extra:] = best[: spare + 1 - extra] + _cost(option, metric)
        picks[i] = np.argmin(candidates, axis=0)
        best = candidates[picks[i], np.arange(spare + 1)]
    chosen, left = [0] * len(options), spare
    for i in range(len(options) - 1, -1, -1):
        chosen[i] = int(picks[i, left])
        left -= options[i][chosen[i]].size - smallest[i]
    return chosen


def report(
    images: Sequence[Path],
    options: Sequence[Sequence[Option]],
    chosen: Sequence[int],
    budget: int,
    metric: str,
) -> dict[str, Any]:
    """``allocation.json``: per image its model, quality, bytes, bpp, PSNR, MS-SSIM; totals."""
    entries, total_bytes, total_error, total_pixels = [], 0, 0.0, 0
    for path, opts, k in zip(images, options, chosen, strict=True):
        option = opts[k]
        container = codec.read(option.data)
        pixels = container.header.height * container.header.width
        entries.append(
            {
                "image": path.name,
                "model": option.candidate.model,
                "quality": option.candidate.quality,
                "bytes": option.size,
                "bpp": 8 * option.size / pixels,
                "psnr-rgb": option.psnr,
                "ms-ssim-rgb": option.ms_ssim,
            }
        )
        total_bytes += option.size
        total_error += option.squared_error
        total_pixels += pixels
    mse = total_error / (3 * total_pixels)
    return {
        "budget_bytes": budget,
        "metric": metric,
        "method": "exact multiple-choice knapsack (dynamic programming over bytes)",
        "candidates": sorted({str(o.candidate) for opts in options for o in opts}),
        "totals": {
            "images": len(entries),
            "bytes": total_bytes,
            "bpp": 8 * total_bytes / total_pixels,
            "pooled_psnr_rgb": float(10 * np.log10(255**2 / mse)) if mse > 0 else float("inf"),
            "mean_psnr_rgb": float(np.mean([e["psnr-rgb"] for e in entries])),
            "mean_ms_ssim_rgb": float(np.mean([e["ms-ssim-rgb"] for e in entries])),
        },
        "images": entries,
    }


def set_pixels(options: Sequence[Sequence[Option]]) -> int:
    """Pixels of the whole set (from the files' headers)."""
    total = 0
    for opts in options:
        header = codec.read(opts[0].data).header
        total += header.height * header.width
    return total


def allocate(
    images: Sequence[Path],
    out: Path,
    *,
    budget_bytes: int | None = None,
    budget_bpp: float | None = None,
    candidates: Sequence[Candidate] | None = None,
    metric: str = "psnr",
    force: bool = False,
    progress: bool = True,
) -> dict[str, Any]:
    """Allocate a budget over ``images`` and write the chosen ``.lic`` files (``stem.lic``)
    and ``allocation.json`` into ``out``; returns the report.

    Exactly one of ``budget_bytes`` (the whole set's bytes) and ``budget_bpp`` (bits per
    pixel of the whole set) is given; ``candidates`` default to every shipped model and
    quality.

    Raises:
        BudgetError: no budget, both, or one below the smallest feasible total.
        OutputExistsError: an output exists and ``force`` is false.
    """
    if (budget_bytes is None) == (budget_bpp is None):
        raise BudgetError("give one budget: budget_bytes (--budget-bytes) or budget_bpp")
    names = [path.stem for path in images]
    if len(set(names)) != len(names):
        raise BudgetError("two images share a file name stem: their .lic files would collide")
    options = measure(images, candidates or shipped_candidates(), progress)
    if budget_bytes is None:
        if not budget_bpp > 0:
            raise BudgetError(f"a bits-per-pixel budget must be positive, got {budget_bpp}")
        budget_bytes = int(budget_bpp * set_pixels(options) // 8)
    chosen = choose(options, budget_bytes, metric)
    result = report(images, options, chosen, budget_bytes, metric)
    out.mkdir(parents=True, exist_ok=True)
    for name, opts, k in zip(names, options, chosen, strict=True):
        write_output(out / f"{name}.lic", lambda handle, d=opts[k].data: handle.write(d), force)
    write_json(out / "allocation.json", json.dumps(result, indent=2))
    return result
