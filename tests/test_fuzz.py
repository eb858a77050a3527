"""Seeded mutations of real files of every model family, CRC recomputed, must be refused.

Each family writes a small file with a loud seeded model; every mutation (byte flips, byte
replacements, insertions, deletions, truncations, section splices; the CRC recomputed after
the edit so the checks behind it run) must either raise one of licodec's own errors or
decode to a picture of the header's size (an edit the format cannot see, e.g. in the
unread look-ahead word of a stream). ``benchmarks/fuzz.py`` runs the same generator for
long campaigns.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from fuzz import FAMILIES, family_file, mutations, outcome  # noqa: E402

CASES_PER_FAMILY = 1500


@pytest.mark.parametrize("family", FAMILIES)
def test_mutated_files_are_refused_cleanly(family: str) -> None:
    model, data = family_file(family)
    counts: dict[str, int] = {}
    for mutated in mutations(data, np.random.default_rng(1), CASES_PER_FAMILY):
        result = outcome(model, mutated)
        counts[result] = counts.get(result, 0) + 1
    assert set(counts) <= {"refused", "decoded"}, counts
    assert counts.get("refused", 0) >= 0.9 * CASES_PER_FAMILY, counts
