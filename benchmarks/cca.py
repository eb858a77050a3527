"""cca-yuv420 side by side: its RGB twin, the ablation twins, the ACEM's gain, the integer
path's cost, and decode speed against cheng2020-anchor.

The runs come from ``tools/cca_twins.sh`` (cca-yuv420 and the RGB ``cheng2020-anchor`` twin
trained with one recipe; the ablations as stage-A twins at q2); the shipped cca-yuv420
weights are ``finalize_zoo.py``'s export of the stage-B runs. Every number is from real
files of Kodak as 4:2:0 planes (BT.709 limited range; the RGB twin through the same matrix
both ways). Run from the repository root, as often as runs finish (measured curves and
points are kept and not measured again):

    python benchmarks/cca.py --runs RUNS --images ../shared/data/kodak

Written to ``--out`` (default ``results/kodak-yuv420``):

* ``rgb-twin-cheng2020-anchor.json``: the RGB twin at every quality;
* ``cca/points/{run}.json``: Kodak means of one run (the twin's ``cheng-qQ``, and the
  stage-A runs ``cca-A`` and the :data:`ABLATIONS`);
* ``cca/acem-off.json``: the shipped models with the ACEM never switched on (same files
  but for the flag byte, so the same rate);
* ``cca/float-path.json``: the shipped models at ``--float-qualities`` coding with the
  float context path;
* ``cca/summary.json`` (also printed; the twin's and stage-A runs' points come from their
  caches where the weights are no longer in ``--runs``, the timing from the previous
  summary): BD-rates (PSNR-YUV and MS-SSIM-Y; cubic and piecewise) of cca-yuv420 against
  the RGB twin and the baselines in ``--out`` (or why there is none, and the PSNR-YUV gap
  at equal rate inside the anchor's rate range); each ablation twin against ``cca-A``, the
  full stage-A run of its own recipe (raw rate and PSNR-YUV changes; where the shipped
  curve rises, also rate change at equal PSNR-YUV and PSNR-YUV change at equal rate off its
  fit around ``cca-A``); the ACEM's gain per quality (dB per component: the shipped files with the
  flags off; a jointly trained decoder leans on its ACEM, so the trained-without twin
  ``noacem-A`` is the ablation) and, at ``--flag-qualities``, the share of pictures whose
  file switches each half on; the float path's rate and PSNR-YUV change; encode/decode
  seconds of a 768×512 picture against the twin at q2, one thread, interleaved, best of
  ``--repeats``.
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
from licodec.app.evaluate import measure_image_yuv420
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
from licodec.core.yuv import load_yuv420
from licodec.models import CompressionModel
from licodec.models.cca import ENHANCE_UV, ENHANCE_Y

MODEL = "cca-yuv420"
TWIN = "cheng2020-anchor"
QUALITIES = (1, 2, 3, 4)
TWIN_QUALITIES = (1, 2, 3, 4)
"""The twin's qualities: those cca-yuv420 ships, each trained the same way (stage C too)."""
ABLATIONS = {
    "noigu-A": "no IGU (the chroma branch never sees luma)",
    "bgu-A": "two-way guidance (BGU) instead of the IGU",
    "noacem-A": "no ACEM (trained and coded without it)",
    "linfuse-A": "linear fusion (no PReLU on the latent: linear_fusion=1)",
    "nofa-A": "no FA in any FAB (feature_attention=0)",
    "shared-A": "one synthesis stream for both planes, no split (shared_synthesis=1)",
    "m128-A": "twice the latent channels (M = 128, N = 64)",
}
BASELINES = ("hevc-420", "vvc-420", "av1-420", "jpeg-420", "licodec-mbt2018-mean")


def run_weights(runs: Path, run: str, model: str, quality: int) -> Path:
    return runs / run / zoo.weights_filename(model, quality)


def measured(runs: Path, run: str, model: str, quality: int, own: Path) -> bool:
    """Whether ``run`` has weights in ``runs`` or a cached point in ``own/points``."""
    return (
        run_weights(runs, run, model, quality).is_file()
        or (own / "points" / f"{run}.json").is_file()
    )


def sweep(
    models: dict[int, CompressionModel], images: list[Path], name: str, description: str
) -> dict[str, Any]:
    """CompressAI layout of ``models`` (quality → model) measured on 4:2:0 ``images``."""
    order, results = rd_sweep(
        sorted(models), images, lambda q: partial(measure_image_yuv420, models[q]), name, False
    )
    return {"name": name, "description": description, "meta": {"qualities": order},
            "results": results}  # fmt: skip


def cached(path: Path, measure: Any) -> dict[str, Any]:
    """``path``'s JSON, measured by ``measure()`` and written there when missing."""
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(measure(), indent=2) + "\n")
    return json.loads(path.read_text())


