"""Training data: random crops of a folder of photographs, and the sampler that feeds them.

Random choices (downscale factor, crop position, flip) come from numpy generators, never
from a global RNG that forked data loader workers would share and repeat:

* training keys ``(index, epoch)`` (what :class:`ShardedStreamSampler` yields) seed a
  generator with ``(seed, epoch, index)``: an item is a pure function of its key, whatever
  the number of workers or which one loads it, so a resumed run sees exactly the items the
  interrupted one would have seen;
* plain integer keys (e.g. a standard ``DataLoader(shuffle=True)``) draw from a stream per
  worker, seeded by ``seed`` and the worker's own seed (new for every epoch), so workers
  never duplicate each other's crops and every epoch draws new ones.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import Tensor
from torch.utils.data import Dataset, Sampler, get_worker_info

from licodec.core.files import list_images

Key = int | tuple[int, int]
"""An item key: an image index, or ``(index, epoch)`` for a reproducible draw."""


def find_images(root: Path) -> list[Path]:
    """Every image file under ``root`` (recursive), sorted for a stable order."""
    return list_images(root, recursive=True)


class ImageFolderCrops(Dataset[Tensor]):
    """Random square crops of the images in a folder tree, as 3×crop×crop floats in [0, 1].

    Per item: open, convert to RGB (grayscale and palette images too), downscale by a
    random factor in ``[min_scale, 1]`` with PIL's antialiasing bicubic filter (the factor
    is clamped so the short side stays at least ``crop``; downscaling hides the JPEG
    artefacts of the source photos), take a random ``crop``×``crop`` window and flip it
    horizontally with probability ½. Images whose short side is below ``crop`` are
    mirror-padded instead of being downscaled.

    Args:
        root: folder searched recursively for ``.jpg``, ``.jpeg`` and ``.png`` files.
        crop: side of the square crops.
        min_scale: smallest downscale factor.
        seed: base seed of every item's random draw (see the module docstring).
    """

    def __init__(
        self, root: Path | str, crop: int = 256, min_scale: float = 0.5, seed: int = 0
    ) -> None:
        if crop <= 0:
            raise ValueError(f"crop must be positive, got {crop}")
        if not 0 < min_scale <= 1:
            raise ValueError(f"min_scale must be in (0, 1], got {min_scale}")
        self.root = Path(root)
        self.files = find_images(self.root)
        self.crop = crop
        self.min_scale = min_scale
        self.seed = seed
        self._stream: np.random.Generator | None = None
        self._stream_owner: int | None = None

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, key: Key) -> Tensor:
        index, rng = self._draw(key)
        with Image.open(self.files[index]) as image:
            image = image.convert("RGB")
        image = self._downscale(image, rng)
        if min(image.size) < self.crop:
            return _to_tensor(self._pad_crop(np.asarray(image), rng))
        left = int(rng.integers(0, image.width - self.crop + 1))
        top = int(rng.integers(0, image.height - self.crop + 1))
        image = image.crop((left, top, left + self.crop, top + self.crop))
        if rng.random() < 0.5:
            image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        return _to_tensor(np.asarray(image))

    def _draw(self, key: Key) -> tuple[int, np.random.Generator]:
        """The item's index and the generator of its random choices (module docstring)."""
        if isinstance(key, tuple):
            index, epoch = key
            return index, np.random.default_rng([self.seed, epoch, index])
        return key, self._worker_stream()

    def _worker_stream(self) -> np.random.Generator:
        """The random stream of plain integer keys in this worker (see module docstring)."""
        info = get_worker_info()
        owner = None if info is None else info.seed
        if self._stream is None or owner != self._stream_owner:
            entropy = [self.seed] if owner is None else [self.seed, owner]
            self._stream, self._stream_owner = np.random.default_rng(entropy), owner
        return self._stream

    def _downscale(self, image: Image.Image, rng: np.random.Generator) -> Image.Image:
        low = max(self.min_scale, self.crop / min(image.size))
        if low >= 1:
            return image
        factor = rng.uniform(low, 1.0)
        size = tuple(max(self.crop, round(side * factor)) for side in image.size)
        if size == image.size:
            return image
        return image.resize(size, Image.Resampling.BICUBIC)

    def _pad_crop(self, pixels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        pad_h = max(0, self.crop - pixels.shape[0])
        pad_w = max(0, self.crop - pixels.shape[1])
        pixels = np.pad(pixels, ((0, pad_h), (0, pad_w), (0, 0)), mode="symmetric")
        top = int(rng.integers(0, pixels.shape[0] - self.crop + 1))
        left = int(rng.integers(0, pixels.shape[1] - self.crop + 1))
        pixels = pixels[top : top + self.crop, left : left + self.crop]
        return pixels[:, ::-1] if rng.random() < 0.5 else pixels


def label_folder(root: Path) -> Path:
    """Where the label maps of the images in ``root`` are: ``root`` + ``annot`` beside it
    (the CamVid layout: ``train/`` and ``trainannot/``)."""
    return root.parent / f"{root.name}annot"


class LabelledCrops(ImageFolderCrops):
    """Random square crops of images and their label maps, as ``4×crop×crop`` floats: RGB in
    [0, 1] and the class id (an integer-valued float) as a fourth channel.

    The label map of ``root/…/NAME.ext`` is ``label_folder(root)/…/NAME.png``, of the same
    size. Per item (keys and random streams as :class:`ImageFolderCrops`): a random window,
    flipped horizontally with probability ½, the same for both (mirror-padded where the
    picture is smaller than the crop); ``[D]`` no downscaling, which would have to resample
    the labels.

    Raises:
        FileNotFoundError: an image without its label map.
    """

    def __init__(self, root: Path | str, crop: int = 256, seed: int = 0) -> None:
        super().__init__(root, crop=crop, seed=seed)
        labels = label_folder(self.root)
        self.labels = [labels / f.relative_to(self.root).with_suffix(".png") for f in self.files]
        missing = [str(p) for p in self.labels if not p.exists()]
        if missing:
            raise FileNotFoundError(f"no label map {missing[0]} (and {len(missing) - 1} more)")

    def __getitem__(self, key: Key) -> Tensor:
        index, rng = self._draw(key)
        with Image.open(self.files[index]) as image:
            pixels = np.asarray(image.convert("RGB"))
        with Image.open(self.labels[index]) as image:
            labels = np.asarray(image)
        if labels.shape != pixels.shape[:2]:
            raise ValueError(f"{self.labels[index]} is not the size of {self.files[index]}")
        both = self._pad_crop(np.concatenate([pixels, labels[..., None]], axis=2), rng)
        chw = np.ascontiguousarray(both.transpose(2, 0, 1), dtype=np.float32)
        chw[:3] /= 255
        return torch.from_numpy(chw)


def _to_tensor(pixels: np.ndarray) -> Tensor:
    """H×W×3 uint8 → 3×H×W float32 in [0, 1] (in numpy: no torch threads in workers)."""
    chw = np.ascontiguousarray(pixels.transpose(2, 0, 1), dtype=np.float32)
    chw /= 255
    return torch.from_numpy(chw)


class ShardedStreamSampler(Sampler[tuple[int, int]]):
    """An endless stream of ``(index, epoch)`` keys, sharded across data-parallel ranks.

    Epoch ``e`` is a permutation of the ``size`` items seeded by ``(seed, e)``, the same on
    every rank; rank ``r`` of ``world_size`` takes every ``world_size``-th item of it from
    position ``r`` (the tail that does not divide evenly is dropped, so all ranks see
    equally long epochs and no item twice per epoch). ``start`` skips that many keys of
    this rank's stream: the sampler position a checkpoint stores.
    """

    def __init__(
        self, size: int, seed: int = 0, rank: int = 0, world_size: int = 1, start: int = 0
    ) -> None:
        if size < world_size:
            raise ValueError(f"{size} items cannot be sharded over {world_size} ranks")
        self.size = size
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.start = start
        self.per_rank = size // world_size

    def epoch_indices(self, epoch: int) -> list[int]:
        """This rank's share of epoch ``epoch``, in order."""
        order = np.random.default_rng([self.seed, epoch]).permutation(self.size)
        return order[self.rank : self.per_rank * self.world_size : self.world_size].tolist()

    def __iter__(self) -> Iterator[tuple[int, int]]:
        epoch, offset = divmod(self.start, self.per_rank)
        while True:
            for index in self.epoch_indices(epoch)[offset:]:
                yield index, epoch
            epoch, offset = epoch + 1, 0
