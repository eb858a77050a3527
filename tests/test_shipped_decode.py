"""Shipped weights decode their files as well as the network they were trained as.

A file differs from the eval-mode forward pass where the file chose to (a post-filter or ACEM
half switched off because it did not help) and where the integer path's entropy parameters
differ from the float ones the forward pass uses (a mean-scale head quantizes ``y − μ``, so a
slightly different ``μ`` moves some ``ŷ``: up to 1.3% of the error here, the lattice's q1).
So its error may exceed the forward pass's by 5% at most. Synthetic weights cannot catch a
decoder that departs from training only where trained weights go (cca's synthesis
overshooting on a bright sky, which clamping before the ACEM decoded 30 levels dark), so this
runs every shipped model's lowest quality on the top of Kodak's kodim20: sky, and the nose of
an aeroplane.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import KODAK
from PIL import Image

from licodec.app import codec, zoo
from licodec.core.colour import CodedFormat
from licodec.core.image import crop, pad_to_multiple, to_tensor
from licodec.core.picture import Picture
from licodec.core.yuv import picture_to_planes, planes_to_picture, rgb_to_yuv420
from licodec.models import spec

KODIM20 = KODAK / "kodim20.png"
SELECTIVE = {"gan-sc"}
"""Models whose forward pass needs a label map Kodak does not have (their generator is the
one :meth:`generate` that forward and decode share; tests/test_gan.py codes them)."""
SHIPPED = sorted(
    (name, min(zoo.shipped_qualities(name))) for name in zoo.manifest() if name not in SELECTIVE
)


def sky(height: int = 128, width: int = 256) -> np.ndarray:
    """The top-left ``height``×``width`` of kodim20 as ``H×W×3`` uint8."""
    return np.array(Image.open(KODIM20).convert("RGB"))[:height, :width]


def mse(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(((a.float() - b.float()) ** 2).mean())


@pytest.mark.parametrize(("name", "quality"), SHIPPED)
def test_files_decode_about_as_well_as_the_forward_pass(name: str, quality: int) -> None:
    model = zoo.load_model(name, quality)
    pixels = sky()
    height, width = pixels.shape[:2]
    if spec(name).input_format == CodedFormat.RGB444:
        x = to_tensor(pixels)
        with torch.no_grad():
            forward = model(pad_to_multiple(x, model.pad_multiple))["x_hat"]
        forward = crop(forward, height, width).clamp(0, 1)
        file = to_tensor(np.asarray(codec.decode(codec.encode(pixels, model), model)))
        pairs = [(file, forward, x)]
    else:
        planes = rgb_to_yuv420(pixels)
        picture = planes_to_picture(planes)
        with torch.no_grad():
            luma, chroma = model(*model.padded(picture))["x_hat"]
        chroma_size = (-(-height // 2), -(-width // 2))
        forward = picture_to_planes(
            Picture((crop(luma, height, width), crop(chroma, *chroma_size)), model.input_format)
        )
        decoded = codec.decode_planes(codec.encode(planes, model), model)
        pairs = [
            (torch.from_numpy(getattr(decoded, p).astype(np.float32)),
             torch.from_numpy(getattr(forward, p).astype(np.float32)),
             torch.from_numpy(getattr(planes, p).astype(np.float32)))
            for p in ("y", "u", "v")
        ]  # fmt: skip
    for file, network, source in pairs:
        assert mse(file, source) <= mse(network, source) * 1.05 + 1e-6, name
