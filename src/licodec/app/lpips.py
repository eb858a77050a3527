"""LPIPS (Zhang et al. 2018, AlexNet variant) from a weights file the user provides.

Pretrained weights cannot be downloaded here, and none ship with licodec, so LPIPS runs only
with ``--lpips-weights PATH`` (``licodec eval``): a PyTorch state dict holding both the
AlexNet feature layers (keys ``features.{0,3,6,8,10}.{weight,bias}``, torchvision's
``alexnet`` layout) and LPIPS's five linear heads (``lin{0…4}.model.1.weight``, the layout
of the ``lpips`` package's ``alex.pth``), e.g. the two merged into one file.

``d(x, y) = Σ_l mean_hw( w_l · (f̂_l(x) − f̂_l(y))² )`` over the five ReLU outputs ``f_l``
of AlexNet, each unit-normalised over channels (``f̂ = f / (‖f‖₂ + 1e-10)``), with pictures
scaled to ``[−1, 1]`` and shifted/scaled by LPIPS's fixed input statistics. Lower is closer.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from licodec.errors import ModelError

_SHIFT = (-0.030, -0.088, -0.188)
_SCALE = (0.458, 0.448, 0.450)
_TAPS = (1, 4, 7, 9, 11)
"""Indices (in :class:`AlexNetFeatures`) of the ReLUs whose outputs LPIPS compares."""
_WIDTHS = (64, 192, 384, 256, 256)


class AlexNetFeatures(nn.Module):
    """AlexNet's convolutional trunk (torchvision's ``features`` indices)."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, 11, 4, 2), nn.ReLU(), nn.MaxPool2d(3, 2),
            nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2),
            nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(),
            nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(),
            nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(),
        )  # fmt: skip

    def forward(self, x: Tensor) -> list[Tensor]:
        taps = []
        for index, layer in enumerate(self.features):
            x = layer(x)
            if index in _TAPS:
                taps.append(x)
        return taps


class Lpips(nn.Module):
    """The LPIPS distance (module docstring); build with :meth:`from_file`."""

    def __init__(self) -> None:
        super().__init__()
        self.net = AlexNetFeatures()
        self.lins = nn.ModuleList(nn.Conv2d(w, 1, 1, bias=False) for w in _WIDTHS)
        self.register_buffer("shift", torch.tensor(_SHIFT)[None, :, None, None])
        self.register_buffer("scale", torch.tensor(_SCALE)[None, :, None, None])

    @classmethod
    def from_file(cls, path: Path | str) -> Lpips:
        """Load the weights (module docstring).

        Raises:
            ModelError: the file is missing, unreadable or lacks a tensor.
        """
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except (OSError, RuntimeError) as err:
            raise ModelError(f"cannot read LPIPS weights {path}: {err}") from err
        model = cls()
        mapped = {f"net.{k}": v for k, v in state.items() if k.startswith("features.")}
        mapped |= {
            f"lins.{i}.weight": state[f"lin{i}.model.1.weight"]
            for i in range(5)
            if f"lin{i}.model.1.weight" in state
        }
        missing = sorted(set(model.state_dict()) - set(mapped) - {"shift", "scale"})
        if missing:
            raise ModelError(
                f"LPIPS weights {path} lack {missing[0]} (and {len(missing) - 1} more)"
            )
        model.load_state_dict({**model.state_dict(), **mapped})
        return model.eval()

    @torch.no_grad()
    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        """Distances of ``N×3×H×W`` pictures in [0, 1] → ``(N,)``."""
        fx, fy = self.net(self._prepare(x)), self.net(self._prepare(y))
        total = x.new_zeros(x.shape[0])
        for lin, a, b in zip(self.lins, fx, fy, strict=True):
            a = a / (a.norm(dim=1, keepdim=True) + 1e-10)
            b = b / (b.norm(dim=1, keepdim=True) + 1e-10)
            total = total + lin((a - b) ** 2).mean(dim=(1, 2, 3))
        return total

    def _prepare(self, x: Tensor) -> Tensor:
        return ((2 * x - 1) - self.shift) / self.scale

    def distance(self, reference: np.ndarray, decoded: np.ndarray) -> float:
        """LPIPS of two ``H×W×3`` uint8 pictures."""
        to = lambda a: torch.from_numpy(a.copy()).permute(2, 0, 1)[None].float() / 255  # noqa: E731
        return float(self(to(reference), to(decoded))[0])
