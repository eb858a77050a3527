"""LVQAC side by side: every variant against its scalar twin, all fine-tuned the same way.

The twins of one quality start from the same weights and fine-tune with the same data,
steps, schedule and seed (``tools/lvqac_twins.sh``); this script only measures their
exported weights (recalibrated alike with ``--calibrate``). Run from the repository root:

    python benchmarks/lvqac.py --runs RUNS --images ../shared/data/kodak [--backbone B]

``RUNS/{variant}-q{Q}/{model}-q{Q}.safetensors`` are the twins (``variant`` one of
``scalar``, ``lattice``, ``companding``, ``lvqac``; ``model`` the registered name), and
``RUNS/lattice-n{N}-q{Q}`` the lattice group sweep. Written to ``--out``
(default ``results/kodak/lvqac``):

* ``{backbone}-{variant}.json``: CompressAI layout from real files (bpp = file bytes), with
  the coset bits' share of the bpp (``coset-bpp``, the model's estimate: the bits sit inside
  the latent's range-coded stream, interleaved with the integer parts);
* ``summary.json`` (also printed): the coded sections' size over the estimate
  (``real_over_estimate``, per quality; each section ends with a 2-byte seal), BD-rate of
  each variant against the scalar twin (PSNR-RGB and MS-SSIM in dB), the group sweep (rate
  change at equal PSNR against the scalar curve), the coset model against oracle static
  probabilities on training crops, and encode/decode times of each variant against its
  scalar twin, measured in one run, variants interleaved, best of ``--repeats`` per image,
  on ``--timing-images`` images.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from licodec.app import zoo
from licodec.app.calibration import calibrate_weights, calibration_crops
from licodec.app.evaluate import measure_image
from licodec.app.report import bd_rate, ms_ssim_to_db, rate_at_equal_quality
from licodec.app.sweep import rd_sweep
from licodec.app.timing import best_times
from licodec.core.files import list_images
from licodec.core.image import load_image, pad_to_multiple, to_tensor
from licodec.models import CompressionModel
from licodec.models.lvqac import DEFAULT_GROUP

VARIANTS = ("scalar", "lattice", "companding", "lvqac")


def model_name(backbone: str, variant: str) -> str:
    return backbone if variant == "scalar" else f"{backbone}-{variant}"


def weights_path(runs: Path, backbone: str, run: str, variant: str, quality: int) -> Path:
    return runs / f"{run}-q{quality}" / zoo.weights_filename(model_name(backbone, variant), quality)


def estimated_bpp(model: CompressionModel, pixels: np.ndarray) -> dict[str, float]:
    """The eval forward's rate estimate, bits per pixel: in all (``estimate-bpp``) and the
    coset bits' share (``coset-bpp``; they sit inside the latent's range-coded stream,
    interleaved with the integer parts, so the estimate is how their share is known)."""
    x = pad_to_multiple(to_tensor(pixels), model.pad_multiple)
    with torch.no_grad():
        likelihoods = model(x)["likelihoods"]
    pixels_count = pixels.shape[0] * pixels.shape[1]
    bits = {k: float(-torch.log2(v.double()).sum()) / pixels_count for k, v in likelihoods.items()}
    return {"estimate-bpp": sum(bits.values()), "coset-bpp": bits.get("coset", 0.0)}


def evaluate_run(
    runs: Path, backbone: str, run: str, variant: str, qualities: list[int], images: list[Path]
) -> dict[str, Any]:
    """CompressAI-layout results of one twin family (one variant, several qualities)."""

    def coder_at(quality: int):  # noqa: ANN202 - the sweep's measurement
        model = zoo.load_model(None, None, weights_path(runs, backbone, run, variant, quality))

        def measure(path: Path) -> dict[str, float]:
            row = measure_image(model, path)
            row.update(estimated_bpp(model, load_image(path)[0]))
            return row

        return measure

    order, results = rd_sweep(qualities, images, coder_at, f"{run}", progress=False)
    return {
        "name": f"licodec-{model_name(backbone, variant)}",
        "description": (
            f"{model_name(backbone, variant)}, LVQAC twin '{run}' fine-tuned from the common "
            "scalar start; real .lic files, CPU"
        ),
        "meta": {"qualities": order, "num_images": len(images), "dataset": images[0].parent.name},
        "results": results,
    }


def _ms_ssim_db(values: list[float]) -> list[float]:
    return [ms_ssim_to_db(v) for v in values]


def bd_table(curves: dict[str, dict[str, Any]]) -> dict[str, dict[str, float]]:
    """BD-rate (%) of each variant against the scalar twin, PSNR-RGB and MS-SSIM (dB)."""
    anchor = curves["scalar"]["results"]
    table = {}
    for variant, curve in curves.items():
        if variant == "scalar":
            continue
        test = curve["results"]
        table[variant] = {
            "bd_rate_psnr": bd_rate(
                anchor["bpp"], anchor["psnr-rgb"], test["bpp"], test["psnr-rgb"]
            ),
            "bd_rate_ms_ssim": bd_rate(
                anchor["bpp"],
                _ms_ssim_db(anchor["ms-ssim-rgb"]),
                test["bpp"],
                _ms_ssim_db(test["ms-ssim-rgb"]),
            ),
            "coset_bpp": test["coset-bpp"],
        }
    for variant, curve in curves.items():
        rows = curve["results"]
        pairs = zip(rows["sections-bpp"], rows["estimate-bpp"], strict=True)
        table.setdefault(variant, {})["real_over_estimate"] = [r / e - 1 for r, e in pairs]
    return table


def rate_at_equal_psnr(anchor: dict[str, list[float]], bpp: float, psnr: float) -> float:
    """Rate change (%) of one point against the anchor curve at the point's PSNR."""
    return rate_at_equal_quality(anchor["bpp"], anchor["psnr-rgb"], bpp, psnr)


