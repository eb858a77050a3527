"""Convolutional transforms run over horizontal bands of rows, to bound memory.

A transform whose output row ``r`` depends only on input rows within ``halo`` of
``r / factor`` (its receptive field) gives the same output when run band by band on rows
``[r0 − halo, r1 + halo)`` and cropped to the rows ``[r0·factor, r1·factor)`` — up to float
rounding, since a convolution library may pick another algorithm for another shape. Peak
memory then follows the band, not the picture: the transform's activations (hundreds of
bytes per pixel) live for one band at a time, only input and output are whole.

Band edges and halos are multiples of ``align`` input rows (the transform's total stride for
downsampling transforms, 1 otherwise), so every band starts on the same sampling grid as the
whole picture.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction

from torch import Tensor


def run_in_bands(
    transform: Callable[[Tensor], Tensor],
    x: Tensor,
    factor: Fraction,
    band_rows: int,
    halo: int,
    align: int = 1,
) -> Tensor:
    """``transform(x)`` computed over bands of ``band_rows`` input rows (see module docstring).

    Args:
        transform: ``N×C×H×W → N×C'×H·factor×W·factor``.
        x: the input, ``N×C×H×W``.
        factor: output rows per input row (e.g. ``1/16`` for an analysis transform).
        band_rows: input rows per band (rounded up to ``align``).
        halo: input rows of context on each side of a band (rounded up to ``align``).
        align: band edges and halos are multiples of it.
    """
    height = x.shape[-2]
    band_rows = -(-band_rows // align) * align
    halo = -(-halo // align) * align
    if band_rows >= height:
        return transform(x)
    out = None
    for start in range(0, height, band_rows):
        stop = min(start + band_rows, height)
        low, high = max(0, start - halo), min(height, stop + halo)
        band = transform(x[:, :, low:high])
        if out is None:
            out = band.new_empty((*band.shape[:2], int(height * factor), band.shape[-1]))
        at, skip = int(start * factor), int((start - low) * factor)
        rows = int((stop - start) * factor)
        out[:, :, at : at + rows] = band[:, :, skip : skip + rows]
    return out
