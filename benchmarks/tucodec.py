"""Tucodec side by side: the ablation twins, the post-filter's gain, speed against mbt2018.

The runs come from ``tools/tucodec_twins.sh`` (every one fine-tuned 1,500 steps from
shipped ``mbt2018-ckbd`` weights with the same data, batch, schedule and seed) and the
post-filter stages (``RUNS/postfilter-q{Q}``); this script only measures their exported
weights (recalibrated alike with ``--calibrate``). Run from the repository root:

    python benchmarks/tucodec.py --runs RUNS --images ../shared/data/kodak --calibrate

Written to ``--out`` (default ``results/kodak/tucodec``), CompressAI layout from real files:

* ``points/{run}-q{Q}.json``: Kodak means of one run at one quality (measured once);
* ``full.json``: the full model at every quality before its post-filter stage;
* ``{variant}.json``: each ablation twin (``noattention``, ``integer``, ``gaussian``) at
  ``--ablation-quality`` and wherever else it was trained (``noattention``: every quality);
* the shipped models (post-filter trained) are read from ``--shipped``
  (``results/kodak/licodec-tucodec.json``, written by ``tools/finalize_zoo.py``);
* ``summary.json`` (also printed): each twin against its full twin at the ablation quality
  (rate change at equal PSNR and PSNR change at equal rate, read off the full curve's fit
  around the full model's own point; BD-rate where the twin has a curve), the post-filter's
  gain per quality (dB at the same files' rate) and the share of Kodak images whose file
  switches it on, the learned centres, and encode/decode seconds of a 768×512 picture
  against ``mbt2018`` (serial context) and ``mbt2018-ckbd``, in one run, models
  interleaved, best of ``--repeats``.
"""

from __future__ import annotations

import argparse
import json
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch

from licodec.app import codec, zoo
from licodec.app.calibration import calibrate_weights
from licodec.app.evaluate import measure_image
from licodec.app.report import (
    bd_rate,
    ms_ssim_to_db,
    quality_at_equal_rate,
    rate_at_equal_quality,
)
from licodec.app.sweep import rd_sweep
from licodec.app.timing import best_times
from licodec.core.bitstream import unpack
from licodec.core.files import list_images
from licodec.core.image import load_image
from licodec.models import CompressionModel, build
from licodec.models.base import POST_FILTERED

ABLATIONS = {
    "noattention": "without the non-local attention blocks",
    "integer": "integer rounding instead of learned centres",
    "gaussian": "Gaussian instead of Laplace",
}


def weights(runs: Path, run: str, quality: int) -> Path:
    return runs / f"{run}-q{quality}" / zoo.weights_filename("tucodec", quality)


def point(runs: Path, run: str, quality: int, images: list[Path], out: Path) -> dict[str, Any]:
    """Kodak means of one run at one quality (real files), cached as
    ``out/points/{run}-q{quality}.json``."""
    path = out / "points" / f"{run}-q{quality}.json"
    if not path.is_file():
        model = zoo.load_model(None, None, weights(runs, run, quality))
        results = rd_sweep([quality], images, lambda _: partial(measure_image, model), run, False)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({k: v[0] for k, v in results[1].items()}, indent=2) + "\n")
    return json.loads(path.read_text())


def curve(rows: dict[int, dict[str, Any]], name: str, description: str) -> dict[str, Any]:
    """CompressAI layout of points by quality, sorted by bpp."""
    order = sorted(rows, key=lambda q: rows[q]["bpp"])
    keys = list(rows[order[0]])
    return {
        "name": name,
        "description": description,
        "meta": {"qualities": order},
        "results": {k: [rows[q][k] for q in order] for k in keys},
    }


def results_index(results: dict[str, list[float]], qualities: list[int], quality: int) -> int:
    """Position of ``quality``'s point in a curve sorted by bpp (qualities rise with bpp)."""
    return sorted(qualities).index(quality)


def shipped_results(shipped: dict[int, CompressionModel], images: list[Path], path: Path) -> dict:
    """Kodak results of the shipped models: ``path`` (``tools/finalize_zoo.py`` writes it),
    measured here and written there when missing."""
    if not path.is_file():
        rows = {}
        for quality, model in shipped.items():
            results = rd_sweep([quality], images, lambda _, m=model: partial(measure_image, m),
                               "shipped", False)[1]  # fmt: skip
            rows[quality] = {k: v[0] for k, v in results.items()}
        result = curve(rows, "licodec-tucodec", "tucodec with its post-filter (shipped)")
        path.write_text(json.dumps(result, indent=2) + "\n")
    return json.loads(path.read_text())["results"]


def flagged_share(model: CompressionModel, images: list[Path]) -> float:
    """Share of ``images`` whose file switches the post-filter on."""
    flags = [unpack(codec.encode(load_image(p)[0], model)).header.model_flags for p in images]
    return float(np.mean([bool(f & POST_FILTERED) for f in flags]))


def timing(models: dict[str, CompressionModel], image: Path, repeats: int) -> dict[str, Any]:
    """Best-of-``repeats`` encode and decode seconds of each model on ``image``, interleaved."""
    best = best_times(models, [load_image(image)[0]], repeats)
    rows: dict[str, Any] = {n: {k: t[0] for k, t in row.items()} for n, row in best.items()}
    for row in rows.values():
        for anchor in ("mbt2018", "mbt2018-ckbd"):
            row[f"encode_vs_{anchor}"] = row["encode_s"] / rows[anchor]["encode_s"]
            row[f"decode_vs_{anchor}"] = row["decode_s"] / rows[anchor]["decode_s"]
    return {"image": image.name, "repeats": repeats, "threads": 1, "models": rows}


