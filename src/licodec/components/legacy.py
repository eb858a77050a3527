"""State dicts written by earlier versions: key renames applied before loading.

A module whose parameters moved defines ``upgrade_state_keys(prefix, state)``, which renames
``state``'s old keys under ``prefix`` in place; :func:`upgrade_state` runs every such hook
of a model, so weights files from before a refactor keep loading (their tensors unchanged).
"""

from __future__ import annotations

from torch import Tensor, nn


def upgrade_state(model: nn.Module, state: dict[str, Tensor]) -> dict[str, Tensor]:
    """``state`` with every module's renames applied (a new dict)."""
    state = dict(state)
    for name, module in model.named_modules():
        hook = getattr(module, "upgrade_state_keys", None)
        if hook is not None:
            hook(f"{name}." if name else "", state)
    return state


def rename_prefix(state: dict[str, Tensor], old: str, new: str) -> None:
    """Move every key starting with ``old`` to start with ``new`` instead, in place."""
    for key in [k for k in state if k.startswith(old)]:
        state[new + key[len(old) :]] = state.pop(key)
