"""Write ``tests/data/golden/*.npz``: every registered model's entropy-coded sections for
fixed latents, the reference that refactors of the quantizers and entropy models must
reproduce byte for byte (``tests/test_golden_sections.py``).

Per model: a small seeded build (channel counts in ``TINY``), its latent codec calibrated on
random latents, so that the sections come from the integer path (bit-exact on any CPU),
stored whole (the latent codec's state, tables and fixed-point twins included), the input
latents ``y`` (numpy's generator: the same on every platform, scaled so symbols carry a few
bits) and the sections they code to. Rerun only to add a model, or for a writer changed on
purpose (first move its file to ``golden/earlier/{model}-{how}.npz``, whose sections must
still decode): existing files are the reference.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

from licodec.components.latent.companded_head import CompandedMeanScaleHead
from licodec.components.quant.centres import LearnedCentreQuantizer
from licodec.models import available, build

LVQAC = ("lattice", "companding", "lvqac")

OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "golden"
TINY = {
    "cheng2020-anchor": {"n": 8},
    "cheng2020-attn": {"n": 8},
    "cheng2020-ckbd": {"n": 8},
    **{f"{b}-{v}": {"n": 8, "m": 16} for b in ("mbt2018", "mbt2018-ckbd") for v in LVQAC},
    "cheng2020-lattice": {"n": 8},
    "cheng2020-ckbd-lattice": {"n": 8},
    **{f"gan-{mode}": {"width": 4, "blocks": 1, "channels": 16} for mode in ("gc", "sc")},
}
DEFAULT_TINY = {"n": 8, "m": 12}
SHAPES = ((4, 8), (8, 12))
"""Latent shapes coded per model (multiples of the hyper-latent stride, 4)."""


def latents(channels: int, shape: tuple[int, int], seed: int) -> torch.Tensor:
    """``1×C×H×W`` float32 latents, ``3 · N(0, 1)`` from numpy's PCG64."""
    rng = np.random.default_rng(seed)
    return torch.from_numpy((3 * rng.standard_normal((1, channels, *shape))).astype(np.float32))


def tiny_model(name: str):  # noqa: ANN201 - a CompressionModel
    """The seeded small build; companding heads get a random last compander layer (a
    trained-looking spread of ``A`` levels instead of the identity start), learned centres
    random gaps (instead of the integers)."""
    torch.manual_seed(0)
    model = build(name, 1, **TINY.get(name, DEFAULT_TINY)).eval()
    for module in model.modules():
        if isinstance(module, CompandedMeanScaleHead):
            torch.nn.init.normal_(module.compander[2].weight, std=0.05)
            torch.nn.init.constant_(module.compander[2].bias, 0.5)
        if isinstance(module, LearnedCentreQuantizer):
            with torch.no_grad():
                module.log_gaps.normal_(0.0, 0.3)
            model.update()
    return model


def main(names: list[str]) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name in names or available():
        model = tiny_model(name)
        channels = model.analyze(*model.planes_of(torch.zeros(1, 3, 64, 64))).shape[1]
        codec = model.latent_codec
        codec.calibrate([latents(channels, (8, 8), seed) for seed in range(100, 104)])
        codec.force_float = False
        arrays = {f"state/{k}": v.numpy() for k, v in codec.state_dict().items()}
        with torch.no_grad():
            for index, shape in enumerate(SHAPES):
                y = latents(channels, shape, index)
                sections, y_hat = codec.compress(y)
                arrays[f"y/{index}"] = y.numpy()
                arrays[f"y_hat/{index}"] = y_hat.float().numpy()
                for s, section in enumerate(sections):
                    arrays[f"sections/{index}/{s}"] = np.frombuffer(section, dtype=np.uint8)
        np.savez_compressed(OUT / f"{name}.npz", **arrays)
        size = (OUT / f"{name}.npz").stat().st_size
        print(f"{name}: integer path {codec.integer_path}, {size} bytes")


if __name__ == "__main__":
    main(sys.argv[1:])
