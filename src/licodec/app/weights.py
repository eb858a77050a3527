"""Trained weights as ``.safetensors`` files with a JSON manifest beside them.

Storage rules:

* floating-point **parameters** are stored as float16 (half the size; the codec's
  decisions never depend on their low bits, because coding goes through integer tables);
* **buffers** keep their dtype exactly: the integer coding tables (``_counts``,
  ``_length``, ``_offset``, int32) and float buffers such as a scale table or its
  quantization bounds, which decide which table codes a symbol and so must not be rounded.

Call :func:`round_parameters_to_fp16` and then ``model.update()`` before exporting, so the
stored coding tables are exactly those the stored (rounded) parameters give; then
``model.calibrate(crops)`` to store the fixed-point path (integer weights, biases,
multipliers and shifts of the parameter networks, all integer buffers) with them.

Files describe themselves: the safetensors metadata holds ``licodec.model``,
``licodec.quality``, ``licodec.config`` (JSON: the builder's settings, e.g. channel counts)
and ``licodec.weights_id`` (:mod:`licodec.models.identity`, also written into the manifest),
so a copied file loads on its own. Loading checks the model and quality it names and that
the loaded tensors hash to its id (a damaged or edited file is refused). Files exported
before this metadata existed still load, with their JSON sidecar giving the config.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file
from torch import Tensor, nn

from licodec.components.buffers import optional_state_keys, state_keys
from licodec.components.entropy.base import TabledEntropyModel
from licodec.components.legacy import upgrade_state
from licodec.errors import ModelError
from licodec.models.identity import format_id, weights_id

STORED_PARAMETER_DTYPE = torch.float16
"""dtype of floating-point parameters in exported weight files."""


def manifest_path(weights: Path | str) -> Path:
    """The JSON manifest that sits beside ``weights`` (same name, ``.json``)."""
    return Path(weights).with_suffix(".json")


@torch.no_grad()
def round_parameters_to_fp16(model: nn.Module) -> None:
    """Round every floating-point parameter to the nearest float16 value, in place."""
    for parameter in model.parameters():
        if parameter.is_floating_point():
            parameter.copy_(parameter.to(STORED_PARAMETER_DTYPE))


def export_weights(model: nn.Module, path: Path | str, manifest: dict[str, Any]) -> dict[str, Any]:
    """Write ``model``'s state as ``path`` (safetensors, self-describing metadata) plus its
    JSON manifest sidecar (given ``manifest`` with ``weights_id`` added).

    Both files are written to a temporary name first and then renamed, so a reader never
    sees half a file. Returns the manifest as written.

    Raises:
        ModelError: a parameter does not fit float16 (overflow to infinity).
    """
    path = Path(path)
    parameters = {name for name, _ in model.named_parameters()}
    tensors: dict[str, Tensor] = {}
    for name, tensor in model.state_dict().items():
        tensor = tensor.detach().cpu()
        if name in parameters and tensor.is_floating_point():
            tensor = tensor.to(STORED_PARAMETER_DTYPE)
            if not torch.isfinite(tensor).all():
                raise ModelError(f"parameter {name} overflows float16 (|value| > 65504)")
        tensors[name] = tensor.contiguous()
    identity = format_id(weights_id(tensors))
    metadata = {
        "format": "pt",
        "licodec.model": str(getattr(model, "name", "")),
        "licodec.quality": str(getattr(model, "quality", 0)),
        "licodec.config": json.dumps(getattr(model, "config", {}), sort_keys=True),
        "licodec.weights_id": identity,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    save_file(tensors, tmp, metadata=metadata)
    os.replace(tmp, path)
    sidecar = manifest_path(path)
    tmp = sidecar.with_name(sidecar.name + ".tmp")
    entry = {**manifest, "weights_id": identity}
    tmp.write_text(json.dumps(entry, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, sidecar)
    return entry


def read_metadata(path: Path | str) -> dict[str, Any]:
    """What a weights file says of itself: ``{"model", "quality", "config", "weights_id"}``
    (the keys it has; ``{}`` for files exported before the metadata existed).

    Raises:
        ModelError: the file is missing, not safetensors, or its metadata is malformed.
    """
    try:
        with safe_open(str(path), framework="pt") as handle:
            raw = handle.metadata() or {}
    except (OSError, SafetensorError) as err:
        raise ModelError(f"cannot read weights file {path}: {err}") from err
    info: dict[str, Any] = {}
    try:
        if raw.get("licodec.model"):
            info["model"] = raw["licodec.model"]
        if "licodec.quality" in raw:
            info["quality"] = int(raw["licodec.quality"])
        if "licodec.config" in raw:
            info["config"] = dict(json.loads(raw["licodec.config"]))
        if "licodec.weights_id" in raw:
            info["weights_id"] = int(raw["licodec.weights_id"], 16)
    except (ValueError, TypeError) as err:
        raise ModelError(f"weights file {path} has malformed licodec metadata: {err}") from err
    return info


def derived_state_keys(model: nn.Module) -> set[str]:
    """Keys of the state built from the model's configuration rather than learned: every
    entropy model's coding tables and a conditional's scale grid (``scale_table``,
    ``scale_bounds``)."""
    keys = set()
    for prefix, module in model.named_modules():
        if isinstance(module, TabledEntropyModel):
            names = (*module._SIZED_BUFFERS, *getattr(module, "CONFIGURED_BUFFERS", ()))
            keys |= state_keys(prefix, names)
    return keys


def load_weights(
    model: nn.Module, path: Path | str, partial: bool = False, only: tuple[str, ...] = ()
) -> nn.Module:
    """Load a file written by :func:`export_weights` into ``model``; returns ``model``.

    With ``partial=True`` (a warm start of another model, e.g. a context model from a
    hyperprior model's weights) the tensors whose names the model shares are loaded and the
    rest of the model keeps its initialisation; fixed-point twins are not taken (they belong
    to the other model's parameter networks; calibration rebuilds them), nor the state the
    model's own configuration decides (coding tables and scale grids,
    :func:`derived_state_keys`: another model's grid would replace this one's), the file
    may name another model, and shapes must still agree — except that a layer of this model
    may take more input channels (dimension 1) than the file's: the file's weights fill the
    leading input channels and the others start at zero (``[D]``: the new inputs start
    switched off, so the widened layer computes what the source's did; e.g. ``gan-sc``'s
    generator, which reads ``[ŵ, label features]``, from ``gan-gc``'s, which reads ``ŵ``).
    The coding tables are then rebuilt from the loaded parameters. ``only`` (partial loads)
    narrows the shared tensors to those whose names start with one of its prefixes (e.g.
    ``("g_a",)``: another model's encoder, everything else as initialised).

    Float16 tensors are widened to the dtype of the model's own tensor; integer buffers
    (coding tables and the fixed-point path, which may differ in size from the model's) are
    taken as they are. A file without a fixed-point calibration loads into a model whose
    integer path then stays empty.

    Raises:
        ModelError: unreadable file, weights of another model or quality (by the file's
            metadata, or by missing or unexpected keys or shapes), or tensors that do not
            hash to the file's weights id; ``only`` without ``partial``, or naming no shared
            tensor.
    """
    if only and not partial:
        raise ModelError("only picks tensors of a partial load: pass partial=True")
    path = Path(path)
    info = read_metadata(path)
    names = (getattr(model, "name", None), getattr(model, "quality", None))
    if not partial and "model" in info and (info["model"], info.get("quality")) != names:
        raise ModelError(
            f"weights {path} hold {info['model']} q{info.get('quality')}, "
            f"not {names[0]} q{names[1]}"
        )
    try:
        stored = load_file(path)
    except (OSError, SafetensorError) as err:
        raise ModelError(f"cannot read weights file {path}: {err}") from err
    if "weights_id" in info and weights_id(stored) != info["weights_id"]:
        raise ModelError(
            f"weights {path} are damaged: their tensors do not hash to the file's weights id "
            f"{format_id(info['weights_id'])}"
        )
    stored = upgrade_state(model, stored)
    own = model.state_dict()
    if partial:
        derived = derived_state_keys(model)
        stored = {
            k: v
            for k, v in stored.items()
            if k in own
            and "_int." not in k
            and k not in derived
            and (not only or k.startswith(tuple(only)))
        }
        if only and not stored:
            names_only = " or ".join(f"{prefix}*" for prefix in only)
            raise ModelError(f"weights {path} share no tensor named {names_only} with this model")
        stored = {k: _widened(v, own[k]) for k, v in stored.items()}
        stored.update({k: v for k, v in own.items() if k not in stored})
    missing = sorted(own.keys() - stored.keys() - optional_state_keys(model))
    unexpected = sorted(stored.keys() - own.keys())
    if missing or unexpected:
        raise ModelError(
            f"weights {path} do not fit {type(model).__name__}: "
            f"{len(missing)} missing key(s) {_first(missing)}, "
            f"{len(unexpected)} unexpected key(s) {_first(unexpected)}"
        )
    converted: dict[str, Tensor] = {}
    for name, tensor in stored.items():
        target = own[name]
        if tensor.is_floating_point():
            if tensor.shape != target.shape:
                raise ModelError(
                    f"weights {path}: {name} has shape {tuple(tensor.shape)}, "
                    f"the model expects {tuple(target.shape)}"
                )
            tensor = tensor.to(target.dtype)
        converted[name] = tensor
    try:
        model.load_state_dict(converted, strict=True)
    except RuntimeError as err:
        raise ModelError(f"weights {path} do not fit {type(model).__name__}: {err}") from err
    if partial and hasattr(model, "update"):
        model.update()
    return model


def _widened(stored: Tensor, own: Tensor) -> Tensor:
    """``stored`` in the leading input channels of a zero tensor shaped like ``own`` where
    ``own`` differs from it only by more channels along dimension 1; else ``stored``."""
    same_elsewhere = stored.dim() == own.dim() >= 2 and all(
        a == b for i, (a, b) in enumerate(zip(stored.shape, own.shape, strict=True)) if i != 1
    )
    if not (stored.is_floating_point() and same_elsewhere and stored.shape[1] < own.shape[1]):
        return stored
    widened = own.new_zeros(own.shape)
    widened[:, : stored.shape[1]] = stored.to(own.dtype)
    return widened


def _first(names: list[str], count: int = 3) -> str:
    shown = ", ".join(names[:count])
    return f"[{shown}{', ...' if len(names) > count else ''}]"
