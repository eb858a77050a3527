"""Attention blocks: Cheng et al. 2020's simplified attention module and the residual
non-local attention module of Liu et al. 2019 (NLAIC, Tucodec's transforms).

:class:`AttentionBlock` (Cheng 2020): ``out = x + trunk(x) ⊙ σ(mask(x))`` with ``trunk``
three residual units and ``mask`` three residual units followed by a 1×1 convolution (σ the
logistic sigmoid). A residual unit is ``ReLU(x + conv1×1(ReLU(conv3×3(ReLU(conv1×1(x))))))``
through ``C/2`` channels.

:class:`NonLocalAttentionBlock` (NLAIC): the mask branch starts with a non-local operation,
``z = x + W_z(softmax(θ(x)ᵀ φ(x)) · g(x))`` with ``θ, φ, g`` 1×1 convolutions to ``C/2``
channels and ``W_z`` one back, so every position's mask sees the whole context:
``out = x + γ ⊙ trunk(x) ⊙ σ(mask(nonlocal(x)))``.

* ``[D]`` windows: attention is quadratic in positions, so it runs within non-overlapping
  ``w×w`` windows (default 16; a map smaller than a window is one window), the last ones
  padded with keys masked out, and at inference in chunks of windows: memory stays
  ``O(H·W·w²)`` whatever the image (:func:`windowed_attention`).
* ``[D]`` the logits are scaled by ``1/√(C/2)`` (scaled dot-product attention; the paper
  writes the plain softmax).
* ``[D]`` ``γ`` is a per-channel gain initialised to zero (LayerScale), so a block inserted
  into a trained transform starts as the identity and the model as its twin without it.

Shapes are preserved: ``B×C×H×W → B×C×H×W``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from licodec.components.layers.conv import conv


class ResidualUnit(nn.Module):
    """Bottleneck residual unit ``C → C/2 → C/2 → C`` with a ReLU after the sum."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        half = channels // 2
        self.body = nn.Sequential(
            conv(channels, half, 1, 1),
            nn.ReLU(inplace=True),
            conv(half, half, 3, 1),
            nn.ReLU(inplace=True),
            conv(half, channels, 1, 1),
        )

    def forward(self, x: Tensor) -> Tensor:
        return torch.relu(x + self.body(x))


class AttentionBlock(nn.Module):
    """``x + trunk(x) ⊙ sigmoid(mask(x))`` (see module docstring)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.trunk = nn.Sequential(*(ResidualUnit(channels) for _ in range(3)))
        self.mask = nn.Sequential(
            *(ResidualUnit(channels) for _ in range(3)), conv(channels, channels, 1, 1)
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.trunk(x) * torch.sigmoid(self.mask(x))


_CHUNK_ENTRIES = 1 << 24
"""Attention logits held at once at inference (64 MB of float32)."""


def _windows(x: Tensor, wh: int, ww: int) -> Tensor:
    """``B×D×H×W`` (multiples of the window) → ``(B·nH·nW)×(wh·ww)×D``."""
    b, d, h, w = x.shape
    x = x.reshape(b, d, h // wh, wh, w // ww, ww).permute(0, 2, 4, 3, 5, 1)
    return x.reshape(-1, wh * ww, d)


def windowed_attention(q: Tensor, k: Tensor, v: Tensor, window: int) -> Tensor:
    """``softmax(qᵀk/√D)·v`` within ``window×window`` windows of ``B×D×H×W`` maps.

    A side shorter than ``window`` is one window; otherwise the maps are zero-padded to a
    multiple of it and padded keys take no part. Returns ``B×D×H×W``.
    """
    b, d, h, w = q.shape
    wh, ww = min(window, h), min(window, w)
    ph, pw = -h % wh, -w % ww
    mask = None
    if ph or pw:
        q, k, v = (F.pad(t, (0, pw, 0, ph)) for t in (q, k, v))
        valid = F.pad(q.new_ones(1, 1, h, w), (0, pw, 0, ph)).bool()
        mask = _windows(valid, wh, ww).transpose(1, 2)  # (n·nH·nW)×1×P, n = 1
        mask = mask.repeat(b, 1, 1)
    qw, kw, vw = (_windows(t, wh, ww) for t in (q, k, v))
    positions = wh * ww
    chunk = qw.shape[0] if torch.is_grad_enabled() else max(1, _CHUNK_ENTRIES // positions**2)
    out = torch.cat(
        [
            F.scaled_dot_product_attention(
                qw[i : i + chunk],
                kw[i : i + chunk],
                vw[i : i + chunk],
                attn_mask=None if mask is None else mask[i : i + chunk],
            )
            for i in range(0, qw.shape[0], chunk)
        ]
    )
    hp, wp = h + ph, w + pw
    out = out.reshape(b, hp // wh, wp // ww, wh, ww, d).permute(0, 5, 1, 3, 2, 4)
    return out.reshape(b, d, hp, wp)[:, :, :h, :w]


class NonLocal(nn.Module):
    """``x + W_z(softmax(θᵀφ)·g)`` within windows (see module docstring)."""

    def __init__(self, channels: int, window: int = 16) -> None:
        super().__init__()
        half = channels // 2
        self.window = window
        self.theta, self.phi, self.g = (conv(channels, half, 1, 1) for _ in range(3))
        self.out = conv(half, channels, 1, 1)

    def forward(self, x: Tensor) -> Tensor:
        attended = windowed_attention(self.theta(x), self.phi(x), self.g(x), self.window)
        return x + self.out(attended)


class NonLocalAttentionBlock(AttentionBlock):
    """``x + γ ⊙ trunk(x) ⊙ sigmoid(mask(nonlocal(x)))`` (see module docstring)."""

    def __init__(self, channels: int, window: int = 16) -> None:
        super().__init__(channels)
        self.non_local = NonLocal(channels, window)
        self.gain = nn.Parameter(torch.zeros(channels, 1, 1))

    def forward(self, x: Tensor) -> Tensor:
        mask = torch.sigmoid(self.mask(self.non_local(x)))
        return x + self.gain * self.trunk(x) * mask
