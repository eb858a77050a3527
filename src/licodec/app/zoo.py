"""Trained weights: the ones shipped in the package, or any file or folder the user names.

Lookup order for ``(model, quality)``:

1. an explicit ``weights`` path (a ``.safetensors`` file);
2. ``$LICODEC_WEIGHTS``: a file, or a folder holding ``{model}-q{quality}.safetensors``;
3. the package's own ``licodec/weights/`` folder, described by its ``manifest.json``.

Nothing is downloaded.
"""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any

from licodec.errors import ModelError
from licodec.models import CompressionModel, build, spec
from licodec.models.registry import registered_config

PACKAGE_WEIGHTS = Path(__file__).resolve().parent.parent / "weights"
DEFAULT_MODEL = "mbt2018-mean"
DEFAULT_YUV_MODEL = "cca-yuv420"
"""The model ``licodec encode`` uses for ``.y4m`` / ``.yuv`` input."""


def weights_filename(model: str, quality: int) -> str:
    """File name of a model's weights: ``{model}-q{quality}.safetensors``."""
    return f"{model}-q{quality}.safetensors"


@cache
def manifest() -> dict[str, dict[str, Any]]:
    """The shipped manifest: ``{model: {quality (str): entry}}``; empty if none ships."""
    path = PACKAGE_WEIGHTS / "manifest.json"
    if not path.is_file():
        return {}
    return json.loads(path.read_text())


def shipped_qualities(model: str) -> list[int]:
    """Qualities of ``model`` whose weights ship with the package."""
    entries = manifest().get(model, {})
    return sorted(
        int(q) for q in entries if (PACKAGE_WEIGHTS / weights_filename(model, int(q))).is_file()
    )


def default_quality(model: str) -> int:
    """The middle shipped quality of ``model``."""
    qualities = shipped_qualities(model)
    if not qualities:
        raise ModelError(
            f"no trained weights ship for {model!r}: pass a quality and --weights PATH "
            "(or set LICODEC_WEIGHTS)"
        )
    return qualities[(len(qualities) - 1) // 2]


def weights_file(weights: str | os.PathLike) -> Path:
    """``weights`` as a path, which must name a file."""
    path = Path(weights)
    if not path.is_file():
        raise ModelError(f"weights file not found: {path}")
    return path


def find_weights(model: str, quality: int, weights: str | os.PathLike | None = None) -> Path:
    """Resolve the weights file of ``(model, quality)`` (see module docstring)."""
    if weights is not None:
        return weights_file(weights)
    env = os.environ.get("LICODEC_WEIGHTS")
    if env:
        path = Path(env)
        candidate = path / weights_filename(model, quality) if path.is_dir() else path
        if candidate.is_file():
            return candidate
    packaged = PACKAGE_WEIGHTS / weights_filename(model, quality)
    if packaged.is_file():
        return packaged
    shipped = ", ".join(str(q) for q in shipped_qualities(model)) or "none"
    raise ModelError(
        f"no trained weights for {model!r} quality {quality} (shipped qualities: {shipped}); "
        "pass --weights PATH or set LICODEC_WEIGHTS"
    )


def load_model(
    model: str | None = DEFAULT_MODEL,
    quality: int | None = None,
    weights: str | os.PathLike | None = None,
) -> CompressionModel:
    """Build ``model`` at ``quality`` and load its trained weights, in eval mode.

    With ``model=None`` the model (and, without ``quality``, the quality) is the one a
    self-describing ``weights`` file names; otherwise the default model.
    """
    from licodec.app.weights import load_weights, read_metadata

    info = read_metadata(weights_file(weights)) if weights is not None else {}
    if model is None:
        model = info.get("model", DEFAULT_MODEL)
        if quality is None:
            quality = info.get("quality")
    spec(model)
    quality = default_quality(model) if quality is None else quality
    registered_config(model, quality)
    path = find_weights(model, quality, weights)
    if weights is None:
        info = read_metadata(path)
    network = build(model, quality, **architecture_overrides(path, info))
    load_weights(network, path)
    return network.eval()


def architecture_overrides(weights: Path, metadata: dict[str, Any]) -> dict[str, Any]:
    """Model settings of ``weights`` (e.g. ``{"n": .., "m": ..}``): from the file's own
    metadata, or for older files from the manifest beside it.

    Shipped weights may use other channel counts than the registry's default for their
    quality (e.g. a smaller model at a high-rate λ); the file says which.
    """
    from licodec.app.weights import manifest_path

    if "config" in metadata:
        config = dict(metadata["config"])
    else:
        sidecar = manifest_path(weights)
        if not sidecar.is_file():
            return {}
        config = dict(json.loads(sidecar.read_text()).get("model_config", {}))
    config.pop("lmbda", None)
    return config
