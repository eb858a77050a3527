"""``CompressionModel``: analysis and synthesis transforms around a latent codec."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from fractions import Fraction
from functools import partial
from typing import Any

import torch
from torch import Tensor, nn

from licodec.components.bands import run_in_bands
from licodec.components.buffers import forgive_absent_optional_modules
from licodec.components.entropy.base import TabledEntropyModel
from licodec.components.latent import LatentCodec
from licodec.components.threads import single_threaded
from licodec.core.bitstream import SectionTag
from licodec.core.colour import CodedFormat
from licodec.core.image import crop, pad_to_multiple
from licodec.core.picture import Coded, Picture
from licodec.errors import BitstreamError, ModelError
from licodec.models.identity import WeightsIdCache

POST_FILTERED = 0x01
"""Model-flag bit: the decoder applies the model's post-filter."""


class CompressionModel(nn.Module):
    """``x → g_a → latent codec → g_s → x̂``.

    Args:
        g_a: analysis transform, 3×H×W → C×H/stride×W/stride.
        g_s: synthesis transform, the inverse shape map.
        latent_codec: codes the analysis output (see :mod:`licodec.components.latent`).
        stride: spatial downsampling of ``g_a``.
        pad_multiple: images are padded to multiples of this before coding (the product of
            every stride on the way to the deepest latent).
        post_filter: an optional network on the decoded image (``B×3×H×W → B×3×H×W``).
            The encoder applies it and sets the model-flag bit :data:`POST_FILTERED` only
            where it lowers the picture's squared error (by :attr:`post_filter_min_gain_db`
            at least); the decoder applies it where the bit is set. It is not part of
            :meth:`forward` (it trains in a stage of its own, on the decoded images of the
            frozen codec); a state dict without it loads it as built.

    Attributes set by the registry: ``name``, ``quality``, ``lmbda`` and ``config``.

    Class attributes a family may override: ``input_format`` (the planes it codes),
    ``model_flag_bits`` (the bits of the file's model-flag byte it owns; others are refused)
    and ``side_inputs`` (names of the side inputs :meth:`compress` takes, e.g. a label map).
    """

    name: str = "unnamed"
    quality: int = 0
    lmbda: float | None = None
    config: dict[str, Any]
    input_format: CodedFormat = CodedFormat.RGB444
    model_flag_bits: int = 0
    side_inputs: frozenset[str] = frozenset()
    distortion_weights: tuple[float, ...] | None = None
    """Weights of each plane channel's MSE in the training distortion (``None``: the plain
    mean over channels)."""
    band_pixels: int | None = 4_000_000
    """Outside training, pictures of more pixels run ``g_a``, ``g_s`` and the post-filter
    over bands of rows (:mod:`licodec.components.bands`) so memory follows the band (``[D]``:
    about 1 GB of activations per band for the shipped models); ``None`` for transforms with
    a global receptive field, which cannot be banded."""
    analysis_halo: int = 128
    """Input rows of context around each band of ``g_a``: at least its receptive field
    (measured: 30 px for the GDN transforms, 117 px for ``cheng2020-attn``)."""
    analysis_align: int | None = None
    """Band edges of ``g_a`` are multiples of it (``None``: the stride). Windowed attention
    needs its windows' input rows (``stride · window``), so bands cut no window."""
    synthesis_halo: int = 16
    """Latent rows of context around each band of ``g_s`` (measured: 1 and 11 rows)."""
    synthesis_align: int = 1
    """Band edges of ``g_s``, in latent rows, are multiples of it (windowed attention on
    ``ŷ``: the window)."""
    post_filter_min_gain_db: float = 0.05
    """``[D]`` The encoder switches the post-filter on for a picture only where it lowers the
    squared error by at least this much (0.05 dB: 1.2%), so decoders do not pay the
    filter's time (about a third of a decode) for nothing."""
    try_post_filter: bool = True
    """Whether :meth:`compress` tries the post-filter; ``False`` (``licodec encode
    --no-post-filter``) writes files that never switch it on and spares the encoder the
    synthesis and the filter (about 40% of a tucodec encode)."""
    post_filter_halo: int = 16
    """Picture rows of context around each band of the post-filter (its receptive field: 8)."""

    def __init__(
        self,
        g_a: nn.Module,
        g_s: nn.Module,
        latent_codec: LatentCodec,
        stride: int = 16,
        pad_multiple: int = 64,
        post_filter: nn.Module | None = None,
    ) -> None:
        super().__init__()
        self.g_a = g_a
        self.g_s = g_s
        self.latent_codec = latent_codec
        self.post_filter = post_filter
        if post_filter is not None:
            self.model_flag_bits = POST_FILTERED
            self.register_load_state_dict_post_hook(forgive_absent_optional_modules)
        self.stride = stride
        self.pad_multiple = pad_multiple
        self.config = {}
        self._weights_id = WeightsIdCache()

    @property
    def weights_id(self) -> int:
        """32-bit hash of every tensor of the model (:mod:`licodec.models.identity`)."""
        return self._weights_id(self)

    @property
    def section_tags(self) -> tuple[SectionTag, ...]:
        """The tag of each section a file of this model holds, in order."""
        return self.latent_codec.section_tags

    def check_model_flags(self, flags: int) -> None:
        """Refuse a model-flag byte with bits this model does not own.

        Raises:
            BitstreamError: unknown bits are set.
        """
        if flags & ~self.model_flag_bits:
            raise BitstreamError(
                f"malformed header: model flags 0x{flags:02x} have bits {self.name} does not "
                f"use (it owns 0x{self.model_flag_bits:02x})"
            )

    def forward(self, x: Tensor) -> dict[str, Any]:
        """Training / estimation pass on N×3×H×W (H, W multiples of ``pad_multiple``).

        Returns ``{"x_hat": N×3×H×W, "likelihoods": {name: tensor}}``; in eval mode the
        latents are rounded exactly as the codec rounds them. The latent codec always runs
        in float32, also under autocast: bfloat16's 8-bit mantissa cannot hold the
        quantization noise or the small likelihoods of the rate term.
        """
        y = self.analyze(x)
        with torch.autocast(x.device.type, enabled=False):
            out = self.latent_codec(y.float())
        return {"x_hat": self.synthesize(out.y_hat), "likelihoods": out.likelihoods}

    def analyze(self, x: Tensor) -> Tensor:
        """``y = g_a(x)``: ``N×3×H×W → N×C×H/stride×W/stride`` (see :func:`nhwc`), in bands
        of rows for large pictures (see :attr:`band_pixels`)."""
        run = partial(nhwc, self.g_a)
        rows = self._band_rows(x)
        if rows is None:
            return run(x)
        align = self.analysis_align or self.stride
        return run_in_bands(run, x, Fraction(1, self.stride), rows, self.analysis_halo, align)

    def synthesize(self, y_hat: Tensor) -> Tensor:
        """``x̂ = g_s(ŷ)``: ``N×C×h×w → N×3×h·stride×w·stride`` (see :func:`nhwc`).

        The forward pass, :meth:`compress` and :meth:`decompress` all synthesize through
        here, so a decoded image equals the encoder's and the eval-mode forward's bit for bit
        (large pictures in the same bands of rows, see :attr:`band_pixels`).
        """
        run = partial(nhwc, self.g_s)
        rows = self._band_rows(y_hat, self.stride)
        if rows is None:
            return run(y_hat)
        return run_in_bands(
            run, y_hat, Fraction(self.stride), rows, self.synthesis_halo, self.synthesis_align
        )

    def enhance(self, x_hat: Tensor) -> Tensor:
        """The post-filter on a decoded picture (``1×3×H×W``, clamped to [0, 1]), in bands of
        rows for large pictures."""
        run = partial(nhwc, self.post_filter)
        rows = self._band_rows(x_hat)
        if rows is not None:
            x_hat = run_in_bands(run, x_hat, Fraction(1), rows, self.post_filter_halo)
        else:
            x_hat = run(x_hat)
        return x_hat.clamp_(0, 1)

    def _band_rows(self, x: Tensor, scale: int = 1) -> int | None:
        """Rows per band of ``x`` (whose rows are ``scale`` picture rows each), or ``None``
        to run the transform whole (training, small pictures, unbandable models)."""
        width = x.shape[-1] * scale
        if self.training or self.band_pixels is None:
            return None
        if x.shape[-2] * scale * width <= self.band_pixels:
            return None
        return max(1, self.band_pixels // width // scale)

    def picture(self, picture: Picture | Tensor) -> Picture:
        """``picture`` as a :class:`Picture` of this model's ``input_format`` (a tensor is an
        RGB 4:4:4 picture).

        Raises:
            ModelError: the picture has another format.
        """
        if isinstance(picture, Tensor):
            picture = Picture.rgb(picture)
        if picture.format != self.input_format:
            raise ModelError(
                f"{self.name} codes {self.input_format.name} pictures, got {picture.format.name}"
            )
        return picture

    def check_side_inputs(self, side: dict[str, Tensor]) -> None:
        """Refuse side inputs the model does not take (``side_inputs`` names those it does).

        Raises:
            ModelError: an unknown side input.
        """
        unknown = sorted(set(side) - self.side_inputs)
        if unknown:
            takes = ", ".join(sorted(self.side_inputs)) or "none"
            raise ModelError(f"{self.name} takes no side input {unknown[0]!r} (it takes: {takes})")

    @torch.no_grad()
    def compress(
        self, picture: Picture | Tensor, *, reconstruct: bool = False, **side: Tensor
    ) -> Coded:
        """Code one picture of any size (RGB: ``1×3×H×W`` in [0, 1]).

        Returns the sections and model flags, and with ``reconstruct=True`` also the picture
        :meth:`decompress` will return (the synthesis runs only then).
        """
        picture = self.picture(picture)
        self.check_side_inputs(side)
        x = picture.tensor
        height, width = x.shape[-2:]
        sections, y_hat = self.latent_codec.compress(self.analyze(*self.padded(picture)))
        filtering = self.post_filter is not None and self.try_post_filter
        if not reconstruct and not filtering:
            return Coded(sections)
        x_hat = crop(self.synthesize(y_hat), height, width).clamp_(0, 1)
        flags = 0
        if filtering:
            filtered = self.enhance(x_hat)
            if lowers_error(filtered, x_hat, x, self.post_filter_min_gain_db):
                x_hat, flags = filtered, POST_FILTERED
        if not reconstruct:
            return Coded(sections, flags)
        return Coded(sections, flags, reconstruction=Picture.rgb(x_hat))

    @torch.no_grad()
    def decompress(self, coded: Coded | list[bytes], height: int, width: int) -> Picture:
        """Decode the coded picture of ``height``×``width`` pixels (``coded`` may be its
        sections alone when the model flags are 0)."""
        if not isinstance(coded, Coded):
            coded = Coded(list(coded))
        self.check_model_flags(coded.model_flags)
        y_hat = self.decompress_latent(coded.sections, height, width)
        x_hat = crop(self.synthesize(y_hat), height, width).clamp_(0, 1)
        if coded.model_flags & POST_FILTERED:
            x_hat = self.enhance(x_hat)
        return Picture.rgb(x_hat)

    @torch.no_grad()
    def decompress_latent(self, sections: list[bytes], height: int, width: int) -> Tensor:
        """The decoded latent ``ŷ`` (1×C×H/stride×W/stride of the padded image)."""
        return self.latent_codec.decompress(sections, self.latent_shape(height, width))

    @torch.no_grad()
    def decompress_latent_batch(self, files: list[list[bytes]], height: int, width: int) -> Tensor:
        """``ŷ`` of several files of ``height``×``width`` images decoded as one batch
        (``B×C×…``): the parameter networks run on all of them at once."""
        return self.latent_codec.decompress_batch(files, self.latent_shape(height, width))

    def latent_shape(self, height: int, width: int) -> tuple[int, int]:
        """Spatial size of ``y`` for an image of ``height``×``width`` pixels (after padding)."""
        padded_h = -(-height // self.pad_multiple) * self.pad_multiple
        padded_w = -(-width // self.pad_multiple) * self.pad_multiple
        return padded_h // self.stride, padded_w // self.stride

    def update(self) -> None:
        """Rebuild every entropy model's integer coding tables (after training or loading)."""
        for module in self.modules():
            if isinstance(module, TabledEntropyModel):
                module.update()

    @torch.no_grad()
    def calibrate(self, images: Iterable[Tensor]) -> None:
        """Build the integer (fixed-point) path of every network that decides a coding
        probability, and code with it from now on.

        Each network's activation ranges are recorded on the calibration images, from which
        per-output-channel integer weights, activation units and integer requantization
        multipliers follow (:mod:`licodec.components.fixedpoint`). They are buffers: export
        the weights after calibrating and files decode bit-exactly wherever they are loaded.
        Calibrate after training, fp16 rounding and :meth:`update`.

        Args:
            images: tensors ``N×3×H×W`` in [0, 1] (padded to ``pad_multiple`` here), e.g.
                about 200 training crops of 256×256 — never the evaluation images.
        """
        self.eval()
        with single_threaded():  # activation ranges, hence units, independent of threads
            ys = [self._calibration_latent(x) for x in images]
            if not ys:
                raise ValueError("calibration needs at least one image")
            self.latent_codec.calibrate(ys)
        self.latent_codec.force_float = False

    def padded(self, picture: Picture) -> tuple[Tensor, ...]:
        """The picture's planes padded for :meth:`analyze` (bottom and right, by edge
        replication, to multiples of ``pad_multiple``)."""
        return (pad_to_multiple(picture.tensor, self.pad_multiple),)

    def _calibration_latent(self, x: Tensor) -> Tensor:
        """``y`` of one batch of RGB calibration crops."""
        return self.analyze(pad_to_multiple(x, self.pad_multiple)).float()

    def planes_of(self, x: Tensor) -> tuple[Tensor, ...]:
        """An RGB training batch ``N×3×H×W`` as the planes :meth:`forward` takes (RGB models:
        the batch itself)."""
        return (x,)

    has_probability_networks: bool = True
    """Whether networks decide coding probabilities (then :meth:`calibrate` builds their
    integer path); ``False`` for models that code with tables alone."""

    @property
    def calibrated(self) -> bool:
        """Whether the integer path exists (always, for models without parameter networks)."""
        return self.latent_codec.calibrated

    @property
    def integer_path(self) -> bool:
        """Whether :meth:`compress` / :meth:`decompress` compute the entropy parameters in
        fixed point (calibrated, and not switched off by :meth:`coding_path`)."""
        return self.latent_codec.integer_path

    @contextmanager
    def coding_path(self, integer: bool) -> Iterator[None]:
        """Inside the block, code with the integer path (``True``) or the float path.

        Raises:
            ModelError: the integer path is asked of a model that has no calibration.
        """
        if integer and not self.calibrated:
            raise ModelError(
                f"{self.name} q{self.quality} has no fixed-point calibration: the integer "
                "path needs calibrated weights (CompressionModel.calibrate)"
            )
        previous = self.latent_codec.force_float
        self.latent_codec.force_float = not integer
        try:
            yield
        finally:
            self.latent_codec.force_float = previous


def lowers_error(candidate: Tensor, current: Tensor, target: Tensor, min_gain_db: float) -> bool:
    """Whether ``candidate`` has a smaller squared error to ``target`` than ``current``, by
    ``min_gain_db`` at least (the rule for switching a decoder-side filter on)."""
    kept, gained = torch.sum((current - target) ** 2), torch.sum((candidate - target) ** 2)
    return bool(gained * 10 ** (min_gain_db / 10) <= kept and gained < kept)


def nhwc(transform: nn.Module, *inputs: Tensor) -> Any:
    """``transform(*inputs)`` run on channels-last (NHWC) activations, each output tensor
    returned NCHW-contiguous.

    oneDNN's convolutions are 15–35% faster on NHWC than on NCHW on CPU (measured on the
    synthesis transforms of the context models, ``benchmarks/decode_speed.py``); one layout
    for every caller also keeps the summation order, hence the pixels, the same.
    """
    out = transform(*(x.contiguous(memory_format=torch.channels_last) for x in inputs))
    if isinstance(out, tuple):
        return tuple(t.contiguous() for t in out)
    return out.contiguous()
