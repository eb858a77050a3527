"""Generative compression (GC and SC): fixed centres, per-channel tables stored in the file,
label maps and keep-masks, the adversarial objective, and the offline realism metrics."""

from __future__ import annotations

import json
import lzma
import math
import os
import socket
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp
from conftest import random_image
from PIL import Image
from safetensors import safe_open
from scipy import ndimage

import licodec
from licodec.app import codec, zoo
from licodec.app.evaluate import measure_image
from licodec.app.lpips import Lpips
from licodec.app.realism import niqe, realism_metrics
from licodec.app.training import TrainConfig, train
from licodec.app.training.adversarial import feature_matching, first_norm_gap, pixel_weight
from licodec.app.training.keep_masks import random_pixel_mask
from licodec.app.training.loop import init_weights
from licodec.app.weights import export_weights, load_weights
from licodec.cli.main import main
from licodec.components.entropy.adaptive_grid import decode_grid, encode_grid
from licodec.components.entropy.label_map import EDGE_RUN, decode_label_map, encode_label_map
from licodec.components.latent.empirical import ADAPTIVE, EmpiricalTableLatentCodec
from licodec.components.quant.fixed_centres import FixedCentreQuantizer
from licodec.core.bitstream import SectionTag, pack, unpack
from licodec.core.image import to_pixels
from licodec.core.labels import KeepRule, block_any, parse_classes
from licodec.errors import BitstreamError, ImageInputError, ModelError
from licodec.models import build
from licodec.models.gan import CAMVID_CLASSES, GenerativeModel

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
CAMVID = SHARED / "camvid"
KODAK = SHARED / "kodak"


def tiny(name: str = "gan-sc", quality: int = 2, **overrides) -> GenerativeModel:
    torch.manual_seed(0)
    return build(name, quality, width=4, blocks=1, **overrides).eval()


def camvid_pair(split: str = "test", index: int = 0) -> tuple[np.ndarray, np.ndarray, Path]:
    frame = sorted((CAMVID / split).iterdir())[index]
    labels = np.asarray(Image.open(CAMVID / f"{split}annot" / f"{frame.stem}.png"))
    return np.asarray(Image.open(frame).convert("RGB")), labels, frame


def reseal(data: bytes, tag: SectionTag, section: bytes) -> bytes:
    """The file with the section ``tag`` replaced and the CRC recomputed."""
    container = unpack(data)
    sections = list(container.sections)
    sections[container.tags.index(tag)] = section
    return pack(container.header, sections, list(container.tags))


# -- quantizer and latent codec -----------------------------------------------------------


def test_fixed_centres_clip_round_and_pass_the_soft_gradient() -> None:
    quantizer = FixedCentreQuantizer().train()
    y = torch.tensor([-3.7, -1.4, -0.2, 0.6, 2.2, 9.0], requires_grad=True)
    value = quantizer.relax_value(y)
    assert value.tolist() == [-2.0, -1.0, 0.0, 1.0, 2.0, 2.0]
    value.sum().backward()
    assert (y.grad[1:5] > 0.1).all() and y.grad[-1] < 1e-3  # soft slope inside, flat far out
    assert quantizer.eval().relax_value(y).tolist() == value.tolist()


@pytest.mark.parametrize("masked", [False, True])
def test_static_tables_code_every_channel_with_its_row_and_still_decode(masked) -> None:
    codec_ = EmpiricalTableLatentCodec(4)
    torch.manual_seed(1)
    y = torch.randn(1, 4, 6, 9) * torch.tensor([0.3, 1.0, 2.0, 5.0])[None, :, None, None]
    mask = (torch.rand(1, 1, 6, 9) > 0.4) if masked else None
    _, y_hat = codec_.compress(y, mask)
    sections = codec_.static_sections(codec_.quantizer.quantize(y).numpy().astype(int), mask)
    assert len(sections[0]) == 4 * 5
    table = np.frombuffer(sections[0], dtype=np.uint8).reshape(4, 5)
    assert table[0, 2] == 255 and table[0, 0] < 10  # channel 0 is nearly all zeros
    decoded = codec_.decompress(sections, (6, 9), mask)
    assert torch.equal(decoded, y_hat)
    if masked:
        assert (decoded[~mask.expand_as(decoded)] == 0).all()


def smooth_latent(channels: int, height: int, width: int, seed: int = 0) -> torch.Tensor:
    """A latent whose neighbours agree more often than chance, as a trained encoder's do."""
    torch.manual_seed(seed)
    noise = torch.randn(1, channels, height + 4, width + 4) * 4
    return torch.nn.functional.avg_pool2d(noise, 5, 1)


@pytest.mark.parametrize("masked", [False, True])
def test_adaptive_coding_learns_neighbours_and_the_shorter_way_is_written(masked) -> None:
    codec_ = EmpiricalTableLatentCodec(4)
    y = smooth_latent(4, 20, 30)
    mask = (torch.rand(1, 1, 20, 30) > 0.3) if masked else None
    sections, y_hat = codec_.compress(y, mask)
    static = codec_.static_sections(codec_.quantizer.quantize(y).numpy().astype(int), mask)
    assert sections[0] == ADAPTIVE
    assert len(sections[1]) + 1 < 0.85 * (len(static[0]) + len(static[1]))
    decoded = codec_.decompress(sections, (20, 30), mask)
    assert torch.equal(decoded, y_hat)
    # independent symbols: nothing to learn from neighbours, and the stored tables win
    torch.manual_seed(3)
    sections, y_hat = codec_.compress(torch.randn(1, 4, 24, 24), mask=None)
    assert len(sections[0]) == 4 * 5
    assert torch.equal(codec_.decompress(sections, (24, 24)), y_hat)


def test_the_adaptive_stream_is_a_fixed_format() -> None:
    """The bytes are part of the file format: a change to contexts, order or counts shows
    here (and would make earlier files decode wrongly)."""
    rng = np.random.default_rng(7)
    grid = np.minimum(rng.integers(0, 5, size=(3, 9, 11)), rng.integers(0, 5, size=(3, 9, 11)))
    keep = rng.random((9, 11)) > 0.2
    data = encode_grid(grid, 5, keep)
    assert (len(data), zlib.crc32(data)) == (72, 2529852381)
    decoded = decode_grid(data, grid.shape, 5, keep)
    assert np.array_equal(decoded[:, keep], grid[:, keep]) and (decoded[:, ~keep] == 5).all()


