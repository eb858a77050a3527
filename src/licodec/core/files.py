"""Files on disk: image folders, and writing outputs without ever destroying data.

**Image folders.** :func:`list_images` is the one listing of image files (one suffix set,
:data:`IMAGE_SUFFIXES`), flat for evaluation folders and recursive for training data;
:func:`default_images_dir` is ``$LICODEC_KODAK`` or ``../shared/data/kodak``.

**Outputs** (:func:`write_output`), ``[D]`` as ffmpeg's ``-y`` convention:

* ``-`` writes to standard output;
* an existing output is never replaced unless ``force``; without it
  :class:`OutputExistsError` names the file and the flag;
* a regular file is written atomically: a temporary file in the same folder, renamed over
  the target; the temporary file is removed on every error and never named in a message;
* a symlink is written through to its target (the link stays), atomically when the target
  is a regular file; a FIFO or character device is written to directly (never replaced by a
  regular file); a directory or other special file is refused.
"""

from __future__ import annotations

import os
import stat
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from licodec.errors import LicodecError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".ppm", ".pgm", ".bmp", ".tif", ".tiff", ".webp")
"""File name endings (any case) taken as images."""

STDIO = "-"
"""The path that means standard input or output."""


class OutputExistsError(LicodecError, FileExistsError):
    """The output file exists and replacing it was not asked for."""


class OutputPathError(LicodecError, ValueError):
    """The output path cannot be written (a directory, a socket, a missing folder)."""


def default_images_dir() -> Path:
    """``$LICODEC_KODAK`` if set, else ``../shared/data/kodak`` from the current directory."""
    env = os.environ.get("LICODEC_KODAK")
    return Path(env) if env else Path("../shared/data/kodak")


def list_images(folder: str | os.PathLike, recursive: bool = False) -> list[Path]:
    """Sorted image files in ``folder`` (and below it if ``recursive``).

    Raises:
        FileNotFoundError: no such folder, or no images in it.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(
            f"image folder {folder} not found: pass --images DIR or set LICODEC_KODAK"
        )
    candidates = folder.rglob("*") if recursive else folder.iterdir()
    files = sorted(p for p in candidates if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise FileNotFoundError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in {folder}")
    return files


def write_output(
    path: str | os.PathLike, write: Callable[[BinaryIO], None], force: bool = False
) -> None:
    """Write an output through ``write(handle)`` following the rules of the module docstring.

    Raises:
        OutputExistsError: the file exists and ``force`` is false.
        OutputPathError: the path is a directory or another file that cannot be written.
    """
    if str(path) == STDIO:
        write(sys.stdout.buffer)
        sys.stdout.buffer.flush()
        return
    path = Path(path)
    mode = special_mode(path)
    if mode is not None and (stat.S_ISFIFO(mode) or stat.S_ISCHR(mode)):
        with open(path, "wb") as handle:  # a pipe or device: write through, never replace
            write(handle)
        return
    target = path.resolve() if path.is_symlink() else path
    if mode is not None and not stat.S_ISREG(mode):
        kind = "a directory" if stat.S_ISDIR(mode) else "not a regular file"
        raise OutputPathError(f"cannot write {path}: it is {kind}")
    if mode is not None and not force:
        raise OutputExistsError(f"{path} exists: pass -f/--force to replace it")
    if not target.parent.is_dir():
        raise OutputPathError(f"cannot write {path}: folder {target.parent} does not exist")
    _write_atomic(target, write)


def special_mode(path: Path) -> int | None:
    """``st_mode`` of what ``path`` names (through symlinks), or ``None`` if nothing."""
    try:
        return os.stat(path).st_mode
    except FileNotFoundError:
        return None


def is_stream(path: str | os.PathLike) -> bool:
    """Whether an output goes to a stream (``-``, a pipe or a character device) rather than a
    file, so it has no name that could tell its format."""
    if str(path) == STDIO:
        return True
    mode = special_mode(Path(path))
    return mode is not None and (stat.S_ISFIFO(mode) or stat.S_ISCHR(mode))


def _write_atomic(target: Path, write: Callable[[BinaryIO], None]) -> None:
    """Write to a temporary file beside ``target`` and rename it over ``target``; the
    temporary file is removed if anything fails."""
    descriptor, temporary = tempfile.mkstemp(prefix=".licodec-", dir=target.parent)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            write(handle)
        os.chmod(temporary, _new_file_mode(target))
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _new_file_mode(target: Path) -> int:
    """The replaced file's permissions, or those a new file gets under the umask."""
    if target.exists():
        return stat.S_IMODE(target.stat().st_mode)
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write_json(path: Path, text: str) -> None:
    """Write a results file atomically (creating its folder; results are regenerated, so an
    existing file is replaced)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_output(path, lambda handle: handle.write(text.encode() + b"\n"), force=True)


def read_input(path: str | os.PathLike) -> bytes:
    """The bytes of ``path``, or of standard input for ``-``."""
    if str(path) == STDIO:
        return sys.stdin.buffer.read()
    return Path(path).read_bytes()