def point(runs: Path, run: str, model: str, quality: int, images: list[Path], own: Path) -> dict:
    """Kodak means of one run's weights at ``quality``, cached as ``own/points/{run}.json``."""
    weights = run_weights(runs, run, model, quality)
    result = cached(own / "points" / f"{run}.json", lambda: sweep(
        {quality: zoo.load_model(None, None, weights)}, images, run, f"run {run}"))  # fmt: skip
    return {k: v[0] for k, v in result["results"].items()}


def merged(points: dict[int, dict[str, float]], name: str, description: str) -> dict[str, Any]:
    """One curve (CompressAI layout, sorted by bpp) of single-quality points."""
    order = sorted(points, key=lambda q: points[q]["bpp"])
    return {"name": name, "description": description, "meta": {"qualities": order},
            "results": {k: [points[q][k] for q in order] for k in points[order[0]]}}  # fmt: skip


def bd(anchor: dict[str, list[float]], test: dict[str, list[float]]) -> dict[str, Any]:
    """BD-rate (%) of ``test`` against ``anchor`` in PSNR-YUV and MS-SSIM-Y (dB), or why it
    has none (curves that do not overlap in quality), with the cubic fit (``psnr-yuv``) and
    the piecewise interpolant (``psnr-yuv pchip``, see :func:`bd_rate`); and the PSNR-YUV
    difference of each ``test`` point inside ``anchor``'s rate range at equal rate (dB)."""
    db = {"psnr-yuv": (anchor["psnr-yuv"], test["psnr-yuv"]),
          "ms-ssim-y": ([ms_ssim_to_db(v) for v in anchor["ms-ssim-y"]],
                        [ms_ssim_to_db(v) for v in test["ms-ssim-y"]])}  # fmt: skip
    out: dict[str, Any] = {}
    for metric, (a, t) in db.items():
        for method, key in (("cubic", metric), ("pchip", f"{metric} pchip")):
            try:
                out[key] = bd_rate(anchor["bpp"], a, test["bpp"], t, method)
            except ValueError as err:
                out[key] = f"no BD-rate: {err}"
    low, high = min(anchor["bpp"]), max(anchor["bpp"])
    out["psnr_yuv_at_equal_rate_db"] = {
        round(r, 4): quality_at_equal_rate(anchor["bpp"], anchor["psnr-yuv"], r, q)
        for r, q in zip(test["bpp"], test["psnr-yuv"], strict=True)
        if low <= r <= high
    }
    return out


def against(curve: dict[str, list[float]], own: dict[str, float], point: dict[str, float]):
    """A twin's ``point`` against the ``own`` point of the run it ablates: the raw rate and
    PSNR-YUV changes (and whether one point dominates the other), and — where ``curve``
    rises by at least 0.1 dB per quality, so that a fit can bridge a rate difference — the
    rate change at equal PSNR-YUV and PSNR-YUV change at equal rate, read off ``curve``'s
    fit less ``own``'s offset from it."""
    rate = 100 * (point["bpp"] / own["bpp"] - 1)
    gain = point["psnr-yuv"] - own["psnr-yuv"]
    row: dict[str, Any] = {
        "bpp": point["bpp"],
        "psnr-yuv": point["psnr-yuv"],
        "rate_change_percent": rate,
        "psnr_yuv_change_db": gain,
        "twin_dominates": rate <= 0 and gain >= 0,
        "full_dominates": rate >= 0 and gain <= 0,
    }
    if min(np.diff(curve["psnr-yuv"])) < 0.1:
        row["fit"] = "none: the full model's curve is flat (rises < 0.1 dB per quality)"
        return row
    fit = (curve["bpp"], curve["psnr-yuv"])

    def offsets(p: dict[str, float]) -> tuple[float, float]:
        return (
            rate_at_equal_quality(*fit, p["bpp"], p["psnr-yuv"]),
            quality_at_equal_rate(*fit, p["bpp"], p["psnr-yuv"]),
        )

    (rate_fit, psnr_fit), (rate_own, psnr_own) = offsets(point), offsets(own)
    row["rate_vs_full_at_equal_psnr_yuv_percent"] = rate_fit - rate_own
    row["psnr_yuv_vs_full_at_equal_rate_db"] = psnr_fit - psnr_own
    return row


