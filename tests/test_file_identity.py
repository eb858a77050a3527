"""Files know which weights wrote them, and forged files are refused past the CRC.

Every forgery here recomputes the CRC after the edit, so the checks behind it run: the
weights id, the section tags, the model flags, and the range decoder's end of stream.
"""

from __future__ import annotations

import shutil
import struct
import zlib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import random_image
from PIL import Image
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from licodec.app import codec, zoo
from licodec.app.weights import read_metadata
from licodec.components.entropy.coder import unsealed_streams
from licodec.core.bitstream import SectionTag, pack, unpack
from licodec.errors import BitstreamError, ModelError
from licodec.models import CompressionModel, build

DATA = Path(__file__).resolve().parent / "data"
TINY = DATA / "tiny-mbt2018-mean-q1.safetensors"


def loud(seed: int = 0) -> CompressionModel:
    """A seeded untrained small mbt2018-mean whose latents carry a few bits per element."""
    torch.manual_seed(seed)
    model = build("mbt2018-mean", 1, n=16, m=24).eval()
    last = [m for m in model.g_a.modules() if isinstance(m, torch.nn.Conv2d)][-1]
    with torch.no_grad():
        last.weight.mul_(30)
        last.bias.mul_(30)
    return model


def resealed(data: bytes, sections: list[bytes] | None = None, **fields: int) -> bytes:
    """``data`` re-packed with other sections or header fields (and a fresh CRC)."""
    container = unpack(data)
    header = replace(container.header, **fields)
    return pack(header, container.sections if sections is None else sections, container.tags)


@pytest.fixture(scope="module")
def encoded() -> tuple:
    model = loud()
    return model, codec.encode(random_image(48, 80), model)


def test_other_weights_of_the_same_model_and_quality_are_refused(encoded) -> None:
    model, data = encoded
    other = loud(seed=1)
    assert (other.name, other.quality) == (model.name, model.quality)
    with pytest.raises(ModelError) as error:
        codec.decode(data, other)
    message = str(error.value)
    assert f"0x{model.weights_id:08x}" in message and f"0x{other.weights_id:08x}" in message


def test_weights_id_follows_every_tensor() -> None:
    model = loud()
    before = model.weights_id
    assert model.weights_id == before  # cached, stable
    with torch.no_grad():
        model.latent_codec.h_s[0].bias[0] += 2.0**-10
    assert model.weights_id != before


def test_forged_header_weights_id_is_refused(encoded) -> None:
    model, data = encoded
    forged = resealed(data, weights_id=model.weights_id ^ 1)
    with pytest.raises(ModelError, match="written with weights"):
        codec.decode(forged, model)


def test_unknown_model_flags_tags_and_format_are_refused(encoded) -> None:
    model, data = encoded
    with pytest.raises(BitstreamError, match="model flags 0x01"):
        codec.decode(resealed(data, model_flags=1), model)
    container = unpack(data)
    swapped = pack(container.header, container.sections, [SectionTag.LATENT, SectionTag.HYPER])
    with pytest.raises(BitstreamError, match=r"sections \['LATENT', 'HYPER'\]"):
        codec.decode(swapped, model)
    extra = pack(
        container.header,
        [*container.sections, b""],
        [*container.tags, SectionTag.SEED],
    )
    with pytest.raises(BitstreamError, match="writes"):
        codec.decode(extra, model)