def coset_models(weights: Path, data: Path, crops: int) -> dict[str, float]:
    """Coset-bit cost (bits per pixel) on training crops under the trained bucketed model,
    against the oracle static probability per group (the best any one probability per group
    could do on these crops), the oracle per bucket, and one raw bit per group: what the
    activity buckets are worth (the ``[D]`` of :mod:`licodec.components.quant.cosets`)."""
    model = zoo.load_model(None, None, weights)
    cosets = model.latent_codec.y_codec.head.quantizer.cosets
    seen: list[tuple[Tensor, Tensor]] = []
    likelihood = cosets.likelihood

    def recording(bits: Tensor, scales: Tensor) -> Tensor:
        seen.append((bits.flatten(), cosets.rows(scales).flatten()))
        return likelihood(bits, scales)

    cosets.likelihood = recording
    pixels = 0
    try:
        with torch.no_grad():
            for x in calibration_crops(data, crops, 256, seed=7):
                model(x)
                pixels += x.shape[2] * x.shape[3]
    finally:
        del cosets.likelihood
    bits = torch.cat([b for b, _ in seen]).double()
    rows = torch.cat([r for _, r in seen])
    p1 = torch.sigmoid(cosets.logits.detach().double()).flatten()[rows]
    trained = float(-torch.log2(torch.where(bits > 0, p1, 1 - p1)).sum())

    def oracle(keys: Tensor) -> float:
        total = 0.0
        for key in keys.unique():
            chosen = bits[keys == key]
            p = float(chosen.mean())
            if 0 < p < 1:
                total += chosen.numel() * -(p * np.log2(p) + (1 - p) * np.log2(1 - p))
        return total

    return {
        "crops": crops,
        "coset_bits_per_group_position": float(bits.numel() / pixels * 256),
        "fraction_on_half_coset": float(bits.mean()),
        "bpp_trained_bucketed": trained / pixels,
        "bpp_oracle_per_bucket": oracle(rows) / pixels,
        "bpp_oracle_static_per_group": oracle(
            torch.div(rows, cosets.buckets, rounding_mode="floor")
        )
        / pixels,
        "bpp_raw_bits": bits.numel() / pixels,
    }


def timing(
    runs: Path, backbone: str, variants: list[str], quality: int, images: list[Path], repeats: int
) -> dict[str, dict[str, float]]:
    """Encode/decode seconds of each variant on ``images`` (sum of per-image best of
    ``repeats``), variants interleaved so machine noise hits them alike."""
    models = {
        v: zoo.load_model(None, None, weights_path(runs, backbone, v, v, quality)) for v in variants
    }
    best = best_times(models, [load_image(path)[0] for path in images], repeats)
    totals = {v: {k: float(sum(t)) for k, t in row.items()} for v, row in best.items()}
    for row in totals.values():
        row["encode_vs_scalar"] = row["encode_s"] / totals["scalar"]["encode_s"]
        row["decode_vs_scalar"] = row["decode_s"] / totals["scalar"]["decode_s"]
    return totals


