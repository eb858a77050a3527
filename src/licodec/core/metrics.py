"""Image quality metrics: PSNR and MS-SSIM.

Conventions: torch images are N×3×H×W float tensors with values in [0, 1]; numpy images are
H×W×3 (or H×W) uint8 arrays. Every metric is computed per image and then averaged over the
batch (``reduction="mean"``), which is how CompressAI and the published Kodak anchors report
them; ``reduction="none"`` returns one value per image.

PSNR of an image x against a reference x̂ with peak value ``L``::

    MSE  = 1/(C·H·W) · Σ (x − x̂)²
    PSNR = 10 · log10(L² / MSE)          (+∞ when MSE = 0)

MS-SSIM (Wang, Simoncelli & Bovik 2003) with M scales, an 11×11 Gaussian window (σ = 1.5),
C1 = (0.01·L)², C2 = (0.03·L)²::

    l(x, y)  = (2·μx·μy + C1) / (μx² + μy² + C1)
    cs(x, y) = (2·σxy + C2) / (σx² + σy² + C2)
    MS-SSIM  = l_M^{w_M} · Π_{j=1..M} cs_j^{w_j}

where the images are 2×2 average-pooled between scales, each term is the spatial mean of its
map (negative values clamped to 0) and the weights are w = (0.0448, 0.2856, 0.3001, 0.2363,
0.1333). The result is averaged over the colour channels.

Small images: with M scales the coarsest scale has sides ≈ side / 2^(M−1), and the valid 11×11
window needs that to exceed 10 px, i.e. ``min(H, W) > 10 · 2^(M−1)``; for M = 5 that is
``min(H, W) > 160`` (``pytorch_msssim`` asserts it). For smaller images we use the largest
M < 5 that satisfies the bound and the first M weights renormalised to sum to 1, so the value
still lies in [0, 1] and equals 1 for identical images. Images with a side ≤ 10 px have no valid
window at all and raise :class:`ValueError`. Values from reduced-scale MS-SSIM are not
comparable with five-scale values; they exist so that tests and tiny crops do not crash.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from pytorch_msssim import ms_ssim as _pm_ms_ssim

from licodec.core.image import to_tensor
from licodec.core.yuv import YuvPlanes

Reduction = Literal["mean", "none"]

MS_SSIM_WEIGHTS: tuple[float, ...] = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
_WIN_SIZE = 11
_WIN_SIGMA = 1.5
_K1, _K2 = 0.01, 0.03


def _check_pair(a: torch.Tensor, b: torch.Tensor) -> None:
    if a.shape != b.shape:
        raise ValueError(f"images differ in shape: {tuple(a.shape)} vs {tuple(b.shape)}")
    if a.dim() != 4:
        raise ValueError(f"expected N×C×H×W tensors, got shape {tuple(a.shape)}")


def _reduce(values: torch.Tensor, reduction: Reduction) -> torch.Tensor:
    if reduction == "mean":
        return values.mean()
    if reduction == "none":
        return values
    raise ValueError(f"reduction must be 'mean' or 'none', got {reduction!r}")


def mse(a: torch.Tensor, b: torch.Tensor, reduction: Reduction = "mean") -> torch.Tensor:
    """Mean squared error per image, ``1/(C·H·W) · Σ (a − b)²``, then reduced over the batch."""
    _check_pair(a, b)
    per_image = (a.double() - b.double()).pow(2).flatten(1).mean(dim=1)
    return _reduce(per_image, reduction)


def psnr(
    a: torch.Tensor, b: torch.Tensor, max_val: float = 1.0, reduction: Reduction = "mean"
) -> torch.Tensor:
    """Peak signal-to-noise ratio in dB: ``10·log10(max_val² / MSE)`` per image.

    Computed in float64. Identical images give +∞. With ``reduction="mean"`` the per-image
    PSNRs are averaged (not the MSEs), as in CompressAI's evaluation.
    """
    per_image = mse(a, b, reduction="none")
    values = 10.0 * torch.log10(max_val**2 / per_image)
    return _reduce(values, reduction)


def psnr_uint8(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB of two uint8 images (any equal shape): ``10·log10(255² / MSE)``.

    MSE is taken over all pixels and channels in float64; identical images give ``inf``.
    """
    if a.shape != b.shape:
        raise ValueError(f"images differ in shape: {a.shape} vs {b.shape}")
    if a.dtype != np.uint8 or b.dtype != np.uint8:
        raise ValueError(f"expected uint8 images, got {a.dtype} and {b.dtype}")
    err = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    if err == 0:
        return math.inf
    return float(10.0 * np.log10(255.0**2 / err))


def ms_ssim_uint8(a: np.ndarray, b: np.ndarray) -> float:
    """MS-SSIM of two H×W×3 uint8 images, scaled to [0, 1] (see :func:`ms_ssim`)."""
    if a.shape != b.shape or a.ndim != 3:
        raise ValueError(f"expected two H×W×3 images of one shape, got {a.shape} and {b.shape}")
    with torch.no_grad():
        return float(ms_ssim(to_tensor(a), to_tensor(b), data_range=1.0))


def ms_ssim_scales(height: int, width: int) -> int:
    """Number of MS-SSIM scales M usable on an image: the largest M ≤ 5 with
    ``min(H, W) > 10 · 2^(M−1)``; 0 when even one scale does not fit (side ≤ 10)."""
    side = min(height, width)
    scales = 0
    for m in range(1, len(MS_SSIM_WEIGHTS) + 1):
        if side > (_WIN_SIZE - 1) * 2 ** (m - 1):
            scales = m
    return scales