def test_masked_positions_are_not_stored() -> None:
    codec_ = EmpiricalTableLatentCodec(8)
    y = torch.randn(1, 8, 16, 16) * 2
    full = len(codec_.compress(y)[0][1])
    quarter = torch.zeros(1, 1, 16, 16, dtype=torch.bool)
    quarter[..., :8, :8] = True
    assert len(codec_.compress(y, quarter)[0][1]) < 0.35 * full


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (bytes(19), "20"),
        (bytes([0]) + bytes([9] * 19), "frequency 0"),
        (b"\x07", "method byte 0x07"),
        (ADAPTIVE, "seal|did not end"),
    ],
)
def test_a_corrupt_table_is_a_bitstream_error(table, message) -> None:
    codec_ = EmpiricalTableLatentCodec(4)
    y = torch.randn(1, 4, 5, 5)
    sections = codec_.static_sections(codec_.quantizer.quantize(y).numpy().astype(int))
    with pytest.raises(BitstreamError, match=message):
        codec_.decompress([table, sections[1]], (5, 5))


def test_a_cut_or_flipped_adaptive_stream_is_a_bitstream_error() -> None:
    codec_ = EmpiricalTableLatentCodec(4)
    table, data = codec_.compress(smooth_latent(4, 12, 12))[0]
    assert table == ADAPTIVE
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0x10
    for forged in (data[:-4], bytes(flipped)):
        with pytest.raises(BitstreamError):
            codec_.decompress([table, forged], (12, 12))


# -- label maps and keep-rules --------------------------------------------------------------


def _lzma2(labels: np.ndarray) -> bytes:
    """A label map as files before the context coder stored it (raw LZMA2 of the ids)."""
    filters = [{"id": lzma.FILTER_LZMA2, "preset": 9 | lzma.PRESET_EXTREME}]
    return lzma.compress(labels.astype(np.uint8).tobytes(), format=lzma.FORMAT_RAW, filters=filters)


def test_label_maps_round_trip_losslessly_and_beat_lzma2() -> None:
    _, labels, _ = camvid_pair()
    data = encode_label_map(labels, 12)
    assert data[0] == EDGE_RUN
    assert np.array_equal(decode_label_map(data, *labels.shape, 12), labels)
    assert len(data) < 0.85 * len(_lzma2(labels))
    rng = np.random.default_rng(0)
    for shape in [(1, 1), (1, 9), (9, 1), (7, 12)]:
        noise = rng.integers(0, 3, shape).astype(np.uint8)
        assert np.array_equal(decode_label_map(encode_label_map(noise, 3), *shape, 3), noise)


