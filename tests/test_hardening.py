"""No data loss, bounded sizes and honest inputs, through the real command and the API."""

from __future__ import annotations

import io
import os
import struct
import sys
import threading
import zlib
from pathlib import Path

import numpy as np
import pytest
from conftest import random_image
from PIL import Image

import licodec
from licodec.cli.main import main
from licodec.core.bitstream import pack, unpack
from licodec.core.image import load_image
from licodec.errors import BitstreamError, ImageInputError


def one_line_error(capsys, message: str) -> None:  # noqa: ANN001
    err = capsys.readouterr().err
    assert err.startswith("licodec: error:") and message in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


@pytest.fixture()
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "photo.png"
    Image.fromarray(random_image(40, 56)).save(path)
    return path


def test_encode_then_decode_leaves_the_original_untouched(photo: Path, capsys) -> None:
    original = photo.read_bytes()
    assert main(["encode", str(photo), "--quality", "1"]) == 0
    assert main(["decode", str(photo.with_suffix(".lic"))]) == 0
    assert photo.read_bytes() == original
    decoded = photo.with_name("photo.decoded.png")
    assert Image.open(decoded).size == (56, 40)
    capsys.readouterr()
    # Existing outputs are kept unless -f is given.
    before = decoded.read_bytes()
    assert main(["decode", str(photo.with_suffix(".lic"))]) == 2
    one_line_error(capsys, "photo.decoded.png exists: pass -f/--force")
    assert decoded.read_bytes() == before
    assert main(["encode", str(photo), "--quality", "1"]) == 2
    one_line_error(capsys, "photo.lic exists")
    assert main(["decode", str(photo.with_suffix(".lic")), "-f"]) == 0
    assert sorted(p.name for p in photo.parent.iterdir()) == [
        "photo.decoded.png", "photo.lic", "photo.png",
    ]  # fmt: skip


def test_symlinks_are_written_through_and_fifos_never_replaced(photo: Path, capsys) -> None:
    lic = photo.with_suffix(".lic")
    assert main(["encode", str(photo), "--quality", "1"]) == 0
    target = photo.parent / "real.png"
    target.write_bytes(b"old")
    link = photo.parent / "link.png"
    link.symlink_to(target)
    assert main(["decode", str(lic), "-o", str(link), "-f"]) == 0
    assert link.is_symlink() and Image.open(target).size == (56, 40)
    fifo = photo.parent / "pipe.png"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(open(fifo, "rb").read()))
    reader.start()
    assert main(["decode", str(lic), "-o", str(fifo), "-f"]) == 0
    reader.join(10)
    assert received and received[0].startswith(b"\x89PNG")
    assert fifo.is_fifo()


def test_bad_outputs_are_one_line_errors_without_leftovers(photo: Path, capsys) -> None:
    lic = photo.with_suffix(".lic")
    assert main(["encode", str(photo), "--quality", "1"]) == 0
    capsys.readouterr()
    folder = photo.parent / "folder"
    folder.mkdir()
    for output, message in [
        (str(folder), "it is a directory"),
        (str(photo.parent / "out"), "cannot tell which image format"),
        (str(photo.parent / "out.xyz"), "cannot tell which image format"),
        (str(photo.parent / "missing" / "x.png"), "does not exist"),
    ]:
        assert main(["decode", str(lic), "-o", output, "-f"]) == 2
        one_line_error(capsys, message)
    assert not [p for p in photo.parent.rglob("*") if p.name.startswith(".licodec-")]


def test_standard_input_and_output(photo: Path, monkeypatch, capsysbinary) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(photo.read_bytes())))
    assert main(["encode", "-", "-o", "-", "--quality", "1"]) == 0
    data = capsysbinary.readouterr().out
    assert unpack(data).header.width == 56
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    assert main(["decode", "-", "-o", "-"]) == 0
    assert Image.open(io.BytesIO(capsysbinary.readouterr().out)).size == (56, 40)


def test_files_claiming_huge_pictures_are_refused_before_allocation(photo: Path) -> None:
    data = licodec.compress(photo, quality=1)
    container = unpack(data)
    from dataclasses import replace

    bomb = pack(replace(container.header, height=65536, width=65536), container.sections,
                list(container.tags))  # fmt: skip
    with pytest.raises(ImageInputError, match="above the limit of 200,000,000"):
        licodec.decompress(bomb)
    small = pack(replace(container.header, height=4096, width=4096), container.sections,
                 list(container.tags))  # fmt: skip
    with pytest.raises(BitstreamError):  # within the limit, but its sections are too short
        licodec.decompress(small)


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width``×``height`` (and no pixel data to speak of)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + body))
        return struct.pack(">I", len(body)) + kind + body + crc

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b""))
        + chunk(b"IEND", b"")
    )