def single_points(
    args: argparse.Namespace, images: list[Path], scalar: dict[str, list[float]]
) -> dict[str, dict[str, float]]:
    """Extra twins at ``--sweep-quality`` (``--points RUN:VARIANT``), each against the scalar
    curve at equal PSNR; cached as ``{RUN}.json`` in ``--out``."""
    points = {}
    for spec in args.points:
        run, variant = spec.split(":")
        path = weights_path(args.runs, args.backbone, run, variant, args.sweep_quality)
        cache = args.out / f"{args.backbone}-{run}.json"
        if not cache.is_file():
            if not path.is_file():
                continue
            if args.calibrate:
                calibrate_weights(path, args.train)
            curve = evaluate_run(
                args.runs, args.backbone, run, variant, [args.sweep_quality], images
            )
            cache.write_text(json.dumps(curve, indent=2) + "\n")
        results = json.loads(cache.read_text())["results"]
        row = {k: results[k][0] for k in ("bpp", "psnr-rgb", "coset-bpp")}
        row["rate_vs_scalar_at_equal_psnr"] = rate_at_equal_psnr(
            scalar, row["bpp"], row["psnr-rgb"]
        )
        points[run] = row
    return points


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=Path, required=True)
    parser.add_argument("--images", type=Path, required=True)
    parser.add_argument("--backbone", default="mbt2018-ckbd")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS))
    parser.add_argument("--qualities", type=int, nargs="+", default=[1, 2, 4, 6])
    parser.add_argument("--sweep-quality", type=int, default=2)
    parser.add_argument(
        "--points",
        nargs="*",
        default=["lattice-n4:lattice", "lattice-n16:lattice", "lattice-n96:lattice"],
        help="extra twins RUN:VARIANT measured at --sweep-quality (lattice-nN: group sweep)",
    )
    parser.add_argument("--timing-images", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("results/kodak/lvqac"))
    parser.add_argument("--train", type=Path, default=Path("../shared/data/train"))
    parser.add_argument("--coset-crops", type=int, default=40)
    parser.add_argument(
        "--calibrate",
        action="store_true",
        help="recalibrate each twin in place before measuring it (200 training crops)",
    )
    parser.add_argument(
        "--no-summary", action="store_true", help="only evaluate --variants (kept as JSON)"
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    images = list_images(args.images)
    args.out.mkdir(parents=True, exist_ok=True)
    for variant in args.variants:
        present = [
            q
            for q in args.qualities
            if weights_path(args.runs, args.backbone, variant, variant, q).is_file()
        ]
        if not present:
            continue
        if args.calibrate:
            for q in present:
                calibrate_weights(
                    weights_path(args.runs, args.backbone, variant, variant, q), args.train
                )
        curve = evaluate_run(args.runs, args.backbone, variant, variant, present, images)
        path = args.out / f"{args.backbone}-{variant}.json"
        path.write_text(json.dumps(curve, indent=2) + "\n")
    if args.no_summary:
        return
    curves = {
        v: json.loads((args.out / f"{args.backbone}-{v}.json").read_text())
        for v in VARIANTS
        if (args.out / f"{args.backbone}-{v}.json").is_file()
    }
    summary: dict[str, Any] = {
        "backbone": args.backbone,
        "threads": 1,
        "bd_rate_vs_scalar": bd_table(curves),
    }
    points = single_points(args, images, curves["scalar"]["results"])
    lattice = curves.get("lattice")
    if lattice is not None and args.sweep_quality in lattice["meta"]["qualities"]:
        index = lattice["meta"]["qualities"].index(args.sweep_quality)
        row = {k: lattice["results"][k][index] for k in ("bpp", "psnr-rgb", "coset-bpp")}
        row["rate_vs_scalar_at_equal_psnr"] = rate_at_equal_psnr(
            curves["scalar"]["results"], row["bpp"], row["psnr-rgb"]
        )
        points[f"lattice-n{DEFAULT_GROUP} (the lattice twin)"] = row
    summary["points"] = {"quality": args.sweep_quality, "runs": points}
    lattice_q = weights_path(args.runs, args.backbone, "lattice", "lattice", args.sweep_quality)
    if lattice_q.is_file():
        summary["coset_model"] = coset_models(lattice_q, args.train, args.coset_crops)
    summary["timing"] = {
        "quality": args.sweep_quality,
        "images": [p.name for p in images[: args.timing_images]],
        "repeats": args.repeats,
        "variants": timing(
            args.runs,
            args.backbone,
            list(curves),
            args.sweep_quality,
            images[: args.timing_images],
            args.repeats,
        ),
    }
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