def flag_shares(model: CompressionModel, images: list[Path]) -> dict[str, float]:
    """Share of pictures whose file switches on each ACEM half."""
    flags = [unpack(codec.encode(load_yuv420(p), model)).header.model_flags for p in images]
    return {
        "enhance_y": float(np.mean([bool(f & ENHANCE_Y) for f in flags])),
        "enhance_uv": float(np.mean([bool(f & ENHANCE_UV) for f in flags])),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=Path, required=True)
    parser.add_argument("--images", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=Path("results/kodak-yuv420"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--float-qualities", type=int, nargs="+", default=[2], help="float-path comparison"
    )
    parser.add_argument(
        "--flag-qualities", type=int, nargs="+", default=[1, 4], help="ACEM flag shares"
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    images = list_images(args.images)
    out, own = args.out, args.out / "cca"
    summary: dict[str, Any] = {"images": len(images)}
    shipped_path = out / f"licodec-{MODEL}.json"
    if not shipped_path.is_file():
        raise SystemExit(f"{shipped_path} missing: run tools/finalize_zoo.py --model {MODEL}")
    shipped_file = json.loads(shipped_path.read_text())
    shipped, shipped_qualities = shipped_file["results"], shipped_file["meta"]["qualities"]
    models = {q: zoo.load_model(MODEL, q) for q in QUALITIES}

    twin_weights = {q: run_weights(args.runs, f"cheng-q{q}", TWIN, q) for q in TWIN_QUALITIES}
    if all(measured(args.runs, f"cheng-q{q}", TWIN, q, own) for q in TWIN_QUALITIES):
        points = {q: point(args.runs, f"cheng-q{q}", TWIN, q, images, own) for q in TWIN_QUALITIES}
        twin = merged(
            points,
            f"rgb-twin-{TWIN}",
            f"{TWIN} (RGB, N = 64) trained with cca-yuv420's recipe, steps and data "
            "(tools/cca_twins.sh); 4:2:0 pictures through RGB (BT.709 limited range both ways)",
        )
        (out / f"rgb-twin-{TWIN}.json").write_text(json.dumps(twin, indent=2) + "\n")
        twin = twin["results"]
        summary["bd_rate_vs_rgb_twin"] = bd(twin, shipped)
    baselines = {}
    for name in BASELINES:
        path = out / f"{name}.json"
        if path.is_file():
            baselines[name] = bd(json.loads(path.read_text())["results"], shipped)
    summary["bd_rate_vs_baselines"] = baselines

    stage_a = {}
    for run in ("cca-A", *ABLATIONS):
        if measured(args.runs, run, MODEL, 2, own):
            stage_a[run] = point(args.runs, run, MODEL, 2, images, own)
    if "cca-A" in stage_a:
        summary["ablations"] = {
            run: {"what": what, **against(shipped, stage_a["cca-A"], stage_a[run])}
            for run, what in ABLATIONS.items()
            if run in stage_a
        }
        summary["stage_a"] = stage_a

    def acem_off() -> dict[str, Any]:
        for model in models.values():
            model.try_post_filter = False
        try:
            return sweep(models, images, "cca-yuv420-acem-off", "shipped, ACEM never on")
        finally:
            for model in models.values():
                del model.try_post_filter

    off = cached(own / "acem-off.json", acem_off)["results"]
    summary["acem"] = {
        "gain_db": {
            key: [a - b for a, b in zip(shipped[key], off[key], strict=True)]
            for key in ("psnr-y", "psnr-u", "psnr-v", "psnr-yuv")
        },
        "flagged_share": {q: flag_shares(models[q], images) for q in args.flag_qualities},
    }

    chosen = {q: models[q] for q in args.float_qualities}

    def float_path() -> dict[str, Any]:
        for model in chosen.values():
            model.latent_codec.force_float = True
        try:
            return sweep(chosen, images, "cca-yuv420-float", "shipped, float context path")
        finally:
            for model in chosen.values():
                model.latent_codec.force_float = False

    floating = cached(own / "float-path.json", float_path)
    positions = [shipped_qualities.index(q) for q in floating["meta"]["qualities"]]
    summary["integer_path_cost"] = {
        "qualities": floating["meta"]["qualities"],
        "rate_vs_float_percent": [
            100 * (shipped["bpp"][i] / f - 1)
            for i, f in zip(positions, floating["results"]["bpp"], strict=True)
        ],
        "psnr_yuv_vs_float_db": [
            shipped["psnr-yuv"][i] - f
            for i, f in zip(positions, floating["results"]["psnr-yuv"], strict=True)
        ],
    }
    if twin_weights[2].is_file():
        timed = {MODEL: models[2], TWIN: zoo.load_model(None, None, twin_weights[2])}
        best = best_times(timed, [load_yuv420(images[0])], args.repeats)
        rows = {n: {k: t[0] for k, t in row.items()} for n, row in best.items()}
        for row in rows.values():
            row["encode_vs_twin"] = row["encode_s"] / rows[TWIN]["encode_s"]
            row["decode_vs_twin"] = row["decode_s"] / rows[TWIN]["decode_s"]
        summary["timing"] = {"image": images[0].name, "threads": 1, "repeats": args.repeats,
                             "models": rows}  # fmt: skip
    elif (own / "summary.json").is_file():
        earlier = json.loads((own / "summary.json").read_text()).get("timing")
        if earlier is not None:
            summary["timing"] = {**earlier, "carried_over": "twin weights not in --runs"}
    (own / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
