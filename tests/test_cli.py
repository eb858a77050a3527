"""The licodec command: real files through encode/decode/info, one-line errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from conftest import random_image, seeded_model
from PIL import Image

from licodec.app import codec, zoo
from licodec.app.weights import export_weights
from licodec.cli.main import main
from licodec.core.image import to_pixels


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> str:
    """Untrained mbt2018-mean q1 weights with a small architecture, as a file."""
    model = seeded_model("mbt2018-mean", 1, n=32, m=48)
    last = [m for m in model.g_a.modules() if isinstance(m, torch.nn.Conv2d)][-1]
    with torch.no_grad():  # latents of a few units: the decoded picture is not flat
        last.weight.mul_(30)
        last.bias.mul_(30)
    path = tmp_path_factory.mktemp("weights") / "mbt2018-mean-q1.safetensors"
    export_weights(model, path, {"model_config": model.config})
    return str(path)


def test_encode_decode_info_round_trip(tmp_path, weights, capsys) -> None:
    source = tmp_path / "in.png"
    Image.fromarray(random_image(37, 53)).save(source)
    lic, out = tmp_path / "in.lic", tmp_path / "out.png"
    assert (
        main(["encode", str(source), "-o", str(lic), "--quality", "1", "--weights", weights]) == 0
    )
    printed = capsys.readouterr().out
    assert f"{lic.stat().st_size} bytes" in printed
    assert main(["decode", str(lic), "-o", str(out), "--weights", weights]) == 0
    decoded = np.asarray(Image.open(out))
    model = zoo.load_model("mbt2018-mean", 1, weights)
    assert np.array_equal(decoded, to_pixels(codec.reconstruct(source, model)))
    capsys.readouterr()
    assert main(["info", str(lic), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["bytes"] == lic.stat().st_size
    assert (info["model"], info["quality"], info["width"], info["height"]) == (
        "mbt2018-mean",
        1,
        53,
        37,
    )
    assert info["bpp"] == pytest.approx(lic.stat().st_size * 8 / (37 * 53))


def test_bad_inputs_exit_2_with_one_line(tmp_path, weights, capsys) -> None:
    junk = tmp_path / "junk.lic"
    junk.write_bytes(b"\x89LIC" + bytes(40))
    cases = [
        (["decode", str(junk), "--weights", weights], "CRC32"),
        (["info", str(tmp_path / "missing.lic")], "missing.lic"),
        (
            ["encode", str(tmp_path / "missing.png"), "--weights", weights, "--quality", "1"],
            "no such image",
        ),
        (["encode", str(junk), "--model", "nope", "--quality", "1"], "unknown model 'nope'"),
    ]
    for argv, message in cases:
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("licodec: error:") and message in err
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_missing_weights_name_the_fix(tmp_path, capsys) -> None:
    source = tmp_path / "in.png"
    Image.fromarray(random_image(8, 8)).save(source)
    assert main(["encode", str(source), "--model", "bmshj2018-factorized", "--quality", "8"]) == 2
    assert "--weights" in capsys.readouterr().err