def test_forged_y_sections_are_refused(encoded) -> None:
    """A y section filled with 0xff, emptied, cut, or with bytes replaced (CRC recomputed
    each time) never decodes to a picture."""
    model, data = encoded
    z, y = unpack(data).sections
    rng = np.random.default_rng(3)
    forgeries = [b"\xff" * len(y), b"", y[:-4], y[:-8], y[4:], y[: len(y) // 2]]
    for _ in range(12):
        edited = bytearray(y)
        at = int(rng.integers(0, len(y)))
        edited[at] = (edited[at] + int(rng.integers(1, 256))) % 256
        forgeries.append(bytes(edited))
    for forged_y in forgeries:
        with pytest.raises(BitstreamError):
            codec.decode(resealed(data, [z, forged_y]), model)


def test_forged_z_sections_are_refused(encoded) -> None:
    model, data = encoded
    z, y = unpack(data).sections
    for forged_z in (b"\x00" * len(z), b"", z[:-4], z + z):
        with pytest.raises(BitstreamError):
            codec.decode(resealed(data, [forged_z, y]), model)


def test_one_unread_word_appended_to_a_stream_changes_nothing(encoded) -> None:
    """The documented limit of the end-of-stream check: a word the range decoder never reads
    (it looks one word ahead) passes, and the picture is exactly the encoder's."""
    model, data = encoded
    z, y = unpack(data).sections
    padded = resealed(data, [z, y + b"\x00\x00\x00\x80"])
    decoded = np.asarray(codec.decode(padded, model))
    assert np.array_equal(decoded, np.asarray(codec.decode(data, model)))


# --- format v1 -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["v1-rgb", "v1-grey"])
def test_committed_v1_files_still_decode_as_before(name: str) -> None:
    """Files written by the v1 writer (tools/make_v1_test_files.py) with weights exported
    before weights described themselves (their sidecar gives the architecture)."""
    data = (DATA / f"{name}.lic").read_bytes()
    container = unpack(data)
    assert container.version == 1 and container.header.weights_id is None
    assert read_metadata(TINY) == {}
    model = zoo.load_model("mbt2018-mean", 1, TINY)
    header = container.header
    with model.coding_path(True), unsealed_streams():
        y_hat = model.decompress_latent(container.sections, header.height, header.width)
    assert torch.equal(y_hat, torch.from_numpy(np.load(DATA / f"{name}.y_hat.npy")))
    decoded = np.asarray(codec.decode(data, model), dtype=np.int16)
    expected = np.asarray(Image.open(DATA / f"{name}.decoded.png"), dtype=np.int16)
    assert decoded.shape == expected.shape
    # The synthesis is float: another CPU may move a pixel across a rounding boundary.
    assert np.abs(decoded - expected).max() <= 1 and (decoded == expected).mean() > 0.99


# --- self-describing weights ----------------------------------------------------------------


@pytest.fixture()
def shipped_copy(tmp_path) -> Path:
    """A copy of a shipped weights file, alone in a folder (no JSON sidecar)."""
    copy = tmp_path / "alone" / "anything.safetensors"
    copy.parent.mkdir()
    shutil.copyfile(zoo.find_weights("mbt2018-mean", 1), copy)
    return copy


def test_a_copied_weights_file_loads_on_its_own(shipped_copy) -> None:
    model = zoo.load_model(None, None, shipped_copy)
    shipped = zoo.load_model("mbt2018-mean", 1)
    assert (model.name, model.quality) == ("mbt2018-mean", 1)
    assert model.weights_id == shipped.weights_id == read_metadata(shipped_copy)["weights_id"]
    assert zoo.manifest()["mbt2018-mean"]["1"]["weights_id"] == f"0x{model.weights_id:08x}"
    pixels = random_image(40, 40)
    assert codec.encode(pixels, model) == codec.encode(pixels, shipped)


def test_weights_of_another_quality_are_named(shipped_copy) -> None:
    with pytest.raises(ModelError, match="hold mbt2018-mean q1, not mbt2018-mean q2"):
        zoo.load_model("mbt2018-mean", 2, shipped_copy)


def test_damaged_weights_are_refused(shipped_copy) -> None:
    tensors = load_file(shipped_copy)
    with safe_open(str(shipped_copy), framework="pt") as handle:
        metadata = handle.metadata()
    tensors["g_s.0.bias"] = tensors["g_s.0.bias"] + 1
    save_file(tensors, shipped_copy, metadata=metadata)
    with pytest.raises(ModelError, match="damaged"):
        zoo.load_model(None, None, shipped_copy)


def test_reseal_helper_really_recomputes_the_crc(encoded) -> None:
    _, data = encoded
    body = data[:-4]
    assert struct.unpack(">I", data[-4:])[0] == zlib.crc32(body)
    assert unpack(resealed(data)) == unpack(data)
