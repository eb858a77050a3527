"""Training: data pipeline, a short run end to end, exact resume and 2-process DDP on CPU."""

from __future__ import annotations

import csv
import json
import os
import socket
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp
from PIL import Image
from safetensors import safe_open

from licodec.app import data as data_module
from licodec.app.data import ImageFolderCrops, ShardedStreamSampler
from licodec.app.training import TrainConfig, train
from licodec.app.weights import load_weights, manifest_path
from licodec.errors import ModelError
from licodec.models import build

SMALL = {"n": 16, "m": 16}


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six small smooth RGB/grayscale PNGs and JPEGs in a nested folder, plus a text file."""
    root = tmp_path_factory.mktemp("images")
    (root / "nested").mkdir()
    rng = np.random.default_rng(1)
    for i in range(6):
        height, width = 72 + 8 * i, 96 - 4 * i
        yy, xx = np.mgrid[0:height, 0:width]
        phase = rng.random(3) * 6
        pixels = np.stack([np.sin(xx / (5 + i) + yy / 7 + p) for p in phase], axis=-1)
        pixels = ((pixels + 1) * 127.5).astype(np.uint8)
        image = Image.fromarray(pixels)
        if i == 1:
            image = image.convert("L")
        folder = root / "nested" if i % 2 else root
        image.save(folder / (f"im{i}.jpg" if i == 2 else f"im{i}.png"), quality=95)
    (root / "notes.txt").write_text("not an image")
    return root


def _config(images: Path, out: Path, **kwargs: object) -> TrainConfig:
    options = {
        "crop": 64,
        "batch_size": 2,
        "steps": 3,
        "num_workers": 0,
        "log_every": 1,
        "checkpoint_every": 2,
        "model_args": SMALL,
        "calibration_crops": 8,
        **kwargs,
    }
    return TrainConfig("mbt2018-mean", 1, images, out, **options)


def test_crops_are_deterministic_rgb_and_in_range(images: Path, tmp_path: Path) -> None:
    dataset = ImageFolderCrops(images, crop=64, seed=3)
    assert len(dataset) == 6
    for index in range(len(dataset)):
        crop = dataset[index]
        assert crop.shape == (3, 64, 64) and crop.dtype == torch.float32
        assert 0 <= crop.min() and crop.max() <= 1
    assert torch.equal(dataset[(2, 5)], dataset[(2, 5)])
    assert not torch.equal(dataset[(2, 5)], dataset[(2, 6)])
    draws = [dataset[5] for _ in range(4)]  # plain keys: fresh draws every time
    assert not all(torch.equal(draws[0], draw) for draw in draws[1:])
    gray = dataset[[p.name for p in dataset.files].index("im1.png")]
    assert torch.equal(gray[0], gray[1]) and torch.equal(gray[1], gray[2])

    Image.new("RGB", (40, 30), (10, 200, 30)).save(tmp_path / "tiny.png")
    padded = ImageFolderCrops(tmp_path, crop=64)[0]
    assert padded.shape == (3, 64, 64)
    assert torch.allclose(padded[:, 0, 0], torch.tensor([10, 200, 30]) / 255)


def test_sampler_shards_epochs_and_resumes_mid_stream() -> None:
    def take(sampler: ShardedStreamSampler, count: int) -> list[tuple[int, int]]:
        stream = iter(sampler)
        return [next(stream) for _ in range(count)]

    ranks = [take(ShardedStreamSampler(11, seed=4, rank=r, world_size=2), 10) for r in range(2)]
    first_epoch = [index for rank in ranks for index, epoch in rank if epoch == 0]
    assert len(first_epoch) == len(set(first_epoch)) == 10
    assert [epoch for _, epoch in ranks[0]] == [0] * 5 + [1] * 5
    resumed = take(ShardedStreamSampler(11, seed=4, rank=1, world_size=2, start=3), 7)
    assert resumed == ranks[1][3:]


def test_short_run_writes_outputs_and_exports_loadable_weights(
    images: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    result = train(_config(images, out))
    assert (out / "checkpoint.pt").is_file()
    with open(out / "log.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(row["step"]) for row in rows] == [1, 2, 3]
    assert set(rows[0]) == {"step", "loss", "bpp", "mse", "psnr", "lr", "seconds"}
    assert all(np.isfinite(float(row["loss"])) for row in rows)
    assert result.weights == out / "mbt2018-mean-q1.safetensors"
    assert result.manifest == json.loads(manifest_path(result.weights).read_text())
    assert result.manifest["steps"] == 3 and result.manifest["lmbda"] == 0.0018
    assert result.manifest["final_train"]["step"] == 3
    checkpoint = torch.load(out / "checkpoint.pt", weights_only=True)
    assert checkpoint["hardware"] == result.manifest["hardware"]

    with safe_open(result.weights, framework="pt") as stored:
        dtypes = {key: stored.get_tensor(key).dtype for key in stored.keys()}
    assert dtypes["g_a.0.weight"] == torch.float16
    assert dtypes["latent_codec.y_codec.head.conditional._counts"] == torch.int32
    assert dtypes["latent_codec.y_codec.head.conditional.scale_table"] == torch.float64

    model = load_weights(build("mbt2018-mean", 1, **SMALL), result.weights).eval()
    for key, value in result.model.state_dict().items():
        assert torch.equal(model.state_dict()[key], value), key
    assert model.calibrated and model.integer_path
    x = ImageFolderCrops(images, crop=64)[0][None, :, :60, :50]
    coded = model.compress(x, reconstruct=True)
    assert torch.equal(model.decompress(coded, 60, 50).tensor, coded.reconstruction.tensor)

    with pytest.raises(ModelError, match="shape"):
        load_weights(build("mbt2018-mean", 1, n=16, m=24), result.weights)
    with pytest.raises(ModelError, match="cannot read"):
        load_weights(model, tmp_path / "missing.safetensors")

    tuned = train(_config(images, tmp_path / "tuned", steps=1, init_from=result.weights))
    assert tuned.manifest is not None and tuned.manifest["init_from"] == str(result.weights)
    continued = train(_config(images, tmp_path / "tuned", steps=2, resume=True))
    assert continued.manifest is not None and continued.manifest["init_from"] == str(result.weights)
    with pytest.raises(ValueError, match="resume"):
        train(_config(images, out))


class _Interrupted(Exception):
    pass


def test_resume_reaches_the_same_state_as_an_uninterrupted_run(
    images: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    straight = tmp_path / "straight"
    train(_config(images, straight, steps=4))

    interrupted = tmp_path / "interrupted"
    load = ImageFolderCrops.__getitem__
    calls = []

    def crash_on_step_three(self: ImageFolderCrops, key: data_module.Key) -> torch.Tensor:
        calls.append(key)
        if len(calls) > 4:  # two steps of two crops, then the "machine fails"
            raise _Interrupted
        return load(self, key)

    monkeypatch.setattr(ImageFolderCrops, "__getitem__", crash_on_step_three)
    with pytest.raises(_Interrupted):
        train(_config(images, interrupted, steps=4))
    monkeypatch.undo()
    assert torch.load(interrupted / "checkpoint.pt", weights_only=True)["step"] == 2
    train(_config(images, interrupted, steps=4, resume=True))

    a = torch.load(straight / "checkpoint.pt", weights_only=True)
    b = torch.load(interrupted / "checkpoint.pt", weights_only=True)
    assert a["step"] == b["step"] == 4
    for key, value in a["model"].items():
        assert torch.equal(value, b["model"][key]), key
    optimizer_a = a["objective"]["optimizers"]["model"]
    optimizer_b = b["objective"]["optimizers"]["model"]
    for index, state in optimizer_a["state"].items():
        for name, value in state.items():
            assert torch.equal(value, optimizer_b["state"][index][name]), (index, name)
    with open(interrupted / "log.csv", newline="") as handle:
        assert [int(row["step"]) for row in csv.DictReader(handle)] == [1, 2, 3, 4]


def test_resume_with_more_steps_follows_the_longer_schedule(images: Path, tmp_path: Path) -> None:
    # steps=10 drops the rate after steps 8 and 10 (80 % and 95 %), steps=2 after step 2:
    # a 2-step run extended to 10 must go on as the 10-step run, without the 2-step drop.
    straight = tmp_path / "straight"
    train(_config(images, straight, steps=10))
    extended = tmp_path / "extended"
    train(_config(images, extended, steps=2))
    train(_config(images, extended, steps=10, resume=True))
    a = torch.load(straight / "checkpoint.pt", weights_only=True)
    b = torch.load(extended / "checkpoint.pt", weights_only=True)
    assert a["step"] == b["step"] == 10
    lr_a = a["objective"]["optimizers"]["model"]["param_groups"][0]["lr"]
    lr_b = b["objective"]["optimizers"]["model"]["param_groups"][0]["lr"]
    assert lr_a == pytest.approx(1e-4 * 0.01) and lr_b == lr_a
    for key, value in a["model"].items():
        assert torch.equal(value, b["model"][key]), key


def _ddp_worker(rank: int, world_size: int, port: int, images: Path, out: Path) -> None:
    os.environ.update(
        RANK=str(rank),
        LOCAL_RANK=str(rank),
        WORLD_SIZE=str(world_size),
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
    )
    torch.set_num_threads(1)
    result = train(_config(images, out / "run", steps=3))
    torch.save(result.model.state_dict(), out / f"rank{rank}.pt")


def test_ddp_two_cpu_processes_end_with_identical_weights(images: Path, tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    mp.spawn(_ddp_worker, args=(2, port, images, tmp_path), nprocs=2, join=True)
    first = torch.load(tmp_path / "rank0.pt", weights_only=True)
    second = torch.load(tmp_path / "rank1.pt", weights_only=True)
    for key, value in first.items():
        assert torch.equal(value, second[key]), key
    manifest = json.loads(
        manifest_path(tmp_path / "run" / "mbt2018-mean-q1.safetensors").read_text()
    )
    assert manifest["batch"] == {"per_process": 2, "processes": 2, "global": 4}


def test_partial_init_warm_starts_another_model(images: Path, tmp_path: Path) -> None:
    source = train(_config(images, tmp_path / "mean", steps=1)).weights
    with pytest.raises(ModelError, match="hold mbt2018-mean q1, not mbt2018-ckbd q1"):
        load_weights(build("mbt2018-ckbd", 1, **SMALL), source)
    config = _config(images, tmp_path / "ckbd", steps=1, init_from=source, init_partial=True)
    config.model = "mbt2018-ckbd"
    result = train(config)
    stored = load_weights(build("mbt2018-mean", 1, **SMALL), source)
    assert result.manifest["init_partial"] and result.manifest["init_from"] == str(source)
    # One step from the same start: shared analysis weights moved, but only a little.
    first = "g_a.0.weight"
    delta = (result.model.state_dict()[first] - stored.state_dict()[first]).abs().max()
    assert 0 < delta < 1e-3


def test_export_names_the_hardware_that_trained_not_the_exporter(
    images: Path, tmp_path: Path
) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
    from export_checkpoint import main as export_checkpoint

    out = tmp_path / "run"
    train(_config(images, out))
    state = torch.load(out / "checkpoint.pt", weights_only=True)
    state["hardware"] = "8x CPU Trainer (1 threads)"  # as if trained on another machine
    torch.save(state, out / "checkpoint.pt")
    exported = tmp_path / "mbt2018-mean-q1.safetensors"
    export_checkpoint(out / "checkpoint.pt", exported)
    assert json.loads(manifest_path(exported).read_text())["hardware"] == state["hardware"]
