"""Shared fixtures: Kodak images from ../shared beside the checkout, small seeded models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from licodec.models import build

KODAK = Path(__file__).resolve().parents[2] / "shared" / "data" / "kodak"


@pytest.fixture(scope="session")
def kodak_dir() -> Path:
    assert KODAK.is_dir(), f"Kodak images are expected at {KODAK}"
    return KODAK


@pytest.fixture(scope="session")
def kodim01(kodak_dir: Path) -> Path:
    return kodak_dir / "kodim01.png"


def seeded_model(name: str, quality: int = 1, **overrides):
    """An untrained model with fixed random weights, in eval mode."""
    torch.manual_seed(0)
    return build(name, quality, **overrides).eval()


def random_image(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A smooth-ish random RGB image (random field, box-blurred) as H×W×3 uint8."""
    rng = np.random.default_rng(seed)
    field = rng.normal(size=(height + 4, width + 4, 3)).cumsum(axis=0).cumsum(axis=1)
    field = field[4:, 4:] - field[4:, :-4] - field[:-4, 4:] + field[:-4, :-4]
    field = (field - field.min()) / max(np.ptp(field), 1e-9)
    return (field * 255).round().astype(np.uint8)
