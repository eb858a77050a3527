"""Every registered model writes the committed entropy-coded sections byte for byte.

``tests/data/golden/{model}.npz`` (``tools/make_golden_sections.py``) holds a small seeded
latent codec, calibrated, with its fixed-point twins and tables, the latents it coded and
the sections it wrote on the integer path. Refactoring the quantizers, entropy models or
context loop must leave those bytes, and the decoded latents, unchanged. Where a writer
changed on purpose, the sections it wrote before stay in ``golden/earlier/{model}-{how}.npz``
and must still decode.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from licodec.models import available

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
from make_golden_sections import OUT, SHAPES, tiny_model  # noqa: E402


def golden(name: str, path: Path | None = None) -> tuple:
    stored = np.load(path or OUT / f"{name}.npz")
    prefix = "state/"
    state = {k[len(prefix) :]: torch.from_numpy(stored[k]) for k in stored if k.startswith(prefix)}
    model = tiny_model(name)
    model.latent_codec.load_state_dict(state)
    model.latent_codec.force_float = False
    cases = []
    for index in range(len(SHAPES)):
        count = sum(1 for k in stored if k.startswith(f"sections/{index}/"))
        sections = [stored[f"sections/{index}/{s}"].tobytes() for s in range(count)]
        cases.append((torch.from_numpy(stored[f"y/{index}"]), sections, stored[f"y_hat/{index}"]))
    return model, cases


def test_every_registered_model_has_golden_sections() -> None:
    assert sorted(p.stem for p in OUT.glob("*.npz")) == available()


@pytest.mark.parametrize("name", available())
def test_sections_and_latents_match_the_golden_files(name: str) -> None:
    model, cases = golden(name)
    codec = model.latent_codec
    assert codec.integer_path
    with torch.no_grad():
        for y, sections, y_hat in cases:
            written, encoded = codec.compress(y)
            assert written == sections
            assert np.array_equal(encoded.float().numpy(), y_hat)
            decoded = codec.decompress(sections, tuple(y.shape[-2:]))
            assert np.array_equal(decoded.numpy(), y_hat)
            assert sum(map(len, sections)) > 100  # the latents carry real bits


EARLIER = sorted((OUT / "earlier").glob("*.npz"))


@pytest.mark.parametrize("path", EARLIER, ids=[p.stem for p in EARLIER])
def test_sections_an_earlier_writer_produced_still_decode(path: Path) -> None:
    name = max((n for n in available() if path.stem.startswith(f"{n}-")), key=len)
    model, cases = golden(name, path)
    for y, sections, y_hat in cases:
        written, _ = model.latent_codec.compress(y)
        assert written != sections  # the writer changed: these bytes are the old way
        decoded = model.latent_codec.decompress(sections, tuple(y.shape[-2:]))
        assert np.array_equal(decoded.numpy(), y_hat)


def test_earlier_writers_are_kept() -> None:
    assert [p.stem for p in EARLIER] == ["gan-gc-static-tables", "gan-sc-static-tables"]
