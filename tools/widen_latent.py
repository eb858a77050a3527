"""Widen shipped weights' latent to ``M`` channels, as a starting point for more training.

Usage: python tools/widen_latent.py WEIGHTS.safetensors M OUT.safetensors
then ``licodec train ... --model-arg m=M --init-from OUT.safetensors``. The side-car records
where the weights came from; see :mod:`licodec.app.widen` for what is preserved.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from licodec.app import zoo
from licodec.app.weights import export_weights, manifest_path
from licodec.app.widen import widen_latent


def main(weights: Path, m: int, output: Path) -> None:
    manifest = json.loads(manifest_path(weights).read_text())
    trained = zoo.load_model(manifest["model"], manifest["quality"], weights)
    wide = widen_latent(trained, m)
    record = {
        "model": wide.name,
        "quality": wide.quality,
        "model_config": wide.config,
        "widened_from": str(weights),
    }
    export_weights(wide, output, record)
    print(f"{weights} (m={trained.config['m']}) -> {output} (m={m})")


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3]))
