"""Encode/decode wall times of several models, measured side by side.

Machines here are noisy, so models are compared within one run: every repeat codes each
picture with every model in turn (interleaved, so drifts in machine speed reach all of them
alike) and each model keeps its best time per picture.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from licodec.app.evaluate import code_timed
from licodec.core.yuv import YuvPlanes
from licodec.models import CompressionModel


def best_times(
    models: Mapping[str, CompressionModel],
    pictures: Sequence[np.ndarray | YuvPlanes],
    repeats: int,
) -> dict[str, dict[str, list[float]]]:
    """``{model: {"encode_s": [...], "decode_s": [...]}}``: per picture, the best of
    ``repeats`` real encodes and decodes (:func:`~licodec.app.evaluate.code_timed`), the
    models interleaved."""
    best = {name: {"encode_s": [np.inf] * len(pictures), "decode_s": [np.inf] * len(pictures)}
            for name in models}  # fmt: skip
    for _ in range(repeats):
        for index, picture in enumerate(pictures):
            for name, model in models.items():
                times = code_timed(picture, model)[3]
                row = best[name]
                row["encode_s"][index] = min(row["encode_s"][index], times["encoding_time"])
                row["decode_s"][index] = min(row["decode_s"][index], times["decoding_time"])
    return best