def test_label_map_corruption_and_out_of_range_ids_are_caught() -> None:
    _, labels, _ = camvid_pair()
    data = encode_label_map(labels, 12)
    for bad in [data[: len(data) // 2], data[:-4], data + bytes(8), b""]:
        with pytest.raises(BitstreamError, match="LABELS|section"):
            decode_label_map(bad, *labels.shape, 12)
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0x40
    with pytest.raises(BitstreamError):
        decode_label_map(bytes(flipped), *labels.shape, 12)
    with pytest.raises(ImageInputError, match="class id 12"):
        encode_label_map(np.full((4, 4), 12, np.uint8), 12)


def test_label_maps_of_earlier_files_still_decode() -> None:
    _, labels, _ = camvid_pair()
    assert np.array_equal(decode_label_map(_lzma2(labels), *labels.shape, 12), labels)
    with pytest.raises(BitstreamError, match="class id"):
        decode_label_map(_lzma2(np.full((4, 4), 12)), 4, 4, 12)
    with pytest.raises(BitstreamError, match="LABELS"):
        decode_label_map(_lzma2(labels)[:100], *labels.shape, 12)


def test_keep_rules_make_latent_masks_and_store_compactly() -> None:
    labels = np.zeros((40, 50), np.uint8)
    labels[20:25, 33:35] = 8  # a car in latent block (1, 2)
    rule = KeepRule(classes=parse_classes("car", CAMVID_CLASSES), margin=0)
    mask = rule.latent_mask(labels, 40, 50, 16)
    assert mask.shape == (3, 4) and mask.sum() == 1 and mask[1, 2]
    assert len(rule.to_bytes(mask)) == 3
    assert KeepRule.from_bytes(rule.to_bytes(mask), (3, 4))[0] == rule
    box = KeepRule(box=(0, 0, 17, 10), margin=0)
    boxed = box.latent_mask(None, 40, 50, 16)
    assert boxed.sum() == 2 and boxed[0, :2].all()
    stored = KeepRule.from_bytes(box.to_bytes(boxed), (3, 4))[1]
    assert np.array_equal(stored, boxed)
    assert block_any(np.ones((3, 3), bool), 2, (2, 2)).all()


def test_a_keep_margin_codes_a_ring_of_blocks_and_is_stored_with_the_classes() -> None:
    labels = np.zeros((64, 80), np.uint8)
    labels[20:25, 33:35] = 8  # a car in latent block (1, 2)
    cars = frozenset({8})
    ring = KeepRule(classes=cars, margin=1)
    mask = ring.latent_mask(labels, 64, 80, 16)
    expected = np.zeros((4, 5), bool)
    expected[0:3, 1:4] = True
    assert np.array_equal(mask, expected)
    assert ring.to_bytes(mask) == b"\x01\x00\x01\x01"
    assert KeepRule.from_bytes(ring.to_bytes(mask), (4, 5))[0] == ring
    assert KeepRule(classes=cars) == ring  # the default margin
    assert KeepRule.from_bytes(b"\x01\x00\x01", (4, 5))[0] == KeepRule(classes=cars, margin=0)
    boxed = KeepRule(box=(0, 0, 1, 1), margin=2)
    corner = boxed.latent_mask(None, 64, 80, 16)
    assert np.array_equal(np.argwhere(corner), np.argwhere(np.ones((3, 3), bool)))
    stored_rule, stored = KeepRule.from_bytes(boxed.to_bytes(corner), (4, 5))
    assert np.array_equal(stored, corner) and stored_rule.margin == 0  # applied once
    with pytest.raises(ImageInputError, match="keep margin is 0 … 15"):
        KeepRule(classes=cars, margin=16)


@pytest.mark.parametrize(
    ("rule", "labels", "message"),
    [
        (KeepRule(classes=frozenset({9})), np.zeros((32, 32), np.uint8), "keeps nothing"),
        (KeepRule(classes=frozenset({9})), None, "needs a label map"),
        (KeepRule(box=(10, 10, 5, 20)), None, "empty or outside"),
        (KeepRule(pixels=np.ones((8, 8), bool)), None, "must have the same size"),
    ],
)
def test_bad_keep_rules_are_refused_in_one_line(rule, labels, message) -> None:
    with pytest.raises(ImageInputError, match=message):
        rule.latent_mask(labels, 32, 32, 16)


def test_unknown_classes_are_named() -> None:
    with pytest.raises(ImageInputError, match="unknown class 'truck'"):
        parse_classes("car,truck", CAMVID_CLASSES)


def test_training_masks_keep_whole_instances_or_a_box() -> None:
    _, labels, _ = camvid_pair("train")
    rng = np.random.default_rng(0)
    masks = [random_pixel_mask(labels, rng) for _ in range(20)]
    fractions = [m.mean() for m in masks]
    assert 0.05 < np.mean(fractions) < 0.6
    kinds = set()
    for mask in masks:  # a box, or whole connected components of classes
        rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
        box = rows.size and mask[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1].all()
        if box and mask.sum() == rows.size * cols.size:
            kinds.add("box")
            continue
        kinds.add("instances")
        for value in np.unique(labels):
            components, count = ndimage.label(labels == value)
            for index in range(1, count + 1):
                inside = mask[components == index]
                assert inside.all() or not inside.any()
    assert kinds == {"box", "instances"}


def test_keep_all_keeps_whole_crops_at_its_rate_and_otherwise_draws_the_same_masks() -> None:
    _, labels, _ = camvid_pair("train")
    masks = [random_pixel_mask(labels, np.random.default_rng(i), keep_all=0.4) for i in range(50)]
    whole = sum(bool(m.all()) for m in masks)
    assert 10 <= whole <= 30  # 20 expected
    plain = [random_pixel_mask(labels, np.random.default_rng(i)) for i in range(5)]
    unset = [random_pixel_mask(labels, np.random.default_rng(i), keep_all=0.0) for i in range(5)]
    assert all(np.array_equal(a, b) for a, b in zip(plain, unset, strict=True))
    assert not any(m.all() for m in plain)


def test_masked_feature_matching_counts_only_the_kept_area() -> None:
    gen = torch.Generator().manual_seed(0)
    real = [[torch.randn(2, 4, 8, 8, generator=gen), torch.zeros(2, 1, 8, 8)]]
    fake = [[real[0][0].clone(), torch.zeros(2, 1, 8, 8)]]
    fake[0][0][..., 4:] += 3.0  # wrong only in the right half
    mask = torch.zeros(2, 1, 2, 2, dtype=torch.bool)
    mask[..., 0] = True  # keeps the left half of a 32×32 picture at stride 16
    weight = pixel_weight(mask, 16)
    assert feature_matching(real, fake, weight).item() == pytest.approx(0.0, abs=1e-6)
    assert feature_matching(real, fake, torch.ones_like(weight)).item() == pytest.approx(
        feature_matching(real, fake).item()
    )
    assert feature_matching(real, fake, 1 - weight).item() == pytest.approx(3.0)


def test_first_norm_gap_measures_statistics_in_the_references_units() -> None:
    """A shift by ``a·s_r`` costs ``a²`` and a scale by ``k`` about ``(k − 1)²``, whatever the
    reference's own level and scale; a rearrangement of the same values costs nothing, and
    no gradient reaches the reference."""
    gen = torch.Generator().manual_seed(5)
    reference = 3.0 * torch.randn(2, 6, 8, 8, generator=gen) + 7.0
    std = reference.var((2, 3), unbiased=False, keepdim=True).sqrt()
    shuffled = reference.flatten(2)[..., torch.randperm(64, generator=gen)].view_as(reference)
    assert first_norm_gap(shuffled, reference).item() == pytest.approx(0.0, abs=1e-9)
    shift = reference + 0.5 * std
    assert first_norm_gap(shift, reference).item() == pytest.approx(0.25, rel=1e-4)
    mean = reference.mean((2, 3), keepdim=True)
    scaled = (mean + 2.0 * (reference - mean)).requires_grad_()
    reference.requires_grad_()
    gap = first_norm_gap(scaled, reference)
    assert gap.item() == pytest.approx(1.0, rel=1e-4)
    gap.backward()
    assert reference.grad is None and scaled.grad.abs().sum() > 0


def test_gated_training_pass_returns_both_first_layers_features() -> None:
    """A gated SC training pass that drops a block returns what enters the first norm (GC's
    convolution where kept, the label head's elsewhere) beside GC's convolution of the whole
    unmasked latent; the picture is the generator's from those features. Where everything is
    kept there is nothing to compare. The statistics' gap trains the label head."""
    sc = tiny(gated_input=1, context_head=1)
    torch.manual_seed(6)
    x = torch.rand(2, 3, 64, 64)
    labels = torch.randint(0, 12, (2, 64, 64))
    keep = torch.zeros(2, 1, 4, 4, dtype=torch.bool)
    keep[..., :2, 1:] = True
    with torch.no_grad():
        out = sc(x, labels, keep)
        first, reference = out["first_features"]
        w_all = sc.latent_codec(sc.g_a(x)).y_hat
        assert torch.allclose(reference, sc.g_s.first_conv(w_all), atol=1e-5)
        kept = keep.expand_as(first)
        coded = sc.g_s.first_conv(w_all * keep)
        assert torch.allclose(first[kept], coded[kept], atol=1e-5)
        assert not torch.allclose(first[~kept], reference[~kept], atol=1e-2)
        picture = sc.generate(w_all * keep, labels, None, keep)
        assert torch.allclose(out["x_hat"], picture, atol=1e-5)
        assert "first_features" not in sc(x, labels, torch.ones_like(keep))
    first_norm_gap(*sc(x, labels, keep)["first_features"]).backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in sc.label_head.parameters())


# -- files ----------------------------------------------------------------------------------


@pytest.mark.parametrize("noise", [0, 3])
def test_gc_files_decode_to_the_encoders_picture_reproducibly(noise) -> None:
    model = tiny("gan-gc", 1, noise=noise)
    pixels = random_image(40, 70, 3)
    data = codec.encode(pixels, model)
    container = unpack(data)
    expected = (SectionTag.TABLES, SectionTag.LATENT) + ((SectionTag.SEED,) if noise else ())
    assert container.tags == expected
    first, second = codec.decode_pixels(container, model), codec.decode_pixels(container, model)
    assert np.array_equal(first, second)
    reconstruction = codec.reconstruct(Image.fromarray(pixels), model)
    assert np.array_equal(first, to_pixels(reconstruction))
    latent_bits = 8 * len(container.sections[1])
    assert latent_bits <= 2 * 3 * 5 * math.log2(5) + 64  # C·h·w·log2(5) plus the seal


def test_gc_refuses_side_inputs_and_sc_needs_labels() -> None:
    pixels = random_image(32, 32, 0)
    with pytest.raises(ModelError, match="takes no side input 'labels'"):
        codec.encode(pixels, tiny("gan-gc"), side={"labels": np.zeros((32, 32), np.uint8)})
    with pytest.raises(ImageInputError, match="needs a label map"):
        codec.encode(pixels, tiny())


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        (np.zeros((31, 32), np.uint8), "31×32, the picture 32×32"),
        (np.full((32, 32), 12, np.uint8), "class id 12"),
    ],
)
def test_sc_refuses_label_maps_that_do_not_fit(labels, message) -> None:
    with pytest.raises(ImageInputError, match=message):
        codec.encode(random_image(32, 32, 0), tiny(), side={"labels": labels})


