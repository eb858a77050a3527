"""Encode/decode speed of licodec's context models against CompressAI on one Kodak image.

CompressAI is not a licodec dependency; install it into the benchmark's environment with

    pip install --no-deps compressai==1.2.8 requests scipy einops

and run ``PYTHONPATH=src python benchmarks/decode_speed.py`` from the repository root.

For each model the same architecture is built untrained in both libraries (seeded), both
code ``kodim01.png`` (768×512) with their own ``compress``/``decompress`` (CompressAI after
``update(force=True)``), and one JSON line is printed:

    {"model": ..., "licodec_encode_s": ..., "licodec_decode_s": ...,
     "licodec_latent_decode_s": ..., "compressai_model": ..., "compressai_decode_s": ...,
     "ratio": ...}

``ratio`` is CompressAI's decode time over licodec's. CompressAI has no checkerboard
models: ``mbt2018-ckbd`` and ``cheng2020-ckbd`` are compared with CompressAI's serial decode
of the same backbone (``mbt2018``, ``cheng2020-anchor``). Times are the best of
``--repeats`` runs. licodec's decode is checked to reproduce its encoder's image.

Untrained analysis transforms give latents within ±0.3, which all round to zero and make
entropy coding free. So that the timings include real coding work, both libraries' models
get the same rescaling: the last analysis layer is multiplied by ``--latent-gain`` and the
bias of the predicted scales is set to ``--scale-bias`` (still untrained, just louder).

CompressAI imports ``torchvision`` and ``torch_geometric`` (and ``pandas``) for datasets
and transforms this benchmark does not use; no CPU build of torchvision is available, so
stand-in modules take their place in ``sys.modules`` before ``compressai`` is imported.
"""

from __future__ import annotations

import argparse
import importlib.machinery
import json
import sys
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from licodec.core.image import load_image, to_tensor
from licodec.models import build

KODIM01 = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "kodak" / "kodim01.png"

MODELS = (
    # licodec name, CompressAI zoo name of the serial reference
    ("mbt2018", "mbt2018"),
    ("cheng2020-anchor", "cheng2020-anchor"),
    ("mbt2018-ckbd", "mbt2018"),
    ("cheng2020-ckbd", "cheng2020-anchor"),
)


class _StandIn:
    """Placeholder for classes and decorators of the stand-in modules."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        del args, kwargs


def _stand_in_module(name: str, **attributes: Any) -> types.ModuleType:
    """Register an empty package ``name`` (with a proper ``__spec__``) in ``sys.modules``."""
    module = types.ModuleType(name)
    module.__spec__ = importlib.machinery.ModuleSpec(name, None, is_package=True)
    module.__path__ = []
    module.__dict__.update(attributes)
    sys.modules[name] = module
    parent, _, child = name.rpartition(".")
    if parent:
        setattr(sys.modules[parent], child, module)
    return module


def import_compressai() -> types.ModuleType:
    """Import ``compressai.zoo`` behind stand-ins for its unused heavy dependencies."""
    _stand_in_module("torchvision")
    _stand_in_module("torchvision.transforms")
    _stand_in_module("torchvision.datasets")
    _stand_in_module("torch_geometric")
    _stand_in_module("torch_geometric.data", Data=_StandIn)
    _stand_in_module("torch_geometric.data.datapipes", functional_transform=lambda _: lambda c: c)
    _stand_in_module("torch_geometric.transforms", BaseTransform=_StandIn, Center=_StandIn)
    _stand_in_module("pandas")
    import compressai.zoo

    return compressai.zoo


def make_louder(
    last_analysis: nn.Conv2d, parameters: nn.Conv2d, scales: slice, args: argparse.Namespace
) -> None:
    """Multiply the analysis output by ``latent_gain``; set the scale outputs' bias."""
    with torch.no_grad():
        last_analysis.weight.mul_(args.latent_gain)
        last_analysis.bias.mul_(args.latent_gain)
        parameters.bias[scales] = args.scale_bias


def best_time(run: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    """Best wall time of ``repeats`` calls and the last call's result."""
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - start)
    return best, result


def time_licodec(name: str, x: Tensor, args: argparse.Namespace) -> tuple[float, float, float]:
    """``(encode_s, decode_s, latent_decode_s)`` of licodec's ``name``; checks the decode.

    ``latent_decode_s`` is the entropy decoding of ``ẑ`` and ``ŷ`` alone (parameter networks
    and coder); the rest of ``decode_s`` is the synthesis transform."""
    torch.manual_seed(0)
    model = build(name, args.quality).eval()
    y_codec = model.latent_codec.y_codec
    scales = y_codec.head.scale_slice(y_codec.channels)
    make_louder(model.g_a[-1], y_codec.entropy_parameters[-1], scales, args)
    height, width = x.shape[-2:]
    with torch.no_grad():
        encode_s, coded = best_time(lambda: model.compress(x, reconstruct=True), args.repeats)
        sections, encoded = coded.sections, coded.reconstruction.tensor
        decode_s, decoded = best_time(
            lambda: model.decompress(sections, height, width), args.repeats
        )
        latent_s, _ = best_time(
            lambda: model.decompress_latent(sections, height, width), args.repeats
        )
    if not torch.equal(decoded.tensor, encoded):
        raise RuntimeError(f"licodec {name}: decoded image differs from the encoder's")
    return encode_s, decode_s, latent_s


def time_compressai(zoo: types.ModuleType, name: str, x: Tensor, args: argparse.Namespace) -> float:
    """Decode time of CompressAI's ``name`` (serial context, its own entropy coder)."""
    torch.manual_seed(0)
    model = zoo.image_models[name](quality=args.quality, pretrained=False).eval()
    channels = model.entropy_parameters[-1].out_channels // 2
    make_louder(model.g_a[-1], model.entropy_parameters[-1], slice(0, channels), args)
    model.update(force=True)
    with torch.no_grad():
        out = model.compress(x)
        decode_s, _ = best_time(
            lambda: model.decompress(out["strings"], out["shape"]), args.repeats
        )
    return decode_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--image", type=Path, default=KODIM01)
    parser.add_argument("--quality", type=int, default=3, help="1..6 (shared by all models)")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--latent-gain", type=float, default=30.0)
    parser.add_argument("--scale-bias", type=float, default=2.0)
    args = parser.parse_args()
    zoo = import_compressai()
    x = to_tensor(load_image(args.image)[0])
    reference: dict[str, float] = {}
    for name, serial_name in MODELS:
        encode_s, decode_s, latent_s = time_licodec(name, x, args)
        if serial_name not in reference:
            reference[serial_name] = time_compressai(zoo, serial_name, x, args)
        line = {
            "model": name,
            "licodec_encode_s": round(encode_s, 3),
            "licodec_decode_s": round(decode_s, 3),
            "licodec_latent_decode_s": round(latent_s, 3),
            "compressai_model": serial_name,
            "compressai_decode_s": round(reference[serial_name], 3),
            "ratio": round(reference[serial_name] / decode_s, 2),
        }
        print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
