"""RD sweeps: one preparation per quality, means over images, entries sorted by bpp."""

from __future__ import annotations

import pytest

from licodec.app.sweep import RESULT_KEYS, rd_sweep


def test_sweep_means_per_quality_sorted_by_bpp() -> None:
    prepared = []

    def coder_at(quality: int):
        prepared.append(quality)

        def measure(image: float) -> dict[str, float]:
            # higher quality setting, fewer bits here: the sweep must reorder by bpp
            return {key: image / quality for key in RESULT_KEYS}

        return measure

    order, results = rd_sweep([1, 4, 2], [1.0, 3.0], coder_at, "test", progress=False)
    assert prepared == [1, 4, 2]
    assert order == [4, 2, 1]
    assert list(results) == list(RESULT_KEYS)
    for key in RESULT_KEYS:
        assert results[key] == pytest.approx([0.5, 1.0, 2.0])