def serial_twin(ckbd: CompressionModel) -> CompressionModel:
    """``mbt2018`` (serial context) with the trained ``mbt2018-ckbd`` weights: the same
    network coded position by position, for the speed comparison."""
    model = build("mbt2018", ckbd.quality, **{k: v for k, v in ckbd.config.items() if k != "lmbda"})
    state = {k: v for k, v in ckbd.state_dict().items() if "_int." not in k}
    model.load_state_dict(state, strict=False)
    model.eval().update()
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=Path, required=True)
    parser.add_argument("--images", type=Path, required=True)
    parser.add_argument("--qualities", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    parser.add_argument("--ablation-quality", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("results/kodak/tucodec"))
    parser.add_argument("--train", type=Path, default=Path("../shared/data/train"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--calibrate", action="store_true", help="recalibrate each run first")
    parser.add_argument("--shipped", type=Path, default=Path("results/kodak/licodec-tucodec.json"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    images = list_images(args.images)
    args.out.mkdir(parents=True, exist_ok=True)
    runs = [("full", q) for q in args.qualities] + [(a, args.ablation_quality) for a in ABLATIONS]
    if args.calibrate:
        for run, q in runs:
            done = (args.out / "points" / f"{run}-q{q}.json").is_file()
            if weights(args.runs, run, q).is_file() and not done:
                calibrate_weights(weights(args.runs, run, q), args.train)

    def measured(run: str, qualities: list[int], name: str, what: str) -> dict[str, Any]:
        rows = {q: point(args.runs, run, q, images, args.out) for q in qualities}
        result = curve(rows, name, what)
        (args.out / f"{run}.json").write_text(json.dumps(result, indent=2) + "\n")
        return result["results"]

    full = measured(
        "full", args.qualities, "licodec-tucodec-stage1", "tucodec before its post-filter stage"
    )

    def own(quality: int) -> tuple[float, float]:
        index = results_index(full, args.qualities, quality)
        return full["bpp"][index], full["psnr-rgb"][index]

    def against_full(quality: int, bpp: float, psnr: float) -> dict[str, float]:
        """A twin's point against its full twin at ``quality``: rate change at equal PSNR and
        PSNR change at equal rate, read off the full curve's fit less the full model's own
        offset from that fit there (so the comparison is local, the fit only bridges the
        small rate difference)."""
        fit = (full["bpp"], full["psnr-rgb"])
        return {
            "quality": quality,
            "bpp": bpp,
            "psnr-rgb": psnr,
            "rate_vs_full_at_equal_psnr_percent": rate_at_equal_quality(*fit, bpp, psnr)
            - rate_at_equal_quality(*fit, *own(quality)),
            "psnr_vs_full_at_equal_rate_db": quality_at_equal_rate(*fit, bpp, psnr)
            - quality_at_equal_rate(*fit, *own(quality)),
        }

    twins = {}
    for run, what in ABLATIONS.items():
        present = [q for q in args.qualities if weights(args.runs, run, q).is_file()]
        if not present:
            continue
        results = measured(run, present, f"licodec-tucodec-{run}", f"tucodec {what}")
        points = [
            against_full(q, results["bpp"][i], results["psnr-rgb"][i])
            for i, q in enumerate(sorted(present))
        ]
        twins[run] = {"what": what, "points": points}
        if len(present) >= 4:  # a curve: BD-rate of the full model against this twin
            twins[run]["qualities"] = present
            twins[run]["bd_rate_full_vs_twin_psnr"] = bd_rate(
                results["bpp"], results["psnr-rgb"], full["bpp"], full["psnr-rgb"]
            )
            twins[run]["bd_rate_full_vs_twin_ms_ssim"] = bd_rate(
                results["bpp"],
                [ms_ssim_to_db(v) for v in results["ms-ssim-rgb"]],
                full["bpp"],
                [ms_ssim_to_db(v) for v in full["ms-ssim-rgb"]],
            )
    summary: dict[str, Any] = {"ablation_quality": args.ablation_quality, "twins": twins}
    shipped = {q: zoo.load_model("tucodec", q) for q in args.qualities}
    filtered = shipped_results(shipped, images, args.shipped)
    summary["post_filter"] = {
        "gain_db": [a - b for a, b in zip(filtered["psnr-rgb"], full["psnr-rgb"], strict=True)],
        "bpp": filtered["bpp"],
        "flagged_share_lowest_quality": flagged_share(shipped[min(args.qualities)], images),
    }
    summary["centres"] = {
        q: shipped[q].latent_codec.y_codec.head.quantizer.fixed_magnitudes()[1:6].tolist()
        for q in args.qualities
    }
    middle = args.qualities[len(args.qualities) // 2]
    ckbd = zoo.load_model("mbt2018-ckbd", 2)
    models = {"tucodec": shipped[middle], "mbt2018": serial_twin(ckbd), "mbt2018-ckbd": ckbd}
    summary["timing"] = timing(models, images[0], args.repeats)
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
