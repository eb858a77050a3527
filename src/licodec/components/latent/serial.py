"""The serial context model of Minnen 2018: raster mask A, decoded in wavefronts.

See :mod:`licodec.components.latent.fronts` for why ``t = 3i + j`` is the schedule.
"""

from __future__ import annotations

import numpy as np
from torch import Tensor

from licodec.components.latent.context import ContextLatentCodec
from licodec.components.latent.fronts import wavefront_slope


class SerialContextLatentCodec(ContextLatentCodec):
    """Minnen 2018 joint autoregressive model: mask A, wavefronts ``t = a·i + j`` (``a = 3``)."""

    mask_type = "A"

    def schedule(self, height: int, width: int) -> np.ndarray:
        rows, cols = np.indices((height, width))
        return wavefront_slope(self.context.mask) * rows + cols

    def training_context(self, noisy: Tensor) -> Tensor:
        return self.context(noisy)
