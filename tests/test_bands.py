"""Large pictures run the transforms in bands of rows: same latents, exact decoding."""

from __future__ import annotations

import pytest
import torch
from test_context_models import loud_model

from licodec.models import available, build


def receptive_rows(transform, channels: int, rows: int, scale: int) -> int:  # noqa: ANN001
    """Input rows (beyond the output row's own ``scale``) that one output row depends on."""
    x = torch.rand(1, channels, rows, 8, requires_grad=True)
    out = transform(x)
    centre = out.shape[2] // 2
    out[0, :, centre].sum().backward()
    used = torch.nonzero(x.grad.abs().sum((0, 1, 3)) > 0).squeeze(1)
    own = centre * rows // out.shape[2]
    return int(max(own - used.min(), used.max() - own - max(1, rows // out.shape[2]) + 1))


@pytest.mark.parametrize("name", available())
def test_halos_cover_every_registered_receptive_field(name: str) -> None:
    torch.manual_seed(0)
    model = build(name, 1).eval()
    if model.band_pixels is None:
        return
    channels = model.g_a(torch.zeros(1, 3, 64, 64)).shape[1]
    assert receptive_rows(model.g_a, 3, 512, model.stride) <= model.analysis_halo
    assert receptive_rows(model.g_s, channels, 48, 1) <= model.synthesis_halo


@pytest.mark.parametrize("name", ["mbt2018-mean", "cheng2020-ckbd"])
def test_banded_coding_matches_whole_picture_coding(name: str) -> None:
    model = loud_model(name)
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(1, 3, 320, 128, generator=generator)
    with torch.no_grad():
        whole_y = model.analyze(x)
        whole = model.compress(x, reconstruct=True)
        model.band_pixels = 64 * 128  # five bands of 64 rows
        banded_y = model.analyze(x)
        banded = model.compress(x, reconstruct=True)
        decoded = model.decompress(banded, 320, 128)
    torch.testing.assert_close(banded_y, whole_y, rtol=0, atol=1e-4)
    assert torch.equal(decoded.tensor, banded.reconstruction.tensor)
    torch.testing.assert_close(
        banded.reconstruction.tensor, whole.reconstruction.tensor, rtol=0, atol=2e-3
    )
