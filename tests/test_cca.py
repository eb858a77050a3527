"""The cross-component YUV 4:2:0 codec: its layers, files, flags, integer path and training
seam."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import random_image
from PIL import Image
from test_context_models import kodak
from test_integer_path import assert_decodes_identically_everywhere, latents
from torch import nn

import licodec
from licodec.app import codec, zoo
from licodec.app.evaluate import measure_image_yuv420
from licodec.app.training import TrainConfig
from licodec.app.training.objectives import RateDistortion, plane_mse
from licodec.app.weights import export_weights
from licodec.cli.main import main
from licodec.components.layers.attention import AttentionBlock
from licodec.components.layers.cross_component import (
    CrossComponentEnhancement,
    InformationGuide,
)
from licodec.components.layers.gdn import GDN
from licodec.components.layers.residual import ResidualBlockUpsample, ResidualBlockWithStride
from licodec.core.bitstream import unpack
from licodec.core.colour import CodedFormat, ColourMode
from licodec.core.picture import Picture
from licodec.core.yuv import (
    YuvPlanes,
    picture_to_planes,
    planes_to_picture,
    read_y4m,
    read_yuv,
    rgb_to_yuv420,
    rgb_to_yuv420_batch,
    write_y4m,
    y4m_bytes,
)
from licodec.errors import BitstreamError, ModelError
from licodec.models import CompressionModel, build
from licodec.models.cca import ENHANCE_UV, ENHANCE_Y


def loud_cca(**overrides) -> CompressionModel:
    """A small seeded cca-yuv420 whose latents and scales are a few units wide, calibrated."""
    torch.manual_seed(0)
    model = build("cca-yuv420", 2, n=16, m=16, **overrides).eval()
    y_codec = model.latent_codec.y_codec
    with torch.no_grad():
        model.g_a.fusion[0].weight.mul_(30)
        model.g_a.fusion[0].bias.mul_(30)
        y_codec.entropy_parameters[-1].bias[y_codec.head.scale_slice(y_codec.channels)] = 2.0
    model.update()
    model.calibrate([torch.from_numpy(random_image(64, 64, seed)).permute(2, 0, 1)[None] / 255
                     for seed in range(3)])  # fmt: skip
    return model


@pytest.fixture(scope="module")
def cca() -> CompressionModel:
    return loud_cca()


def planes(height: int, width: int, seed: int = 0) -> YuvPlanes:
    return rgb_to_yuv420(random_image(height, width, seed))


def test_centred_planes_map_mid_grey_to_zero_and_back() -> None:
    torch.manual_seed(0)
    model = build("cca-yuv420", 2, n=16, m=16, chroma_gain=4)
    assert model.g_a.chroma_gain == model.g_s.chroma_gain == 4
    seen = {}
    model.g_a.luma_in.register_forward_hook(lambda m, inputs, out: seen.update(y=inputs[0]))
    model.g_a.chroma_in.register_forward_hook(lambda m, inputs, out: seen.update(uv=inputs[0]))
    y, uv = torch.full((1, 1, 32, 32), 0.75), torch.full((1, 2, 16, 16), 0.625)
    model.g_a(y, uv)
    assert torch.allclose(seen["y"], torch.tensor(0.25))
    assert torch.allclose(seen["uv"], torch.tensor(0.5))
    for last in (model.g_s.luma[-1], model.g_s.chroma[-1]):
        for p in last.parameters():
            torch.nn.init.zeros_(p)
    luma, chroma = model.g_s(torch.randn(1, 16, 2, 2))
    assert torch.equal(luma, torch.full_like(luma, 0.5))
    assert torch.equal(chroma, torch.full_like(chroma, 0.5))
    raw = build("cca-yuv420", 2, n=16, m=16)
    raw.g_a.luma_in.register_forward_hook(lambda m, inputs, out: seen.update(y=inputs[0]))
    raw.g_a(y, uv)
    assert torch.equal(seen["y"], y)
    with pytest.raises(ValueError, match="chroma_gain"):
        build("cca-yuv420", 2, n=16, m=16, chroma_gain=-1)


def test_luma_width_widens_only_the_luma_stream_at_half_resolution() -> None:
    torch.manual_seed(0)
    model = build("cca-yuv420", 2, n=16, m=16, luma_width=16)
    widths = {}
    for name in ("luma_in", "chroma_in"):
        getattr(model.g_a, name).register_forward_hook(
            lambda m, i, out, name=name: widths.update({name: out.shape[1]})
        )
    y, uv = rgb_to_yuv420_batch(kodak(64, 64))
    y_hat, uv_hat = model.train()(y, uv)["x_hat"]
    assert widths == {"luma_in": 16, "chroma_in": 8}
    assert y_hat.shape == y.shape and uv_hat.shape == uv.shape
    assert model.g_s.luma[-1][0].in_channels == 16 and model.g_s.chroma[-1].in_channels == 8
    narrow = build("cca-yuv420", 2, n=16, m=16)
    assert narrow.g_s.luma[-1][0].in_channels == 8  # 0: N/2, as every earlier model
    for bad in (-4, 6):
        with pytest.raises(ValueError, match="luma_width"):
            build("cca-yuv420", 2, n=16, m=16, luma_width=bad)


def test_residual_resampling_puts_gdn_blocks_at_every_resolution_change() -> None:
    torch.manual_seed(0)
    model = build("cca-yuv420", 2, n=16, m=16, residual_resampling=1)
    down = [m for m in model.g_a.modules() if isinstance(m, ResidualBlockWithStride)]
    up = [m for m in model.g_s.modules() if isinstance(m, ResidualBlockUpsample)]
    assert len(down) == 7 and len(up) == 6  # luma_in + 3 per stream; 3 per stream
    assert isinstance(model.g_a.chroma_in[0], nn.Conv2d)  # no resampling: the paper's conv
    y, uv = rgb_to_yuv420_batch(kodak(64, 64))
    y_hat, uv_hat = model.train()(y, uv)["x_hat"]
    assert y_hat.shape == y.shape and uv_hat.shape == uv.shape
    plain = build("cca-yuv420", 2, n=16, m=16)
    assert not any(isinstance(m, GDN) for m in plain.modules())  # 0: the paper's FABs
    with pytest.raises(ValueError, match="residual_resampling"):
        build("cca-yuv420", 2, n=16, m=16, residual_resampling=2)


def test_linear_fusion_leaves_the_latent_linear_in_the_last_features() -> None:
    torch.manual_seed(0)
    model = build("cca-yuv420", 2, n=16, m=16, linear_fusion=1)
    assert [type(m) for m in model.g_a.fusion] == [nn.Conv2d]
    features = torch.randn(2, 32, 4, 4)
    assert torch.allclose(
        model.g_a.fusion(-features),
        -model.g_a.fusion(features) + 2 * (model.g_a.fusion[0].bias.view(1, -1, 1, 1)),
        atol=1e-6,
    )
    torch.manual_seed(0)
    paper = build("cca-yuv420", 2, n=16, m=16)
    assert isinstance(paper.g_a.fusion[-1], nn.PReLU)  # 0: the paper's conv + PReLU
    shared = paper.state_dict()
    linear = model.state_dict()
    assert set(shared) - set(linear) == {"g_a.fusion.1.weight"}
    assert all(torch.equal(shared[k], v) for k, v in linear.items())  # a same-start twin
    y, uv = rgb_to_yuv420_batch(kodak(64, 64))
    assert model.train()(y, uv)["x_hat"][0].shape == y.shape
    with pytest.raises(ValueError, match="linear_fusion"):
        build("cca-yuv420", 2, n=16, m=16, linear_fusion=2)


def test_feature_attention_off_drops_fa_from_every_fab() -> None:
    def attention_blocks(model: nn.Module) -> int:
        return sum(isinstance(m, AttentionBlock) for m in model.modules())

    paper = build("cca-yuv420", 2, n=16, m=16)
    assert attention_blocks(paper.g_a) == 6 and attention_blocks(paper.g_s) == 4
    model = build("cca-yuv420", 2, n=16, m=16, feature_attention=0)
    assert attention_blocks(model) == 0
    y, uv = rgb_to_yuv420_batch(kodak(64, 64))
    y_hat, uv_hat = model.train()(y, uv)["x_hat"]
    assert y_hat.shape == y.shape and uv_hat.shape == uv.shape
    with pytest.raises(ValueError, match="feature_attention"):
        build("cca-yuv420", 2, n=16, m=16, feature_attention=-1)


def test_igu_attention_is_a_distribution_over_the_four_luma_subimages() -> None:
    torch.manual_seed(0)
    guide = InformationGuide(8)
    y, uv = torch.rand(2, 1, 16, 16), torch.rand(2, 2, 8, 8)
    fy, fuv = torch.randn(2, 8, 8, 8), torch.randn(2, 8, 8, 8)
    fy_out, fuv_out, attention = guide(y, uv, fy, fuv)
    assert attention.shape == (2, 4, 8, 8)
    assert torch.allclose(attention.sum(dim=1), torch.ones(2, 8, 8))
    assert torch.equal(fy_out, fy)  # one-way: luma is not changed
    changed_luma = y.clone()
    changed_luma[:, :, 0::2, 0::2] += 0.5  # sub-image 0 only
    assert not torch.allclose(guide(changed_luma, uv, fy, fuv)[1], fuv_out)
    two_way = InformationGuide(8, bidirectional=True)
    assert not torch.equal(two_way(y, uv, fy, fuv)[0], fy)


def test_acem_starts_as_the_identity_and_chroma_follows_the_luma() -> None:
    torch.manual_seed(0)
    acem = CrossComponentEnhancement()
    y, uv = torch.rand(1, 1, 15, 17), torch.rand(1, 2, 8, 9)  # odd luma: padded inside
    assert torch.equal(acem.enhance_luma(y), y)
    assert torch.equal(acem.enhance_chroma(y, uv), uv)
    with torch.no_grad():
        acem.chroma.body[-1].weight.normal_(0, 0.1)
    assert not torch.equal(acem.enhance_chroma(y, uv), acem.enhance_chroma(y * 0.5, uv))


def test_forward_gives_both_planes_and_the_training_loss_weights_luma() -> None:
    torch.manual_seed(0)
    model = build("cca-yuv420", 1, n=16, m=16)
    y, uv = rgb_to_yuv420_batch(kodak(64, 128))
    assert y.shape == (1, 1, 64, 128) and uv.shape == (1, 2, 32, 64)
    out = model.train()(y, uv)
    assert [p.shape for p in out["x_hat"]] == [y.shape, uv.shape]
    assert set(out["likelihoods"]) == {"y", "z"}
    decoded = (y + 0.1, uv)  # an error in luma only
    assert torch.isclose(
        plane_mse(decoded, (y, uv), model.distortion_weights), torch.tensor(0.0075)
    )
    assert model.distortion_weights == (0.75, 0.125, 0.125)


def test_the_rate_distortion_objective_trains_on_planes(tmp_path) -> None:
    torch.manual_seed(0)
    model = build("cca-yuv420", 1, n=16, m=16).train()
    config = TrainConfig(model="cca-yuv420", quality=1, data=tmp_path, out=tmp_path, lr=1e-3)
    objective = RateDistortion(model, config)
    x = kodak(64, 64).repeat(2, 1, 1, 1)
    first, *_, last = [objective.step(x) for _ in range(4)]
    assert float(last["loss"]) < float(first["loss"])
    with pytest.raises(ModelError, match="MSE only"):
        RateDistortion(model, TrainConfig(model="cca-yuv420", quality=1, data=tmp_path,
                                          out=tmp_path, metric="ms-ssim"))  # fmt: skip


@pytest.mark.parametrize("size", [(64, 64), (37, 53)])
def test_files_decode_to_the_encoders_reconstruction(cca, size) -> None:
    source = planes(*size, seed=1)
    data = codec.encode(source, cca)
    header = unpack(data).header
    assert (header.format, header.mode) == (CodedFormat.YUV420, ColourMode.YUV)
    decoded = codec.decode_planes(data, cca)
    expected = cca.compress(planes_to_picture(source), reconstruct=True).reconstruction
    reference = picture_to_planes(expected)
    for a, b in zip((decoded.y, decoded.u, decoded.v), (reference.y, reference.u, reference.v),
                    strict=True):  # fmt: skip
        assert np.array_equal(a, b)
    assert decoded.y.shape == size and decoded.u.shape == (-(-size[0] // 2), -(-size[1] // 2))


def test_files_decode_identically_in_any_setting(cca) -> None:
    source = rgb_to_yuv420((kodak(64, 128)[0].permute(1, 2, 0) * 255).round().byte().numpy())
    data = codec.encode(source, cca)
    assert torch.any(latents(cca, data) != 0)
    other = codec.encode(planes(64, 128, seed=8), cca)
    assert_decodes_identically_everywhere(cca, source, data, other)


def test_enhancement_flags_are_set_only_where_each_half_helps(cca, monkeypatch) -> None:
    source = planes(64, 64, seed=2)
    assert unpack(codec.encode(source, cca)).header.model_flags == 0  # identity: no gain
    target = planes_to_picture(source).planes
    plain = codec.decode_planes(codec.encode(source, cca), cca)
    acem = cca.enhancement
    monkeypatch.setattr(acem, "enhance_luma", lambda y: target[0].clone())  # perfect luma
    data = codec.encode(source, cca)
    assert unpack(data).header.model_flags == ENHANCE_Y
    decoded = codec.decode_planes(data, cca)
    assert np.array_equal(decoded.y, source.y) and np.array_equal(decoded.u, plain.u)
    worse = lambda y, uv: 2 * uv - target[1]  # noqa: E731 - twice as far (clamped: no nearer)
    monkeypatch.setattr(acem, "enhance_chroma", worse)
    assert unpack(codec.encode(source, cca)).header.model_flags == ENHANCE_Y
    monkeypatch.setattr(acem, "enhance_chroma", lambda y, uv: target[1].clone())
    data = codec.encode(source, cca)
    assert unpack(data).header.model_flags == ENHANCE_Y | ENHANCE_UV
    assert np.array_equal(codec.decode_planes(data, cca).v, source.v)
    cca.try_post_filter = False
    try:
        assert unpack(codec.encode(source, cca)).header.model_flags == 0
    finally:
        del cca.try_post_filter
    with pytest.raises(BitstreamError, match="model flags 0x04"):
        cca.check_model_flags(0x04)
    assert build("cca-yuv420", 1, n=16, m=16, acem=0).model_flag_bits == 0


def test_the_acem_runs_on_the_unclamped_synthesis_as_in_training(cca, monkeypatch) -> None:
    """The ACEM is trained on the synthesis' raw output (``reconstruct``): a synthesis that
    overshoots [0, 1] where the ACEM pulls it back must decode to the training path's planes,
    clamped once at the end (clamping before the ACEM decoded bright skies 30 levels dark)."""
    source = planes(64, 64, seed=5)
    synthesize, acem = cca.synthesize, cca.enhancement
    overshoot = lambda y_hat: tuple(3 * p - 1 for p in synthesize(y_hat))  # noqa: E731
    monkeypatch.setattr(cca, "synthesize", overshoot)
    monkeypatch.setattr(acem, "enhance_luma", lambda y: (y + 1) / 3)
    monkeypatch.setattr(acem, "enhance_chroma", lambda y, uv: (uv + 1) / 3)
    data = codec.encode(source, cca)
    assert unpack(data).header.model_flags == ENHANCE_Y | ENHANCE_UV
    with torch.no_grad():
        y_hat = cca.decompress_latent(unpack(data).sections, 64, 64)
        luma, chroma = (p.clamp(0, 1) for p in cca.reconstruct(y_hat))
        raw = synthesize(y_hat)
    decoded = codec.decode_planes(data, cca)
    expected = picture_to_planes(Picture((luma, chroma), CodedFormat.YUV420))
    assert np.array_equal(decoded.y, expected.y) and np.array_equal(decoded.v, expected.v)
    unfiltered = picture_to_planes(Picture(raw, CodedFormat.YUV420))
    assert np.array_equal(decoded.y, unfiltered.y)  # the overshoot undone exactly
    assert torch.any((3 * raw[0] - 1).abs() > 1)  # and there was one to undo


def test_shipped_weights_decode_a_flat_bright_picture_bright() -> None:
    """A flat patch at limited-range white (Y = 235, the sky of Kodak's kodim20) decodes
    within a few levels of it (clamping before the ACEM gave 255 or ~202)."""
    model = zoo.load_model("cca-yuv420", 4)
    white = YuvPlanes(np.full((64, 64), 235, np.uint8), *(np.full((32, 32), 128, np.uint8),) * 2)
    decoded = codec.decode_planes(codec.encode(white, model), model)
    assert abs(float(decoded.y.mean()) - 235) < 3


def test_rgb_input_is_converted_and_returned_as_rgb(cca, tmp_path) -> None:
    pixels = random_image(48, 80, seed=4)
    data = codec.encode(pixels, cca)
    assert unpack(data).header.mode == ColourMode.RGB
    image = codec.decode(data, cca)
    assert image.mode == "RGB" and image.size == (80, 48)
    y4m = tmp_path / "p.y4m"
    write_y4m(y4m, rgb_to_yuv420(pixels))
    assert codec.encode(y4m, cca) == codec.encode(rgb_to_yuv420(pixels), cca)


def test_planes_of_another_depth_or_format_are_refused(cca) -> None:
    ten = YuvPlanes(*(np.zeros(s, np.uint16) for s in ((8, 8), (4, 4), (4, 4))), bits=10)
    with pytest.raises(ModelError, match="codes YUV420 pictures, got YUV420_10"):
        codec.encode(ten, cca)
    with pytest.raises(ModelError, match="codes YUV420 pictures, got RGB444"):
        cca.compress(Picture.rgb(torch.rand(1, 3, 8, 8)))
    with pytest.raises(Exception, match="raw .yuv file does not say its size"):
        codec.encode("clip.yuv", cca)


def test_an_rgb_models_file_decodes_to_planes_too() -> None:
    torch.manual_seed(0)
    rgb = build("bmshj2018-factorized", 1).eval()
    source = planes(32, 48, seed=6)
    data = codec.encode(source, rgb)
    assert unpack(data).header.format == CodedFormat.RGB444
    decoded = codec.decode_planes(data, rgb)
    assert decoded.y.shape == (32, 48) and decoded.bits == 8


def test_yuv_models_are_evaluated_on_their_planes(cca, tmp_path) -> None:
    path = tmp_path / "p.png"
    Image.fromarray(random_image(64, 64, seed=7)).save(path)
    row = measure_image_yuv420(cca, path)
    assert {"bpp", "psnr-y", "psnr-u", "psnr-v", "psnr-yuv", "ms-ssim-y"} <= set(row)
    data = codec.encode(rgb_to_yuv420(random_image(64, 64, seed=7)), cca)
    assert row["bpp"] == pytest.approx(8 * len(data) / 64**2)


@pytest.fixture(scope="module")
def cca_weights(cca, tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("weights") / "cca-yuv420-q2.safetensors"
    export_weights(cca, path, {"model_config": cca.config})
    return str(path)


def test_cli_codes_y4m_and_yuv_and_writes_planes_by_suffix(cca_weights, tmp_path) -> None:
    source = planes(40, 56, seed=9)
    y4m, raw = tmp_path / "in.y4m", tmp_path / "in.yuv"
    write_y4m(y4m, source)
    raw.write_bytes(y4m_bytes(source).split(b"FRAME\n", 1)[1])
    lic, lic_raw = tmp_path / "a.lic", tmp_path / "b.lic"
    assert main(["encode", str(y4m), "-o", str(lic), "--weights", cca_weights]) == 0
    argv = ["encode", str(raw), "-o", str(lic_raw), "--size", "56x40", "--weights", cca_weights]
    assert main(argv) == 0
    assert lic.read_bytes() == lic_raw.read_bytes()
    model = zoo.load_model(None, None, cca_weights)
    expected = codec.decode_planes(lic.read_bytes(), model)
    for suffix, reader in ((".y4m", read_y4m), (".yuv", lambda p: read_yuv(p, 56, 40))):
        out = tmp_path / f"out{suffix}"
        assert main(["decode", str(lic), "-o", str(out), "--weights", cca_weights]) == 0
        decoded = reader(out)
        assert all(np.array_equal(getattr(decoded, c), getattr(expected, c)) for c in "yuv")
    png = tmp_path / "out.png"
    assert main(["decode", str(lic), "-o", str(png), "--weights", cca_weights]) == 0
    assert Image.open(png).mode == "RGB"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["in.yuv"], "needs --size WxH"),
        (["in.yuv", "--size", "56x41"], "not a whole number of 56x41"),
        (["in.yuv", "--size", "56"], "size is WxH"),
        (["bad.y4m"], "4:2:2"),
        (["in.png", "--size", "56x40"], "--size is for raw .yuv"),
    ],
)
def test_cli_refuses_bad_yuv_input_in_one_line(cca_weights, tmp_path, capsys, argv, message):
    source = planes(40, 56, seed=9)
    (tmp_path / "in.yuv").write_bytes(y4m_bytes(source).split(b"FRAME\n", 1)[1])
    (tmp_path / "bad.y4m").write_bytes(b"YUV4MPEG2 W4 H4 C422\nFRAME\n" + bytes(32))
    Image.fromarray(random_image(40, 56)).save(tmp_path / "in.png")
    argv = [str(tmp_path / argv[0]), *argv[1:]]
    code = main(["encode", *argv, "-o", str(tmp_path / "x.lic"), "--weights", cca_weights])
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err


def test_yuv_input_defaults_to_the_shipped_yuv_model(tmp_path) -> None:
    source = planes(32, 48, seed=10)
    y4m, lic = tmp_path / "a.y4m", tmp_path / "a.lic"
    write_y4m(y4m, source)
    assert main(["encode", str(y4m), "-o", str(lic)]) == 0
    assert unpack(lic.read_bytes()).header.model == zoo.DEFAULT_YUV_MODEL == "cca-yuv420"
    data = licodec.compress(source)
    assert data == lic.read_bytes()
    decoded = licodec.decompress_yuv(data)
    model = zoo.load_model(zoo.DEFAULT_YUV_MODEL, unpack(data).header.quality)
    expected = codec.decode_planes(data, model)
    assert all(np.array_equal(getattr(decoded, c), getattr(expected, c)) for c in "yuv")
    assert licodec.decompress(data).size == (48, 32)


def test_shared_synthesis_decodes_both_planes_from_one_stream() -> None:
    torch.manual_seed(0)
    model = build("cca-yuv420", 2, n=16, m=16, luma_width=16, shared_synthesis=1, acem=0)
    split = build("cca-yuv420", 2, n=16, m=16, luma_width=16)
    assert split.g_s.trunk is None  # 0: the paper's split into two streams
    assert model.g_s.split[0].out_channels == 16 and split.g_s.split[0].out_channels == 32
    assert isinstance(model.g_s.chroma, nn.Conv2d)  # a head, not a stream of its own
    y, uv = rgb_to_yuv420_batch(kodak(64, 64))
    y_hat, uv_hat = model.train()(y, uv)["x_hat"]
    assert y_hat.shape == y.shape and uv_hat.shape == uv.shape
    uv_hat.square().mean().backward()  # chroma's error trains the stream luma decodes from
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.g_s.trunk.parameters())
    assert model.g_s.luma[0].weight.grad is None  # (no ACEM: its chroma half reads Ŷ)
    with pytest.raises(ValueError, match="shared_synthesis"):
        build("cca-yuv420", 2, n=16, m=16, shared_synthesis=2)
