"""Buffers whose shapes come from data (coding tables, fixed-point calibration), and the
state a stored file may lack (:func:`optional_state_keys`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from torch import nn


class DataSizedBuffers(nn.Module):
    """A module whose buffers named in ``_SIZED_BUFFERS`` take their shape from a state dict.

    Their sizes are only known once the module has been fitted to something (tables built,
    networks calibrated), so a freshly built module holds them empty and loading a state dict
    resizes them to the stored tensors (keeping the module's own dtype) before copying.

    With ``_OPTIONAL_STATE = True`` a state dict holding none of them (written before the
    module was fitted, or by a version without it) is accepted: the buffers stay empty and
    the keys are not reported missing, also under ``strict=True``. A state dict holding only
    some of them is still reported, since it is damaged.
    """

    _SIZED_BUFFERS: tuple[str, ...] = ()
    _OPTIONAL_STATE: bool = False

    def _load_from_state_dict(  # noqa: ANN001 - torch's signature
        self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, errors
    ) -> None:
        present = [name for name in self._SIZED_BUFFERS if prefix + name in state_dict]
        for name in present:
            own = getattr(self, name)
            stored = state_dict[prefix + name]
            setattr(self, name, torch.zeros_like(stored, dtype=own.dtype, device=own.device))
        super()._load_from_state_dict(
            state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, errors
        )
        if self._OPTIONAL_STATE and not present:
            for name in self._SIZED_BUFFERS:
                if prefix + name in missing_keys:
                    missing_keys.remove(prefix + name)


def state_keys(prefix: str, names: Iterable[str]) -> set[str]:
    """``names`` of a submodule as keys of the state dict it sits in under ``prefix``."""
    return {f"{prefix}.{name}" if prefix else name for name in names}


def optional_state_keys(model: nn.Module) -> set[str]:
    """State-dict keys of ``model`` that a stored file may lack: optional sized buffers, and
    the whole state of modules marked ``optional_state = True`` (e.g. a post-filter, which
    loads as built — the identity — from weights written before it was trained)."""
    keys = set()
    for prefix, module in model.named_modules():
        if isinstance(module, DataSizedBuffers) and module._OPTIONAL_STATE:
            keys |= state_keys(prefix, module._SIZED_BUFFERS)
        if getattr(module, "optional_state", False):
            keys |= state_keys(prefix, module.state_dict())
    return keys


def forgive_absent_optional_modules(model: nn.Module, incompatible: Any) -> None:
    """``load_state_dict`` post-hook for ``model``: a module marked ``optional_state`` whose
    every key is missing keeps its state as built; one missing only some is still reported
    (its state is damaged)."""
    missing = set(incompatible.missing_keys)
    for prefix, module in model.named_modules():
        if not getattr(module, "optional_state", False):
            continue
        names = state_keys(prefix, module.state_dict())
        if names <= missing:
            for name in names:
                incompatible.missing_keys.remove(name)