def test_image_bombs_sixteen_bit_and_animations_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ImageInputError, match="above the limit"):
        load_image(_png_header_only(60000, 60000))
    with pytest.raises(ImageInputError, match="above the limit of 100"):
        load_image(random_image(20, 20), max_pixels=100)
    rgb16 = tmp_path / "rgb16.png"
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(rgb16)
    raw = np.full((4, 4, 3), 40000, dtype=">u2")
    import imagecodecs

    rgb16.write_bytes(imagecodecs.png_encode(raw.astype(np.uint16)))
    with pytest.raises(ImageInputError, match="16 bits per channel"):
        load_image(rgb16)
    gif = tmp_path / "anim.gif"
    frames = [Image.new("RGB", (8, 8), (i * 80, 0, 0)) for i in range(3)]
    frames[0].save(gif, save_all=True, append_images=frames[1:])
    with pytest.raises(ImageInputError, match="3 frames"):
        load_image(gif)


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    pixels = random_image(10, 30)
    image = Image.fromarray(pixels)
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90° clockwise to view
    path = tmp_path / "rotated.jpg"
    image.save(path, exif=exif, quality=100)
    out, _ = load_image(path)
    assert out.shape == (30, 10, 3)


def test_api_takes_bytes_files_and_paths(photo: Path, tmp_path: Path) -> None:
    from_path = licodec.compress(photo, quality=1)
    assert licodec.compress(photo.read_bytes(), quality=1) == from_path
    with open(photo, "rb") as handle:
        assert licodec.compress(handle, quality=1) == from_path
    lic = tmp_path / "x.lic"
    lic.write_bytes(from_path)
    expected = np.asarray(licodec.decompress(from_path))
    assert np.array_equal(np.asarray(licodec.decompress(lic)), expected)
    with open(lic, "rb") as handle:
        assert np.array_equal(np.asarray(licodec.decompress(handle)), expected)


def _icc_profile() -> bytes:
    from PIL import ImageCms

    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def test_icc_profile_travels_through_the_file_unless_stripped(tmp_path: Path, capsys) -> None:
    icc = _icc_profile()
    source = tmp_path / "tagged.png"
    Image.fromarray(random_image(24, 40)).save(source, icc_profile=icc)
    assert main(["encode", str(source), "--quality", "1"]) == 0
    assert main(["decode", str(tmp_path / "tagged.lic")]) == 0
    assert Image.open(tmp_path / "tagged.decoded.png").info.get("icc_profile") == icc
    stripped = tmp_path / "stripped.lic"
    assert main(["encode", str(source), "--quality", "1", "--strip", "-o", str(stripped)]) == 0
    assert len(unpack(stripped.read_bytes()).sections) == 2
    assert "icc_profile" not in licodec.decompress(stripped).info
    container = unpack((tmp_path / "tagged.lic").read_bytes())
    assert container.tags[-1].name == "ICC" and container.sections[-1] == icc
    forged = pack(container.header, [*container.sections[:-1], b"\x00" * 200],
                  list(container.tags))  # fmt: skip
    with pytest.raises(BitstreamError, match="does not hold an ICC profile"):
        licodec.decompress(forged)
    tags = [*container.tags, container.tags[-1]]
    twice = pack(container.header, [*container.sections, icc], tags)
    with pytest.raises(BitstreamError, match="repeated ICC section"):
        licodec.decompress(twice)


def test_frame_picks_one_frame_of_a_multi_frame_file(tmp_path: Path, capsys) -> None:
    gif = tmp_path / "anim.gif"
    frames = [Image.new("RGB", (16, 8), (i * 100, 50, 0)) for i in range(3)]
    frames[0].save(gif, save_all=True, append_images=frames[1:])
    assert main(["encode", str(gif), "--quality", "1"]) == 2
    one_line_error(capsys, "pick one with --frame N (0..2)")
    assert main(["encode", str(gif), "--quality", "1", "--frame", "2"]) == 0
    assert main(["encode", str(gif), "--quality", "1", "--frame", "3", "-f"]) == 2
    one_line_error(capsys, "has no frame 3")


def test_devices_take_the_picture_as_png(photo: Path, capsys) -> None:
    lic = photo.with_suffix(".lic")
    assert main(["encode", str(photo), "--quality", "1"]) == 0
    assert main(["decode", str(lic), "-o", os.devnull]) == 0
    assert Path(os.devnull).is_char_device()


def test_size_budgets_take_file_objects_and_the_pixel_limit(photo: Path) -> None:
    with open(photo, "rb") as handle:
        data = licodec.compress(handle, max_bytes=10_000)
    assert data == licodec.compress(photo, max_bytes=10_000)
    with pytest.raises(ImageInputError, match="above the limit of 100"):
        licodec.compress(photo, max_bytes=10_000, max_pixels=100)