def ms_ssim(
    a: torch.Tensor, b: torch.Tensor, data_range: float = 1.0, reduction: Reduction = "mean"
) -> torch.Tensor:
    """Multi-scale SSIM of N×3×H×W images (see the module docstring for the formula).

    Images with ``min(H, W) > 160`` use the standard five scales via ``pytorch_msssim``;
    smaller ones use fewer scales with renormalised weights (documented above). The result is
    differentiable, so ``1 − ms_ssim`` can serve as a training loss.

    Raises:
        ValueError: shapes differ, are not 4-D, or a side is ≤ 10 px.
    """
    _check_pair(a, b)
    h, w = a.shape[-2:]
    scales = ms_ssim_scales(h, w)
    if scales == 0:
        raise ValueError(f"MS-SSIM needs both image sides > 10 px, got {h}×{w}")
    if scales == len(MS_SSIM_WEIGHTS):
        values = _pm_ms_ssim(a, b, data_range=data_range, size_average=False)
    else:
        weights = MS_SSIM_WEIGHTS[:scales]
        total = sum(weights)
        values = _ms_ssim_few_scales(a, b, data_range, [x / total for x in weights])
    return _reduce(values, reduction)


def _gauss_window(channels: int, like: torch.Tensor) -> torch.Tensor:
    coords = torch.arange(_WIN_SIZE, dtype=like.dtype, device=like.device) - _WIN_SIZE // 2
    g = torch.exp(-(coords**2) / (2 * _WIN_SIGMA**2))
    g = g / g.sum()
    return g.view(1, 1, 1, -1).repeat(channels, 1, 1, 1)


def _blur(x: torch.Tensor, win: torch.Tensor) -> torch.Tensor:
    """Separable valid-mode Gaussian filter, one channel per group."""
    c = x.shape[1]
    x = F.conv2d(x, win, groups=c)
    return F.conv2d(x, win.transpose(2, 3), groups=c)


def _ssim_terms(
    x: torch.Tensor, y: torch.Tensor, win: torch.Tensor, data_range: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel means of the SSIM map and of the contrast-structure map, both N×C."""
    c1 = (_K1 * data_range) ** 2
    c2 = (_K2 * data_range) ** 2
    mu_x, mu_y = _blur(x, win), _blur(y, win)
    var_x = _blur(x * x, win) - mu_x**2
    var_y = _blur(y * y, win) - mu_y**2
    cov = _blur(x * y, win) - mu_x * mu_y
    cs_map = (2 * cov + c2) / (var_x + var_y + c2)
    lum_map = (2 * mu_x * mu_y + c1) / (mu_x**2 + mu_y**2 + c1)
    return (lum_map * cs_map).flatten(2).mean(-1), cs_map.flatten(2).mean(-1)


def _ms_ssim_few_scales(
    x: torch.Tensor, y: torch.Tensor, data_range: float, weights: list[float]
) -> torch.Tensor:
    """MS-SSIM with ``len(weights)`` scales; same pooling and clamping as pytorch_msssim."""
    win = _gauss_window(x.shape[1], x)
    factors = []
    ssim_val = None
    for level in range(len(weights)):
        ssim_val, cs = _ssim_terms(x, y, win, data_range)
        if level < len(weights) - 1:
            factors.append(torch.relu(cs))
            pad = [s % 2 for s in x.shape[2:]]
            x = F.avg_pool2d(x, kernel_size=2, padding=pad)
            y = F.avg_pool2d(y, kernel_size=2, padding=pad)
    assert ssim_val is not None
    factors.append(torch.relu(ssim_val))
    stacked = torch.stack(factors, dim=0)  # M × N × C
    w = torch.tensor(weights, dtype=x.dtype, device=x.device).view(-1, 1, 1)
    return torch.prod(stacked**w, dim=0).mean(dim=1)


def psnr_plane(a: np.ndarray, b: np.ndarray, peak: int) -> float:
    """PSNR in dB of two sample planes of one shape with peak value ``peak``."""
    if a.shape != b.shape:
        raise ValueError(f"planes differ in shape: {a.shape} vs {b.shape}")
    err = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return math.inf if err == 0 else float(10.0 * np.log10(peak**2 / err))


def yuv_metrics(reference: YuvPlanes, decoded: YuvPlanes) -> dict[str, float]:
    """``psnr-y``, ``psnr-u``, ``psnr-v``, ``psnr-yuv = (6·Y + U + V)/8`` (the weighting of
    the video-coding literature) and ``ms-ssim-y`` (luma, scaled to [0, 1]) of two 4:2:0
    pictures of one size and depth."""
    if (reference.height, reference.width, reference.bits) != (
        decoded.height,
        decoded.width,
        decoded.bits,
    ):
        raise ValueError("YUV pictures differ in size or bit depth")
    peak = reference.peak
    y, u, v = (
        psnr_plane(getattr(reference, p), getattr(decoded, p), peak) for p in ("y", "u", "v")
    )
    with torch.no_grad():
        luma = [
            torch.from_numpy(p.y.astype(np.float32) / peak)[None, None]
            for p in (reference, decoded)
        ]
        ms_ssim_y = float(ms_ssim(*luma, data_range=1.0))
    return {
        "psnr-y": y,
        "psnr-u": u,
        "psnr-v": v,
        "psnr-yuv": (6 * y + u + v) / 8,
        "ms-ssim-y": ms_ssim_y,
    }
