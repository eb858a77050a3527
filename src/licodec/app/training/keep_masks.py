"""Random keep-masks for training selective generative compression (Agustsson et al. 2019).

Per crop, with probability ``keep_all`` (``[D]`` 0 by default, the paper's masks only) the whole
crop is kept — so the generator also learns the case where nothing is synthesised; otherwise
with probability ½ each (``[R]`` the two kinds, ``[D]`` the even split):

* **instances**: every connected component of every class of the crop's label map is kept
  with probability ``instance_rate`` (``[R]`` 25%);
* **a box**: a random axis-aligned box with sides of 25–75% of the crop's.

The pixel mask becomes a latent mask by :func:`licodec.core.labels.block_any` (a latent
position is kept where its block holds a kept pixel), exactly as the encoder builds it.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy import ndimage
from torch import Tensor

from licodec.core.labels import block_any


def random_pixel_mask(
    labels: np.ndarray,
    rng: np.random.Generator,
    instance_rate: float = 0.25,
    keep_all: float = 0.0,
) -> np.ndarray:
    """An ``H×W`` bool mask of one crop's label map (module docstring); ``keep_all = 0``
    draws nothing for it, so such runs see the masks they saw before it existed."""
    height, width = labels.shape
    if keep_all and rng.random() < keep_all:
        return np.ones(labels.shape, dtype=bool)
    if rng.random() < 0.5:
        keep = np.zeros(labels.shape, dtype=bool)
        for value in np.unique(labels):
            components, count = ndimage.label(labels == value)
            chosen = np.flatnonzero(rng.random(count) < instance_rate) + 1
            keep |= np.isin(components, chosen)
        return keep
    box_h = int(rng.integers(height // 4, 3 * height // 4 + 1))
    box_w = int(rng.integers(width // 4, 3 * width // 4 + 1))
    top = int(rng.integers(0, height - box_h + 1))
    left = int(rng.integers(0, width - box_w + 1))
    keep = np.zeros(labels.shape, dtype=bool)
    keep[top : top + box_h, left : left + box_w] = True
    return keep


def random_latent_masks(
    labels: Tensor, stride: int, rng: np.random.Generator, keep_all: float = 0.0
) -> Tensor:
    """``N×1×H/stride×W/stride`` bool keep-masks of a batch of ``N×H×W`` label maps."""
    maps = labels.cpu().numpy()
    shape = (maps.shape[1] // stride, maps.shape[2] // stride)
    masks = [block_any(random_pixel_mask(m, rng, keep_all=keep_all), stride, shape) for m in maps]
    return torch.from_numpy(np.stack(masks))[:, None].to(labels.device)
