"""The model boundary: a picture in, coded sections (and a reconstruction only on request) out."""

from __future__ import annotations

import pytest
import torch
from conftest import seeded_model

from licodec.core.colour import CodedFormat
from licodec.core.picture import Coded, Picture
from licodec.errors import BitstreamError, ImageInputError, ModelError


@pytest.fixture(scope="module")
def model():  # noqa: ANN201
    return seeded_model("mbt2018-mean", 1, n=16, m=24)


def test_encode_runs_the_synthesis_only_when_asked(model) -> None:
    calls = []
    hook = model.g_s.register_forward_hook(lambda *_: calls.append(1))
    try:
        x = torch.rand(1, 3, 40, 56)
        plain = model.compress(x)
        assert plain.reconstruction is None and not calls
        full = model.compress(Picture.rgb(x), reconstruct=True)
        assert len(calls) == 1 and full.sections == plain.sections
        decoded = model.decompress(full, 40, 56)
        assert decoded.format == CodedFormat.RGB444
        assert torch.equal(decoded.tensor, full.reconstruction.tensor)
    finally:
        hook.remove()


def test_side_inputs_formats_and_flags_are_checked(model) -> None:
    x = torch.rand(1, 3, 16, 16)
    with pytest.raises(ModelError, match="takes no side input 'labels'"):
        model.compress(x, labels=torch.zeros(1, 1, 16, 16))
    grey = Picture((torch.rand(1, 1, 16, 16),), CodedFormat.GREY)
    with pytest.raises(ModelError, match="codes RGB444 pictures, got GREY"):
        model.compress(grey)
    coded = model.compress(x)
    with pytest.raises(BitstreamError, match="model flags 0x04"):
        model.decompress(Coded(coded.sections, model_flags=4), 16, 16)


def test_pictures_validate_their_planes() -> None:
    y, uv = torch.rand(1, 1, 5, 7), torch.rand(1, 2, 3, 4)
    picture = Picture((y, uv), CodedFormat.YUV420)
    assert (picture.height, picture.width) == (5, 7)
    with pytest.raises(ValueError, match="2 planes"):
        _ = picture.tensor
    with pytest.raises(ImageInputError, match="chroma of a 5×7 picture is 3×4"):
        Picture((y, torch.rand(1, 2, 2, 4)), CodedFormat.YUV420)
    with pytest.raises(ImageInputError, match="planes of \\[3\\] channels"):
        Picture((torch.rand(1, 1, 4, 4),), CodedFormat.RGB444)
