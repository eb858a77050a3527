"""Buffers whose shapes come from data (coding tables, fixed-point calibration)."""

from __future__ import annotations

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


def optional_state_keys(model: nn.Module) -> set[str]:
    """State-dict keys of ``model`` that a stored file may lack (optional sized buffers)."""
    keys = set()
    for prefix, module in model.named_modules():
        if isinstance(module, DataSizedBuffers) and module._OPTIONAL_STATE:
            keys.update(f"{prefix}.{name}" if prefix else name for name in module._SIZED_BUFFERS)
    return keys
