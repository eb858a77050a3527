"""Write the format-v1 test files of ``tests/data`` (run once, with the v1 writer).

A small seeded ``mbt2018-mean`` (n=16, m=24, analysis gain 30 so latents carry bits) is
calibrated on training crops and exported beside them, so the files decode the same however
the shipped zoo is retrained. Kept to document how the committed files were made.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from licodec.app import codec
from licodec.app.calibration import calibration_crops
from licodec.app.weights import export_weights, round_parameters_to_fp16
from licodec.models import build

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
OUT = ROOT / "tests" / "data"


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    model = build("mbt2018-mean", 1, n=16, m=24).eval()
    last = [m for m in model.g_a.modules() if isinstance(m, nn.Conv2d)][-1]
    with torch.no_grad():
        last.weight.mul_(30)
        last.bias.mul_(30)
    round_parameters_to_fp16(model)
    model.update()
    model.calibrate(calibration_crops(SHARED / "train", count=8, crop=128))
    manifest = {"model": model.name, "quality": 1, "model_config": {"n": 16, "m": 24}}
    export_weights(model, OUT / "tiny-mbt2018-mean-q1.safetensors", manifest)
    kodak = SHARED / "kodak"
    images = {
        "v1-rgb": Image.open(kodak / "kodim23.png").convert("RGB").crop((300, 200, 400, 270)),
        "v1-grey": Image.open(kodak / "kodim05.png").convert("L").crop((0, 0, 61, 45)),
    }
    for name, image in images.items():
        data = codec.encode(image, model)
        (OUT / f"{name}.lic").write_bytes(data)
        codec.decode(data, model).save(OUT / f"{name}.decoded.png")
        container = codec.read(data)
        y_hat = model.decompress_latent(container.sections, *image.size[::-1])
        np.save(OUT / f"{name}.y_hat.npy", y_hat.numpy())


if __name__ == "__main__":
    main()
