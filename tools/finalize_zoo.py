"""Turn training runs into the shipped zoo: weights, calibration, Kodak results, manifest.

For each ``RUN_PATTERN.format(q=Q)/checkpoint.pt``: export fp16 weights into
``src/licodec/weights``, calibrate their fixed-point path on 200 training crops,
evaluate every quality on Kodak from real files into
``results/kodak/licodec-mbt2018-mean.json`` and write ``src/licodec/weights/manifest.json``
(each file's training record plus its Kodak means).
(e.g. RUN_PATTERN = "runs/ft3-q{q}"; NOTE = the training history, stored in the manifest)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from export_checkpoint import main as export_checkpoint

from licodec.app import evaluate, zoo
from licodec.app.calibration import calibrate_weights
from licodec.app.weights import manifest_path

MODEL = "mbt2018-mean"
ROOT = Path(__file__).resolve().parents[1]


def main(runs: str, data: Path, kodak: Path, note: str, qualities: list[int]) -> None:
    for quality in qualities:
        weights = zoo.PACKAGE_WEIGHTS / zoo.weights_filename(MODEL, quality)
        export_checkpoint(Path(runs.format(q=quality)) / "checkpoint.pt", weights)
        calibrate_weights(weights, data)
    zoo.manifest.cache_clear()
    result = evaluate.evaluate(MODEL, qualities, evaluate.image_files(kodak))
    out = ROOT / "results" / "kodak" / f"licodec-{MODEL}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    entries = {}
    for index, quality in enumerate(result["meta"]["qualities"]):
        record = json.loads(
            manifest_path(zoo.PACKAGE_WEIGHTS / zoo.weights_filename(MODEL, quality)).read_text()
        )
        record["kodak"] = {
            "bpp": result["results"]["bpp"][index],
            "psnr_rgb": result["results"]["psnr-rgb"][index],
            "ms_ssim_rgb": result["results"]["ms-ssim-rgb"][index],
            "images": result["meta"]["num_images"],
        }
        record["file"] = zoo.weights_filename(MODEL, quality)
        record["training_history"] = note
        entries[str(quality)] = record
    (zoo.PACKAGE_WEIGHTS / "manifest.json").write_text(
        json.dumps({MODEL: entries}, indent=2, sort_keys=True) + "\n"
    )
    print(json.dumps(result["results"]))


if __name__ == "__main__":
    main(
        sys.argv[1],
        Path(sys.argv[2]),
        Path(sys.argv[3]),
        sys.argv[4],
        [int(q) for q in sys.argv[5:]] or [1, 2, 4, 6],
    )