@pytest.mark.parametrize("mask_input", [0, 1])
def test_sc_stores_the_labels_and_only_the_kept_latent(mask_input) -> None:
    model = tiny(mask_input=mask_input)
    pixels, labels, _ = camvid_pair()
    full = unpack(codec.encode(pixels, model, side={"labels": labels}))
    keep = KeepRule(classes=parse_classes("car,pedestrian", CAMVID_CLASSES))
    data = codec.encode(pixels, model, side={"labels": labels, "keep": keep})
    kept = unpack(data)
    assert kept.tags == (SectionTag.LABELS, SectionTag.MASK, SectionTag.TABLES, SectionTag.LATENT)
    assert kept.sections[0] == full.sections[0] == encode_label_map(labels, 12)
    assert len(kept.sections[3]) < len(full.sections[3])
    decoded = codec.decode_pixels(kept, model)
    expected = model.compress(
        torch.from_numpy(pixels.copy()).permute(2, 0, 1)[None].float() / 255,
        reconstruct=True,
        labels=labels,
        keep=keep,
    ).reconstruction.tensor
    assert np.array_equal(decoded, to_pixels(expected))


def test_with_mask_input_the_generator_tells_a_dropped_zero_from_a_coded_one() -> None:
    labels = torch.zeros(1, 32, 32, dtype=torch.long)
    w_hat = torch.zeros(1, 4, 2, 2)  # all zeros: coded at the centre, or dropped
    dropped = torch.zeros(1, 1, 2, 2, dtype=torch.bool)
    informed, blind = tiny(mask_input=1), tiny()
    assert not torch.equal(
        informed.generate(w_hat, labels, None, dropped),
        informed.generate(w_hat, labels, None, None),
    )
    assert torch.equal(
        blind.generate(w_hat, labels, None, dropped), blind.generate(w_hat, labels, None, None)
    )
    with pytest.raises(ValueError, match="mask_input is for SC"):
        GenerativeModel(channels=4, width=4, blocks=1, mask_input=True)


@pytest.mark.parametrize(
    ("tag", "section", "message"),
    [
        (SectionTag.LABELS, b"\x00" * 40, "LABELS"),
        (SectionTag.MASK, b"\x07", "keep-rule mode"),
        (SectionTag.MASK, b"\x01\x00\x00", "class set"),
        (SectionTag.MASK, b"\x01\x00\x02", "keeps nothing"),  # pedestrians, made absent
        (SectionTag.MASK, b"\x01\x08\x00\x00", "margin"),
        (SectionTag.MASK, b"\x01\x08\x00\x10", "margin"),
        (SectionTag.MASK, b"\x01\x08\x00\x01\x01", "class set"),
        (SectionTag.TABLES, bytes(10), "frequency table"),
    ],
)
def test_forged_sc_sections_are_bitstream_errors(tag, section, message) -> None:
    model = tiny()
    pixels, labels, _ = camvid_pair()
    labels = np.where(labels == 9, 8, labels).astype(np.uint8)
    keep = KeepRule(classes=frozenset({3}))
    data = codec.encode(pixels, model, side={"labels": labels, "keep": keep})
    with pytest.raises(BitstreamError, match=message):
        codec.decode(reseal(data, tag, section), model)


# -- the command line -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sc_weights(tmp_path_factory) -> str:
    model = tiny()
    path = tmp_path_factory.mktemp("gan") / "gan-sc-q2.safetensors"
    export_weights(model, path, {"model_config": model.config})
    return str(path)


