"""The weights id: a 32-bit hash of every tensor a model codes with.

``weights_id(state) = BLAKE2b-32`` over the non-empty tensors of a state dict in name order,
each as ``name \\0 dtype \\0 shape \\0 bytes`` (little-endian). Half-precision tensors are
hashed widened to float32, so the id of a model whose parameters hold float16 values is the
id of its exported file (parameters stored as float16, widened on load): export computes the
id from what it writes, loading from what it reads, and both agree. Empty tensors (an
integer path not calibrated yet) are skipped, so a file without them loads to the same id.

A ``.lic`` file records the id of the model that wrote it; decoding with any other weights,
even of the same model and quality, is refused (``licodec.ModelError``) instead of giving a
wrong picture. Calibration, fp16 rounding and table updates all change the id.
"""

from __future__ import annotations

import hashlib

import numpy as np
import torch
from torch import Tensor, nn

_WIDENED = (torch.float16, torch.bfloat16)


def weights_id(state: dict[str, Tensor]) -> int:
    """The 32-bit id of the tensors ``state`` (see module docstring)."""
    digest = hashlib.blake2b(digest_size=4)
    for name in sorted(state):
        tensor = state[name].detach().cpu()
        if tensor.numel() == 0:
            continue
        if tensor.dtype in _WIDENED:
            tensor = tensor.float()
        array = np.ascontiguousarray(tensor.numpy())
        digest.update(f"{name}\0{array.dtype.str}\0{tuple(array.shape)}\0".encode())
        digest.update(array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes())
    return int.from_bytes(digest.digest(), "big")


class WeightsIdCache:
    """:func:`weights_id` of a module's state, recomputed only when a tensor changed.

    The key is every state tensor's storage, shape and version counter (bumped by each
    in-place write, e.g. ``load_state_dict`` or an optimizer step), so the hash of a few MB
    runs once per set of weights, not once per file.
    """

    def __init__(self) -> None:
        self._key: tuple | None = None
        self._id = 0

    def __call__(self, module: nn.Module) -> int:
        state = module.state_dict(keep_vars=True)
        key = tuple(
            (name, t.data_ptr(), t._version, tuple(t.shape), t.dtype) for name, t in state.items()
        )
        if key != self._key:
            self._id, self._key = weights_id(state), key
        return self._id


def format_id(value: int) -> str:
    """``0x`` and eight hex digits."""
    return f"0x{value:08x}"
