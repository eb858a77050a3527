"""Realism and perceptual metrics that run offline, for generative compression.

FID, KID, LPIPS and DISTS need pretrained Inception / VGG / AlexNet weights that cannot be
downloaded here: FID, KID and DISTS are not computed, LPIPS only from weights the user
provides (:mod:`licodec.app.lpips`, ``licodec eval --lpips-weights``). What runs (all on
``H×W×3`` uint8 RGB):

* **BRISQUE** (no reference, lower is better): the ``brisque`` package and the SVR model it
  bundles (its OpenCV dependency comes with ``opencv-python-headless``). Its feature scaling
  assumes numpy 1 (some features are one-element arrays): :class:`_Brisque` flattens them.
* **NIQE** (no reference, lower is better): the natural-scene model of the original release
  (``licodec/data/niqe_pris_params.npz``, Apache-2.0, via BasicSR), computed here
  (:func:`niqe`): rounded BT.601 luma in ``[16, 235]``, two scales (the second a 2× bicubic
  downscale — PIL's antialiased filter, ``[D]`` where the reference uses MATLAB's
  ``imresize``), MSCN coefficients from the stored 7×7 Gaussian window (replicated borders,
  ``σ + 1`` normalisation), 96×96 blocks (48×48 at the second scale) with 18 features each
  per scale — the AGGD fit ``(α, (β_l + β_r)/2)`` of the coefficients and ``(α, mean, β_l,
  β_r)`` of their products with the four neighbour shifts — and the Mahalanobis distance
  between the test and pristine Gaussians.
* **Butteraugli** (full reference, lower is better): the Debian ``butteraugli`` tool.
* **SSIMULACRA 2** (full reference, higher is better, 100 = identical): ``ssimulacra2``.

:func:`realism_metrics` returns those that are available, keyed ``brisque``, ``niqe``,
``butteraugli``, ``ssimulacra2``; a missing tool or package leaves its key out.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage, special

from licodec.app.lpips import Lpips

NIQE_BLOCK = 96
_GAMMAS = np.arange(0.2, 10.001, 0.001)
_SHIFTS = ((0, 1), (1, 0), (1, 1), (1, -1))


def _luma(pixels: np.ndarray) -> np.ndarray:
    """BT.601 luma of uint8 RGB in ``[16, 235]``, rounded (studio range, as the reference)."""
    rgb = pixels.astype(np.float64) / 255
    return np.round(16 + 65.481 * rgb[..., 0] + 128.553 * rgb[..., 1] + 24.966 * rgb[..., 2])


@cache
def _aggd_table() -> np.ndarray:
    """``r(α) = Γ(2/α)² / (Γ(1/α)·Γ(3/α))`` on the grid of candidate shapes ``α``."""
    return special.gamma(2 / _GAMMAS) ** 2 / (
        special.gamma(1 / _GAMMAS) * special.gamma(3 / _GAMMAS)
    )


def aggd_fit(x: np.ndarray) -> tuple[float, float, float]:
    """Moment-matching fit of an asymmetric generalised Gaussian: ``(α, β_left, β_right)``."""
    x = x.ravel()
    left = np.sqrt(np.mean(x[x < 0] ** 2)) if np.any(x < 0) else 0.0
    right = np.sqrt(np.mean(x[x > 0] ** 2)) if np.any(x > 0) else 0.0
    ratio = left / right if right > 0 else np.inf
    r_hat = np.mean(np.abs(x)) ** 2 / max(np.mean(x**2), 1e-300)
    r_norm = r_hat * (ratio**3 + 1) * (ratio + 1) / (ratio**2 + 1) ** 2
    alpha = float(_GAMMAS[np.argmin((_aggd_table() - r_norm) ** 2)])
    scale = np.sqrt(special.gamma(1 / alpha) / special.gamma(3 / alpha))
    return alpha, float(left * scale), float(right * scale)


def _block_features(mscn: np.ndarray) -> list[float]:
    """The 18 NIQE features of one block of MSCN coefficients."""
    alpha, b_left, b_right = aggd_fit(mscn)
    features = [alpha, (b_left + b_right) / 2]
    for shift in _SHIFTS:
        shifted = np.roll(mscn, shift, axis=(0, 1))
        alpha, b_left, b_right = aggd_fit(mscn * shifted)
        mean = (b_right - b_left) * special.gamma(2 / alpha) / special.gamma(1 / alpha)
        features += [alpha, mean, b_left, b_right]
    return features


def _scale_features(luma: np.ndarray, window: np.ndarray, block: int) -> np.ndarray:
    """``blocks × 18`` features of one scale."""
    mu = ndimage.correlate(luma, window, mode="nearest")
    sigma = np.sqrt(np.abs(ndimage.correlate(luma * luma, window, mode="nearest") - mu * mu))
    mscn = (luma - mu) / (sigma + 1)
    rows, cols = luma.shape[0] // block, luma.shape[1] // block
    return np.array(
        [
            _block_features(mscn[r * block : (r + 1) * block, c * block : (c + 1) * block])
            for r in range(rows)
            for c in range(cols)
        ]
    )


@cache
def _niqe_model() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    with resources.as_file(resources.files("licodec") / "data" / "niqe_pris_params.npz") as path:
        data = np.load(path)
        return data["mu_pris_param"][0], data["cov_pris_param"], data["gaussian_window"]


def niqe(pixels: np.ndarray) -> float:
    """NIQE of uint8 RGB (module docstring); the picture must hold a 192×192 region.

    Raises:
        ValueError: a picture too small for two scales of 96×96 blocks.
    """
    mu_pristine, cov_pristine, window = _niqe_model()
    luma = _luma(pixels)
    height = luma.shape[0] // NIQE_BLOCK * NIQE_BLOCK
    width = luma.shape[1] // NIQE_BLOCK * NIQE_BLOCK
    if height < NIQE_BLOCK or width < NIQE_BLOCK:
        raise ValueError(f"NIQE needs at least {NIQE_BLOCK}×{NIQE_BLOCK} pixels")
    luma = luma[:height, :width]
    half = np.asarray(
        Image.fromarray(luma.astype(np.float32), mode="F").resize(
            (width // 2, height // 2), Image.Resampling.BICUBIC
        ),
        dtype=np.float64,
    )
    features = np.concatenate(
        [_scale_features(luma, window, NIQE_BLOCK), _scale_features(half, window, NIQE_BLOCK // 2)],
        axis=1,
    )
    features = features[~np.isnan(features).any(axis=1)]
    mu = features.mean(axis=0)
    cov = np.cov(features, rowvar=False) if len(features) > 1 else np.zeros_like(cov_pristine)
    delta = mu_pristine - mu
    return float(np.sqrt(delta @ np.linalg.pinv((cov_pristine + cov) / 2) @ delta))


@cache
def _brisque_model() -> object | None:
    try:
        from brisque import BRISQUE
    except ImportError:
        return None

    class _Brisque(BRISQUE):
        def scale_features(self, features: np.ndarray) -> np.ndarray:
            flat = [np.asarray(f, dtype=np.float64).reshape(-1)[0] for f in features]
            return super().scale_features(np.array(flat))

    return _Brisque(url=False)


def brisque(pixels: np.ndarray) -> float | None:
    """BRISQUE of uint8 RGB, or ``None`` without the ``brisque`` package."""
    model = _brisque_model()
    return None if model is None else float(model.score(pixels))


def butteraugli(reference: np.ndarray, decoded: np.ndarray) -> float | None:
    """Butteraugli distance (Debian ``butteraugli``), or ``None`` without the tool."""
    with _png_pair(reference, decoded) as (a, b):
        return _butteraugli_files(a, b)


def ssimulacra2(reference: np.ndarray, decoded: np.ndarray) -> float | None:
    """SSIMULACRA 2 score, or ``None`` without the ``ssimulacra2`` package."""
    with _png_pair(reference, decoded) as (a, b):
        return _ssimulacra2_files(a, b)


def _butteraugli_files(reference: str, decoded: str) -> float | None:
    tool = shutil.which("butteraugli")
    if tool is None:
        return None
    out = subprocess.run([tool, reference, decoded], capture_output=True, text=True, check=True)
    return float(out.stdout.split()[0])


def _ssimulacra2_files(reference: str, decoded: str) -> float | None:
    try:
        from ssimulacra2 import compute_ssimulacra2
    except ImportError:
        return None
    return float(compute_ssimulacra2(reference, decoded))


@contextmanager
def _png_pair(reference: np.ndarray, decoded: np.ndarray) -> Iterator[tuple[str, str]]:
    """The two pictures as PNG files in a temporary folder (the full-reference tools read
    files), removed afterwards."""
    with tempfile.TemporaryDirectory() as folder:
        paths = (str(Path(folder) / "reference.png"), str(Path(folder) / "decoded.png"))
        Image.fromarray(reference).save(paths[0])
        Image.fromarray(decoded).save(paths[1])
        yield paths


def realism_metrics(
    reference: np.ndarray, decoded: np.ndarray, lpips: Lpips | None = None
) -> dict[str, float]:
    """Every available metric of a decoded picture (uint8 RGB ``H×W×3``) against its
    reference (module docstring), and ``lpips`` with LPIPS weights
    (:class:`licodec.app.lpips.Lpips`); NIQE is left out for pictures below 192×192."""
    with _png_pair(reference, decoded) as (a, b):  # written once for both tools
        values: dict[str, float | None] = {
            "brisque": brisque(decoded),
            "butteraugli": _butteraugli_files(a, b),
            "ssimulacra2": _ssimulacra2_files(a, b),
        }
    if min(decoded.shape[:2]) >= 2 * NIQE_BLOCK:
        values["niqe"] = niqe(decoded)
    if lpips is not None:
        values["lpips"] = lpips.distance(reference, decoded)
    return {k: v for k, v in values.items() if v is not None}