def test_cli_codes_with_labels_and_kept_classes_and_reports_the_bound(
    sc_weights, tmp_path, capsys
) -> None:
    _, _, frame = camvid_pair()
    labels = CAMVID / "testannot" / f"{frame.stem}.png"
    lic, out = tmp_path / "f.lic", tmp_path / "out.png"
    argv = ["encode", str(frame), "-o", str(lic), "--model", "gan-sc", "--quality", "2"]
    argv += ["--labels", str(labels), "--keep-classes", "car,pedestrian", "--weights", sc_weights]
    assert main(argv) == 0
    assert main(["decode", str(lic), "-o", str(out), "--weights", sc_weights]) == 0
    assert Image.open(out).size == (480, 360)
    capsys.readouterr()
    assert main(["info", str(lic), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["rate_bound_bpp"] == pytest.approx(4 * math.log2(5) / 256)
    assert [s["tag"] for s in info["sections"]] == ["LABELS", "MASK", "TABLES", "LATENT"]


def test_cli_refuses_a_label_map_of_another_size(sc_weights, tmp_path, capsys) -> None:
    _, _, frame = camvid_pair()
    small = tmp_path / "small.png"
    Image.fromarray(np.zeros((10, 10), np.uint8)).save(small)
    argv = ["encode", str(frame), "-o", str(tmp_path / "x.lic"), "--weights", sc_weights]
    assert main([*argv, "--labels", str(small)]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "same size" in err[0]


def test_cli_keep_margin_codes_more_blocks_and_needs_a_keep_rule(
    sc_weights, tmp_path, capsys
) -> None:
    _, _, frame = camvid_pair()
    labels = CAMVID / "testannot" / f"{frame.stem}.png"
    argv = ["encode", str(frame), "--model", "gan-sc", "--quality", "2"]
    argv += ["--weights", sc_weights]
    argv += ["--labels", str(labels)]
    sizes = {}
    for margin in ("0", "default"):
        lic = tmp_path / f"m{margin}.lic"
        rule = ["--keep-classes", "car"] + (["--keep-margin", "0"] if margin == "0" else [])
        assert main([*argv, "-o", str(lic), *rule]) == 0
        container = unpack(lic.read_bytes())
        sections = zip(container.tags, container.sections, strict=True)
        sizes[margin] = {tag.name: len(section) for tag, section in sections}
        out = tmp_path / f"m{margin}.png"
        assert main(["decode", str(lic), "-o", str(out), "--weights", sc_weights]) == 0
    assert (sizes["0"]["MASK"], sizes["default"]["MASK"]) == (3, 4)
    assert sizes["default"]["LATENT"] > sizes["0"]["LATENT"]
    capsys.readouterr()
    assert main([*argv, "-o", str(tmp_path / "x.lic"), "--keep-margin", "1"]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--keep-margin widens" in err[0]


# -- training ---------------------------------------------------------------------------------


def test_sc_warm_started_from_gc_generates_gcs_picture(tmp_path) -> None:
    """The generator's first layer widens to take the label features: its new input
    channels start at zero, so the warm-started SC model paints what GC painted."""
    gc, sc = tiny("gan-gc"), tiny("gan-sc")
    path = tmp_path / "gc.safetensors"
    export_weights(gc, path, {"model_config": gc.config})
    load_weights(sc, path, partial=True)
    load_weights(gc, path)  # the same fp16-rounded weights on both sides
    first = sc.g_s.state_dict()
    assert any(t.dim() == 4 and t.shape[1] > 4 and not t[:, 4:].any() for t in first.values())
    torch.manual_seed(1)
    w_hat = torch.randint(-2, 3, (1, 4, 4, 4)).float()
    labels = torch.randint(0, 12, (1, 64, 64))
    with torch.no_grad():
        painted = sc.generate(w_hat, labels, None, None) - gc.generate(w_hat, None, None, None)
    assert painted.abs().max() < 1e-5  # the same sums, in another order
    with pytest.raises(ModelError, match="shape"):
        load_weights(tiny("gan-gc", quality=3), path, partial=True)  # 8 latent channels


def test_gated_sc_on_gcs_networks_decodes_gcs_picture_where_everything_is_kept(
    tmp_path,
) -> None:
    """With ``gated_input`` SC's generator is GC's as it is (the first layer is not widened):
    a file that keeps everything decodes to GC's very pixels whatever the labels, and one
    that keeps the cars paints the rest from the labels through the label head."""
    gc = tiny("gan-gc")
    path = tmp_path / "gc.safetensors"
    export_weights(gc, path, {"model_config": gc.config})
    load_weights(gc, path)  # the same fp16-rounded weights on both sides
    sc = load_weights(tiny("gan-sc", gated_input=1), path, partial=True)
    shared = {k: v for k, v in sc.state_dict().items() if k.startswith(("g_a.", "g_s."))}
    assert shared.keys() == gc.state_dict().keys()
    assert all(torch.equal(v, gc.state_dict()[k]) for k, v in shared.items())
    pixels, labels, _ = camvid_pair()
    gc_pixels = codec.decode_pixels(unpack(codec.encode(pixels, gc)), gc)
    for classes in (labels, np.zeros_like(labels)):
        sc_file = unpack(codec.encode(pixels, sc, side={"labels": classes}))
        assert np.array_equal(codec.decode_pixels(sc_file, sc), gc_pixels)
    cars = KeepRule(classes=parse_classes("car", CAMVID_CLASSES))
    painted = [
        codec.decode_pixels(unpack(codec.encode(pixels, sc, side={"labels": s, "keep": cars})), sc)
        for s in (labels, np.where(labels == 8, 8, 3).astype(np.uint8))  # elsewhere all road
    ]
    assert not np.array_equal(painted[0], gc_pixels)
    assert not np.array_equal(painted[0], painted[1])


class _StandIn(torch.nn.Module):
    """A label head that ignores its context and returns a fixed tensor."""

    def __init__(self, value: torch.Tensor) -> None:
        super().__init__()
        self.value = value

    def forward(self, context: torch.Tensor) -> torch.Tensor:
        return self.value


def test_gated_label_head_stands_in_for_gcs_first_convolution_where_dropped() -> None:
    """Kept blocks enter the first norm as GC's convolution of the file's latent, dropped
    ones as the label head's output, and one instance norm spans both (so a kept area keeps
    its level relative to the picture): with a head that returns GC's convolution of the
    whole latent, the picture differs from GC's only through the kept blocks' borders."""
    sc = tiny(gated_input=1)
    torch.manual_seed(2)
    w_hat = torch.randint(-2, 3, (1, 4, 4, 4)).float()
    labels = torch.randint(0, 12, (1, 64, 64))
    keep = torch.zeros(1, 1, 4, 4, dtype=torch.bool)
    keep[..., 1:3, :2] = True
    pad, conv, norm, relu = sc.g_s.layers[0]
    with torch.no_grad():
        whole = conv(pad(w_hat))
        sc.label_head = _StandIn(whole)
        oracle = sc.generate(w_hat * keep, labels, None, keep)
        mixed = torch.where(keep, conv(pad(w_hat * keep)), whole)
        expected = (sc.g_s.layers[1:](relu(norm(mixed))).tanh() + 1) / 2
        sc.label_head = _StandIn(torch.zeros_like(whole))
        blank = sc.generate(w_hat * keep, labels, None, keep)
    assert torch.allclose(oracle, expected, atol=1e-6)
    assert not torch.allclose(blank, expected, atol=1e-2)


class _Recorder(torch.nn.Module):
    """A label head that keeps its context and returns zeros of the first layer's width."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.width, self.context = width, torch.empty(0)

    def forward(self, context: torch.Tensor) -> torch.Tensor:
        self.context = context
        return context.new_zeros(context.shape[0], self.width, *context.shape[2:])


@pytest.mark.parametrize("context_head", [0, 1])
def test_context_head_reads_the_kept_blocks_features(context_head) -> None:
    """The gated label head reads ``[m, F(s), μ]``; with ``context_head`` also GC's first
    convolution of the latent where it is kept and 0 where dropped, through three
    convolutions (a 7×7-block view), so it can continue a kept area into its surroundings."""
    sc = tiny(gated_input=1, context_head=context_head)
    convs = [m for m in sc.label_head.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == (3 if context_head else 1)
    top = sc.g_s.layers[0][1].out_channels
    torch.manual_seed(3)
    w_hat = torch.randint(-2, 3, (1, 4, 4, 4)).float()
    keep = torch.zeros(1, 1, 4, 4, dtype=torch.bool)
    keep[..., :2, 1:3] = True
    recorder = _Recorder(top)
    sc.label_head = recorder
    with torch.no_grad():
        sc.generate(w_hat * keep, torch.randint(0, 12, (1, 64, 64)), None, keep)
        coded = sc.g_s.first_conv(w_hat * keep)
    label_channels = sc.label_features.layers[-1].out_channels
    assert recorder.context.shape[1] == 1 + label_channels + top * (1 + context_head)
    assert torch.equal(recorder.context[:, :1], keep.float())
    if context_head:
        kept_features = recorder.context[:, -top:]
        assert torch.allclose(kept_features, keep * coded, atol=1e-6)  # channels-last order
        assert (
            not kept_features[(~keep).expand_as(coded)].any() and coded[keep.expand_as(coded)].any()
        )


def test_kept_correction_starts_at_the_context_head_and_corrects_only_kept_blocks() -> None:
    """``kept_correction`` adds ``Δ`` to GC's features where a block is kept: it starts at 0
    (the picture of the same context head without it), a non-zero ``Δ`` changes the picture
    of a partly kept file, and a file that keeps everything is GC's whatever ``Δ``."""
    corrected = tiny(gated_input=1, context_head=1, kept_correction=1)
    plain = tiny(gated_input=1, context_head=1)
    top = plain.g_s.layers[0][1].out_channels
    state = corrected.state_dict()
    last = [k for k in state if k.startswith("label_head.")][-2:]  # the last conv's weight, bias
    plain.load_state_dict({k: v[:top] if k in last else v for k, v in state.items()})
    torch.manual_seed(4)
    w_hat = torch.randint(-2, 3, (1, 4, 4, 4)).float()
    labels = torch.randint(0, 12, (1, 64, 64))
    keep = torch.zeros(1, 1, 4, 4, dtype=torch.bool)
    keep[..., 1:3, 1:3] = True
    everything = torch.ones_like(keep)
    with torch.no_grad():
        start = corrected.generate(w_hat * keep, labels, None, keep)
        assert torch.allclose(start, plain.generate(w_hat * keep, labels, None, keep), atol=1e-6)
        gc_picture = corrected.generate(w_hat, labels, None, everything)
        state[last[1]][top:] = 0.5  # Δ = 0.5 everywhere
        corrected.load_state_dict(state)
        moved = corrected.generate(w_hat * keep, labels, None, keep)
        assert not torch.allclose(moved, start, atol=1e-3)
        assert torch.equal(corrected.generate(w_hat, labels, None, everything), gc_picture)


def test_gated_input_is_for_sc_alone_and_excludes_mask_input() -> None:
    with pytest.raises(ValueError, match="gated_input is for SC"):
        GenerativeModel(channels=4, width=4, blocks=1, gated_input=True)
    with pytest.raises(ValueError, match="drop mask_input"):
        tiny(mask_input=1, gated_input=1)
    with pytest.raises(ValueError, match="gated_input is 0 or 1"):
        tiny(gated_input=2)
    with pytest.raises(ValueError, match="context_head is the gated input's label head"):
        tiny(context_head=1)
    with pytest.raises(ValueError, match="kept_correction is an output of the context head"):
        tiny(gated_input=1, kept_correction=1)
    with pytest.raises(ModelError, match="pass labels"):  # even where everything is kept
        tiny(gated_input=1).generate(torch.zeros(1, 4, 2, 2), None, None, None)


@pytest.mark.parametrize("quality", [1, 2])
def test_shipped_sc_files_carry_shipped_gcs_latent_where_everything_is_kept(quality) -> None:
    """Each shipped gan-sc runs the shipped gan-gc's frozen network behind its gated input:
    a file that keeps everything holds GC's latent sections byte for byte and decodes to GC's
    very pixels, and one that keeps the cars holds fewer latent bytes. Reshipping one model
    without the other breaks this."""
    pixels, labels, _ = camvid_pair()
    gc, sc = zoo.load_model("gan-gc", quality), zoo.load_model("gan-sc", quality)
    latent = (SectionTag.TABLES, SectionTag.LATENT)

    def latent_sections(data: bytes) -> list[bytes]:
        container = unpack(data)
        return [s for s, t in zip(container.sections, container.tags, strict=True) if t in latent]

    gc_data = codec.encode(pixels, gc)
    sc_data = codec.encode(pixels, sc, side={"labels": labels})
    gc_file = latent_sections(gc_data)
    assert latent_sections(sc_data) == gc_file
    gc_pixels = codec.decode_pixels(codec.read(gc_data), gc)
    assert np.array_equal(codec.decode_pixels(codec.read(sc_data), sc), gc_pixels)
    cars = KeepRule(classes=parse_classes("car", CAMVID_CLASSES))
    kept = latent_sections(codec.encode(pixels, sc, side={"labels": labels, "keep": cars}))
    assert 0 < sum(map(len, kept)) < sum(map(len, gc_file))


def test_sc_trained_on_gcs_frozen_encoder_codes_gcs_latent(tmp_path) -> None:
    """``init_only`` takes GC's encoder alone (the generator keeps its own start) and, frozen,
    the SC run's encoder is still GC's after training: where SC keeps a block, its latent is
    GC's."""
    gc = tiny("gan-gc")
    with torch.no_grad():
        for tensor in gc.parameters():
            tensor.add_(0.1 * torch.randn_like(tensor))  # a GC unlike SC's fresh start
    path = tmp_path / "gc.safetensors"
    export_weights(gc, path, {"model_config": gc.config})
    load_weights(gc, path)  # fp16-rounded, as SC will read it
    started = load_weights(tiny("gan-sc"), path, partial=True, only=("g_a",)).state_dict()
    for name, tensor in tiny("gan-sc").state_dict().items():
        source = gc.state_dict() if name.startswith("g_a.") else None
        assert torch.equal(tensor if source is None else source[name], started[name]), name
    config = gan_config(tmp_path / "run", "gan-sc", CAMVID / "train", 1, init_from=path,
                        init_partial=True, init_only=("g_a",), freeze=("g_a",))  # fmt: skip
    config.quality = 2  # tiny()'s C = 4
    result = train(config)
    assert result.manifest["init_only"] == ["g_a"]
    sc = load_weights(tiny("gan-sc"), result.weights)  # fp16 export, as GC's source was
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(gc.g_a(x), sc.g_a(x))
    with pytest.raises(ModelError, match="share no tensor named g_x\\*"):
        load_weights(tiny("gan-sc"), path, partial=True, only=("g_x",))
    with pytest.raises(ModelError, match="partial"):
        load_weights(tiny("gan-sc"), path, only=("g_a",))
    with pytest.raises(ValueError, match="init_partial"):
        gan_config(tmp_path, "gan-sc", CAMVID / "train", 1, init_only=("g_a",))
    with pytest.raises(ModelError, match="needs a .safetensors export"):
        init_weights(tiny("gan-sc"), config.out / "checkpoint.pt", True, ("g_a",))


def gan_config(tmp_path: Path, model: str, data: Path, steps: int, **extra) -> TrainConfig:
    return TrainConfig(
        model=model, quality=1, data=data, out=tmp_path, steps=steps, crop=64, batch_size=2,
        num_workers=0, log_every=1, checkpoint_every=2, calibration_crops=1,
        model_args={"width": 4, "blocks": 1},
        objective_args={"warmup": 0.5, "d_width": 4}, **extra,
    )  # fmt: skip


def test_sc_training_warms_up_then_alternates_and_exports_no_discriminator(tmp_path) -> None:
    terms = {}
    for fm_mask in (0, 1):
        config = gan_config(tmp_path / str(fm_mask), "gan-sc", CAMVID / "train", 4)
        config.objective_args["fm_mask"] = fm_mask
        result = train(config)
        rows = (config.out / "log.csv").read_text().splitlines()
        header = rows[0].split(",")
        columns = [[float(v) for v in r.split(",")] for r in rows[1:]]
        terms[fm_mask] = {name: [c[header.index(name)] for c in columns] for name in header}
        gan = terms[fm_mask]["discriminator"]
        assert gan[:2] == [0.0, 0.0] and all(v > 0 for v in gan[2:])
    assert terms[0]["mse_term"][:3] == terms[1]["mse_term"][:3]  # same until FM first differs
    assert terms[0]["feature_matching"][2] != terms[1]["feature_matching"][2]
    with safe_open(str(result.weights), framework="pt") as handle:
        keys = list(handle.keys())
    assert keys and not any("discriminator" in k for k in keys)
    assert result.manifest["calibration"] is None  # no network decides a probability
    assert any(k.startswith("label_features") for k in keys)


def test_gan_training_resumes_exactly_with_both_optimizers(tmp_path) -> None:
    """Adversarial from the start and no learning-rate drop before the end, so that the first
    two steps of a 4-step run are a 2-step run; the resumed half needs the discriminator's
    weights and both Adam states back."""

    def config(out: Path, steps: int, **extra) -> TrainConfig:
        result = gan_config(out, "gan-gc", CAMVID / "train", steps, lr_drops=(1.0,), **extra)
        result.objective_args = {"warmup": 0.0, "d_width": 4}
        return result

    whole = train(config(tmp_path / "a", 4)).model
    train(config(tmp_path / "b", 2))
    resumed = train(config(tmp_path / "b", 4, resume=True)).model
    for (name, a), b in zip(whole.state_dict().items(), resumed.state_dict().values(), strict=True):
        assert torch.equal(a, b), name


def test_norm_stats_is_logged_for_the_gated_generator_alone(tmp_path) -> None:
    """``norm_stats`` is logged, non-zero once a crop drops a block, only with the gated SC
    generator (a GC run or an ungated SC refuses it), and a weight >= 0."""
    config = gan_config(tmp_path / "gated", "gan-sc", CAMVID / "train", 2)
    config.model_args |= {"gated_input": 1, "context_head": 1}
    config.objective_args["norm_stats"] = 1.0
    train(config)
    rows = (config.out / "log.csv").read_text().splitlines()
    column = rows[0].split(",").index("norm_stats")
    assert all(float(r.split(",")[column]) > 0 for r in rows[1:])
    for model, args in (("gan-gc", {}), ("gan-sc", {"mask_input": 1})):
        other = gan_config(tmp_path / model, model, CAMVID / "train", 2)
        other.model_args |= args
        other.objective_args["norm_stats"] = 1.0
        with pytest.raises(ModelError, match="norm_stats compares the gated SC generator"):
            train(other)
    config.objective_args["norm_stats"] = -1.0
    config.out = tmp_path / "negative"
    with pytest.raises(ModelError, match="norm_stats is a weight >= 0, got -1.0"):
        train(config)


def test_unknown_objective_arguments_are_refused(tmp_path) -> None:
    config = gan_config(tmp_path, "gan-gc", CAMVID / "train", 2)
    config.objective_args = {"warmpu": 0.1}
    with pytest.raises(ModelError, match="warmpu"):
        train(config)
    for key, message in (("warmup", "a fraction of the steps"), ("keep_all", "a probability")):
        config.objective_args = {key: 1.5}
        with pytest.raises(ModelError, match=f"{key} is {message} in \\[0, 1\\], got 1.5"):
            train(config)
    config.objective_args = {"fm_mask": 0.5}
    with pytest.raises(ModelError, match="fm_mask is 0 or 1, got 0.5"):
        train(config)


# -- realism metrics ----------------------------------------------------------------------------


def test_realism_metrics_rank_a_blurred_picture_below_the_original() -> None:
    original = np.asarray(Image.open(KODAK / "kodim05.png").convert("RGB"))
    blurred = np.asarray(
        Image.fromarray(original).resize((192, 128)).resize((768, 512), Image.Resampling.BICUBIC)
    )
    same = realism_metrics(original, original)
    worse = realism_metrics(original, blurred)
    assert set(same) == {"brisque", "niqe", "butteraugli", "ssimulacra2"}
    assert same["butteraugli"] == 0 and same["ssimulacra2"] == pytest.approx(100)
    assert worse["butteraugli"] > 5 and worse["ssimulacra2"] < 30
    assert worse["brisque"] > same["brisque"] + 20 and worse["niqe"] > same["niqe"] + 2
    assert 2 < same["niqe"] < 5  # natural photographs score about 3


def test_niqe_needs_two_scales_of_blocks() -> None:
    with pytest.raises(ValueError, match="96"):
        niqe(random_image(90, 300, 0))


def _ddp_worker(rank: int, port: int, out: Path) -> None:
    os.environ.update(
        RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE="2",
        MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port),
    )  # fmt: skip
    torch.set_num_threads(1)
    config = gan_config(out / "run", "gan-sc", CAMVID / "train", 3)
    config.objective_args = {"warmup": 0.34, "d_width": 4}
    torch.save(train(config).model.state_dict(), out / f"rank{rank}.pt")


def test_gan_training_runs_data_parallel_with_identical_weights(tmp_path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    mp.spawn(_ddp_worker, args=(port, tmp_path), nprocs=2, join=True)
    first = torch.load(tmp_path / "rank0.pt", weights_only=True)
    second = torch.load(tmp_path / "rank1.pt", weights_only=True)
    assert all(torch.equal(value, second[key]) for key, value in first.items())


def test_the_python_api_passes_side_inputs(sc_weights) -> None:
    pixels, labels, _ = camvid_pair()
    keep = KeepRule(classes=frozenset({8}))
    data = licodec.compress(pixels, weights=sc_weights, model="gan-sc", quality=2,
                            labels=labels, keep=keep)  # fmt: skip
    assert unpack(data).tags[:2] == (SectionTag.LABELS, SectionTag.MASK)
    assert licodec.decompress(data, weights=sc_weights).size == (480, 360)


def lpips_file(path: Path) -> Path:
    """Seeded LPIPS weights in the documented layout (AlexNet features + lin heads)."""
    torch.manual_seed(0)
    model = Lpips()
    state = {k[len("net.") :]: v for k, v in model.state_dict().items() if k.startswith("net.")}
    for i, lin in enumerate(model.lins):
        state[f"lin{i}.model.1.weight"] = lin.weight.detach().abs()
    torch.save(state, path)
    return path


def test_lpips_runs_from_a_weights_file_and_names_what_is_missing(tmp_path) -> None:
    distance = Lpips.from_file(lpips_file(tmp_path / "lpips.pth"))
    image = np.asarray(Image.open(KODAK / "kodim05.png").convert("RGB"))[:128, :128]
    noisy = np.clip(image + np.random.default_rng(0).normal(0, 20, image.shape), 0, 255)
    assert distance.distance(image, image) == 0
    assert distance.distance(image, noisy.astype(np.uint8)) > 0
    state = torch.load(tmp_path / "lpips.pth")
    del state["lin3.model.1.weight"]
    torch.save(state, tmp_path / "partial.pth")
    with pytest.raises(ModelError, match="lack lins.3.weight"):
        Lpips.from_file(tmp_path / "partial.pth")
    with pytest.raises(ModelError, match="cannot read LPIPS weights"):
        Lpips.from_file(tmp_path / "absent.pth")


def test_eval_reports_realism_keys_for_gan_models(tmp_path) -> None:
    path = tmp_path / "kodim05.png"
    Image.open(KODAK / "kodim05.png").crop((0, 0, 256, 160)).save(path)
    row = measure_image(tiny("gan-gc"), path, realism=True, lpips=Lpips.from_file(
        lpips_file(tmp_path / "lpips.pth")))  # fmt: skip
    assert {"brisque", "butteraugli", "ssimulacra2", "lpips", "psnr-rgb", "bpp"} <= set(row)
    assert "niqe" not in row  # 160 rows: below two scales of 96-pixel blocks


def test_eval_finds_the_label_map_beside_each_picture() -> None:
    _, _, frame = camvid_pair()
    row = measure_image(tiny(), frame)
    assert row["bpp"] > 8 * len(encode_label_map(camvid_pair()[1], 12)) / (480 * 360)


@pytest.mark.parametrize("margin", [0, 2])
def test_the_decoded_latent_is_the_encoders_with_the_mask_applied(margin) -> None:
    model = tiny()
    pixels, labels, _ = camvid_pair()
    keep = KeepRule(classes=frozenset({8}), margin=margin)
    data = codec.encode(pixels, model, side={"labels": labels, "keep": keep})
    container = unpack(data)
    w_hat = model.decompress_latent(list(container.sections), 360, 480)
    mask = keep.latent_mask(labels, 360, 480, 16)
    assert w_hat.shape == (1, 4, *mask.shape)
    assert (w_hat[0][:, ~mask] == 0).all() and w_hat[0][:, mask].abs().sum() > 0
    x = torch.from_numpy(pixels.copy()).permute(2, 0, 1)[None].float() / 255
    expected = model.latent_codec.quantizer.quantize(model.analyze(*model.padded(model.picture(x))))
    assert torch.equal(w_hat[0][:, mask], expected[0][:, mask])
    plain = KeepRule(classes=frozenset({8}), margin=0).latent_mask(labels, 360, 480, 16)
    assert mask.sum() > plain.sum() if margin else np.array_equal(mask, plain)
