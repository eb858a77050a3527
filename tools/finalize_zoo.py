"""Turn training runs into the shipped zoo: weights, calibration, Kodak results, manifest.

For each ``RUN_PATTERN.format(q=Q)/checkpoint.pt``: export fp16 weights into
``src/licodec/weights``, calibrate their fixed-point path on 200 training crops,
evaluate every quality on Kodak (or ``--dataset``'s images) from real files into
``results/kodak/licodec-{MODEL}.json`` (a YUV model: Kodak as 4:2:0 planes, into
``results/kodak-yuv420/``; generative models with the realism metrics) and write the
model's entries of ``src/licodec/weights/manifest.json`` (each file's training record plus
its Kodak means; other models' entries are kept).
Usage: finalize_zoo.py RUN_PATTERN TRAIN_DATA KODAK NOTE [--model M] [--init-from TEXT]
[--measure-only] [QUALITY ...],
e.g. RUN_PATTERN = "runs/ft3-q{q}"; NOTE = the training history, stored in the manifest.
``--init-from`` (``{q}`` is the quality) replaces the start point each run recorded, which
is only a path: "src/licodec/weights/mbt2018-mean-q{q}.safetensors at commit abc1234" for a
run that began from shipped weights this export overwrites, or what a checkpoint held.
Every quality the manifest already ships for the model is measured again beside the exported
ones (one results file holds the whole curve), its training record kept: reshipping q4 alone
leaves q1–q3's records as they were. ``--measure-only`` exports nothing: the shipped weights
are measured again (after a decoder change; ``RUN_PATTERN`` and ``TRAIN_DATA`` unused).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from export_checkpoint import main as export_checkpoint

from licodec.app import evaluate, zoo
from licodec.app.calibration import calibrate_weights
from licodec.app.weights import manifest_path
from licodec.core.colour import CodedFormat
from licodec.core.files import list_images
from licodec.models import spec

ROOT = Path(__file__).resolve().parents[1]
REALISM = ("brisque", "niqe", "butteraugli", "ssimulacra2")


def main(
    runs: str,
    data: Path,
    kodak: Path,
    note: str,
    qualities: list[int],
    init_from: str | None = None,
    model: str = zoo.DEFAULT_MODEL,
    dataset: str = "kodak",
    measure_only: bool = False,
) -> None:
    exported = [] if measure_only else qualities
    for quality in exported:
        weights = zoo.PACKAGE_WEIGHTS / zoo.weights_filename(model, quality)
        export_checkpoint(
            Path(runs.format(q=quality)) / "checkpoint.pt",
            weights,
            None if init_from is None else init_from.format(q=quality),
        )
        calibrate_weights(weights, data)
    zoo.manifest.cache_clear()
    manifest = zoo.PACKAGE_WEIGHTS / "manifest.json"
    everything = json.loads(manifest.read_text()) if manifest.is_file() else {}
    shipped = everything.get(model, {})
    measured = sorted({*qualities, *zoo.shipped_qualities(model)})
    result = evaluate.evaluate(model, measured, list_images(kodak))
    yuv = spec(model).input_format != CodedFormat.RGB444
    out = ROOT / "results" / (f"{dataset}-yuv420" if yuv else dataset) / f"licodec-{model}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    entries = {}
    for index, quality in enumerate(result["meta"]["qualities"]):
        if quality in exported:
            weights = zoo.PACKAGE_WEIGHTS / zoo.weights_filename(model, quality)
            record = json.loads(manifest_path(weights).read_text())
            record["training_history"] = note
        else:
            record = shipped[str(quality)]
        metrics = ("psnr-yuv", "psnr-y", "ms-ssim-y") if yuv else ("psnr-rgb", "ms-ssim-rgb")
        metrics += tuple(k for k in REALISM if k in result["results"])
        record[dataset] = {
            "bpp": result["results"]["bpp"][index],
            **{k.replace("-", "_"): result["results"][k][index] for k in metrics},
            "images": result["meta"]["num_images"],
            **({"pictures": "Kodak as 4:2:0 planes (BT.709 limited range)"} if yuv else {}),
        }
        record["file"] = zoo.weights_filename(model, quality)
        entries[str(quality)] = record
    everything[model] = entries
    manifest.write_text(json.dumps(everything, indent=2, sort_keys=True) + "\n")
    print(json.dumps(result["results"]))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", help='run folder pattern, e.g. "runs/ft3-q{q}"')
    parser.add_argument("data", type=Path, help="training images (calibration crops)")
    parser.add_argument("kodak", type=Path, help="evaluation images")
    parser.add_argument("note", help="training history stored in the manifest")
    parser.add_argument("qualities", type=int, nargs="*", default=[1, 2, 4, 6])
    parser.add_argument("--init-from", help="what the runs began from; {q} is the quality")
    parser.add_argument("--model", default=zoo.DEFAULT_MODEL, help="registered model name")
    parser.add_argument(
        "--dataset",
        default="kodak",
        help="name of the evaluation set: the manifest key and results/ folder (camvid-test)",
    )
    parser.add_argument(
        "--measure-only", action="store_true", help="measure the shipped weights again only"
    )
    args = parser.parse_intermixed_args()
    main(
        args.runs,
        args.data,
        args.kodak,
        args.note,
        args.qualities,
        args.init_from,
        args.model,
        args.dataset,
        args.measure_only,
    )
