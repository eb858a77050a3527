"""Generative extreme compression (Agustsson et al. 2019): ``gan-gc`` and ``gan-sc``.

``x → E → ŵ = q(w) → G(ŵ [, v] [, F(s)]) → x̂`` with

* ``E`` :class:`~licodec.components.layers.generative.GenerativeEncoder` (stride 16) and
  ``G`` its :class:`~licodec.components.layers.generative.Generator`;
* ``q`` the fixed centres ``{−2, −1, 0, 1, 2}``
  (:class:`~licodec.components.quant.fixed_centres.FixedCentreQuantizer`), coded with the
  picture's own counts, adaptively in each symbol's neighbours' context or with a stored
  table per channel, whichever is shorter
  (:class:`~licodec.components.latent.empirical.EmpiricalTableLatentCodec`): at most
  ``C·log2(5)/256`` bpp (:attr:`GenerativeModel.rate_bound_bpp`) plus a table of ``5·C``
  bytes — 0.018, 0.036, 0.073, 0.145 bpp for ``C`` = 2, 4, 8, 16 (qualities 1–4) — and
  0.63–0.73× that bound with the shipped weights on Kodak and CamVid;
* GC (``gan-gc``): optional noise channels ``v ~ N(0, 1)`` (``noise > 0``) drawn from a seed
  stored in a ``SEED`` section (``[D]`` the CRC-32 of the latent section, so encoding is
  deterministic), so a decode is reproducible;
* SC (``gan-sc``): a label map ``s`` (side input ``labels``, stored losslessly in a
  ``LABELS`` section by :mod:`~licodec.components.entropy.label_map`, its bits counted)
  feeds ``G`` through a feature extractor ``F`` (the encoder's shape on the one-hot map,
  ``4·width`` channels at latent resolution), and a keep-rule (side input ``keep``,
  :class:`~licodec.core.labels.KeepRule`, stored in a ``MASK`` section) zeroes ``ŵ`` where
  its mask is 0; those positions are not stored. ``[D]`` ``mask_input = 1`` also gives ``G``
  the mask itself as one more channel (``G([ŵ, m, F(s)])``): a dropped position is 0 in ``ŵ``,
  and so is a kept one coded at the centre 0 — the most frequent symbol — so without ``m``
  the generator cannot tell the regions it must reproduce from those it must invent.
  ``[D]`` ``gated_input = 1`` (the shipped ``gan-sc`` weights) instead runs a GC generator
  as it is and gates what enters its first norm: ``G`` on
  ``ReLU(IN(m·c(ŵ) + (1 − m)·L([m, F(s), μ])))``, ``c`` the GC generator's first
  convolution and ``L`` a label head, a 3×3 convolution standing in for ``c`` where the
  latent was dropped; ``μ`` is the mean of ``c(ŵ)`` over the kept positions, broadcast, so
  ``L`` sees the kept area's overall look (a dusk scene is not invented as day). One
  instance norm over both keeps the kept area's level relative to the picture, as GC's
  does; a file that keeps everything decodes to GC's picture of the same latent. Only ``L``
  and ``F`` then need training. ``[D]`` ``context_head = 1`` (with ``gated_input``; the
  shipped ``gan-sc`` weights since session 23) makes ``L`` read the kept blocks' features
  too, ``L([m, F(s), μ, m·c(ŵ)])``, through three 3×3 convolutions with ReLUs between (a
  7×7-block view): next to a kept block it can continue what the file coded there — GC's
  generator spreads its input over many blocks, so the context invented around a small
  kept object shapes the object's own pixels. ``[D]`` ``kept_correction = 1`` (with
  ``context_head``) lets that head also correct the kept blocks, ``m·(c(ŵ) + Δ)`` with ``Δ``
  a second output of ``L`` (its weights start at 0): a kept block can then anticipate what
  its invented surround will do to it; a file that keeps everything still decodes to GC's
  picture (``L`` does not run).

The training objective is :class:`licodec.app.training.adversarial.Adversarial` (the
discriminator is never exported). Widths: ``width = 60`` gives the paper's
``60, 120, 240, 480, 960``; ``[D]`` the shipped weights use ``width = 10`` and 6 residual
blocks, what two CPU cores can train.
"""

from __future__ import annotations

import math
import zlib
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional as F

from licodec.components.entropy.label_map import decode_label_map, encode_label_map
from licodec.components.latent.empirical import EmpiricalTableLatentCodec
from licodec.components.layers.generative import GenerativeEncoder, Generator
from licodec.components.quant.fixed_centres import FixedCentreQuantizer
from licodec.core.bitstream import SectionTag
from licodec.core.image import crop, pad_to_multiple
from licodec.core.labels import KeepRule, check_label_map
from licodec.core.picture import Coded, Picture
from licodec.errors import BitstreamError, ImageInputError, ModelError
from licodec.models.base import CompressionModel, nhwc
from licodec.models.registry import register

GAN_CHANNELS = (2, 4, 8, 16)
"""``C`` of qualities 1–4."""
CAMVID_CLASSES = (
    "sky", "building", "pole", "road", "pavement", "tree",
    "sign", "fence", "car", "pedestrian", "bicyclist", "void",
)  # fmt: skip
"""Class names of the ``gan-sc`` label maps (CamVid's ids 0–11)."""
STRIDE = 16


class GenerativeModel(CompressionModel):
    """The GC / SC codec (module docstring).

    Args:
        channels: ``C``.
        width: ``w0``; the encoder and generator widths are ``w0·(1, 2, 4, 8, 16)``.
        blocks: residual blocks of the generator.
        noise: noise channels concatenated to ``ŵ`` (GC only).
        classes: label classes (SC; 0 for GC).
        centres: quantization centres ``L``.
        mask_input: SC only: the keep-mask is an input channel of ``G`` (module docstring).
        gated_input: SC only: the keep-mask gates ``G``'s first convolution between GC's and
            a label head (module docstring); exclusive with ``mask_input``.
        context_head: with ``gated_input``: the label head also reads the kept blocks'
            features and is three convolutions deep (module docstring).
        kept_correction: with ``context_head``: the label head also corrects the kept
            blocks' features (module docstring).
    """

    band_pixels = None  # instance norm: the transforms see the whole picture
    try_post_filter = False
    has_probability_networks = False

    def __init__(
        self,
        channels: int,
        width: int,
        blocks: int = 9,
        noise: int = 0,
        classes: int = 0,
        centres: int = 5,
        mask_input: bool = False,
        gated_input: bool = False,
        context_head: bool = False,
        kept_correction: bool = False,
    ) -> None:
        if noise and classes:
            raise ValueError("noise channels are for GC: a selective model synthesises from labels")
        if mask_input and not classes:
            raise ValueError("mask_input is for SC: a GC model has no keep-mask")
        if gated_input and not classes:
            raise ValueError("gated_input is for SC: a GC model has no keep-mask")
        if gated_input and mask_input:
            raise ValueError("gated_input already feeds the keep-mask to G: drop mask_input")
        if context_head and not gated_input:
            raise ValueError("context_head is the gated input's label head: set gated_input")
        if kept_correction and not context_head:
            raise ValueError("kept_correction is an output of the context head: set context_head")
        widths = tuple(width * 2**i for i in range(5))
        latent_codec = EmpiricalTableLatentCodec(channels, FixedCentreQuantizer(centres))
        label_channels = 4 * width if classes else 0
        g_a = GenerativeEncoder(3, widths, channels)
        g_in = channels + noise + (0 if gated_input else int(mask_input) + label_channels)
        g_s = Generator(g_in, widths, blocks)
        super().__init__(g_a, g_s, latent_codec, stride=STRIDE, pad_multiple=STRIDE)
        self.channels, self.noise, self.classes, self.centres = channels, noise, classes, centres
        self.mask_input, self.gated_input = mask_input, gated_input
        self.context_head, self.kept_correction = context_head, kept_correction
        top = widths[-1]
        self.label_head = (
            _label_head(
                1 + label_channels + top * (1 + context_head),
                top,
                top * (1 + kept_correction),
                context_head,
            )
            if gated_input
            else None
        )
        if kept_correction:  # Δ, the last conv's second half, starts at 0: GC's kept features
            with torch.no_grad():
                self.label_head[-1].weight[top:].zero_()
                self.label_head[-1].bias[top:].zero_()
        self.label_features = (
            GenerativeEncoder(classes, widths, label_channels, picture=False) if classes else None
        )
        if classes:
            self.side_inputs = frozenset({"labels", "keep"})
        self.class_names = (
            CAMVID_CLASSES if classes == len(CAMVID_CLASSES) else tuple(map(str, range(classes)))
        )

    @property
    def selective(self) -> bool:
        """Whether this is the SC codec (labels and keep-masks)."""
        return self.classes > 0

    @property
    def rate_bound_bpp(self) -> float:
        """``C·log2(L)/256``: the latent's bits per pixel at most (tables not included)."""
        return self.channels * math.log2(self.centres) / STRIDE**2

    @property
    def section_tags(self) -> tuple[SectionTag, ...]:
        coded = self.latent_codec.section_tags
        if self.selective:
            return (SectionTag.LABELS, SectionTag.MASK, *coded)
        return (*coded, SectionTag.SEED) if self.noise else coded

    # -- training ------------------------------------------------------------------------

    def forward(
        self, x: Tensor, labels: Tensor | None = None, mask: Tensor | None = None
    ) -> dict[str, Any]:
        """Training pass on ``N×3×H×W`` (``H``, ``W`` multiples of 16), with SC's
        ``N×H×W`` int64 ``labels`` and ``N×1×H/16×W/16`` bool ``mask``; returns
        ``{"x_hat", "likelihoods": {}}`` (no rate term). Noise, if any, is fresh. A gated SC
        model whose mask drops a block also returns ``"first_features": (h, c(ŵ_all))``,
        both ``N×w4×H/16×W/16``: what enters ``G``'s first norm, and GC's first convolution
        on the whole latent, unmasked (what the objective's ``norm_stats`` term compares)."""
        y = nhwc(self.g_a, x).float()
        w_hat = self.latent_codec(y, mask).y_hat
        if self._gates(labels, mask):
            x_hat, first = self._gated(w_hat, labels, mask)
            with torch.no_grad():  # a target: no graph through the encoder for it
                reference = nhwc(self.g_s.first_conv, self.latent_codec(y).y_hat)
            return {"x_hat": x_hat, "likelihoods": {}, "first_features": (first, reference)}
        noise = None
        if self.noise:
            noise = torch.randn(w_hat.shape[0], self.noise, *w_hat.shape[2:], device=x.device)
        return {"x_hat": self.generate(w_hat, labels, noise, mask), "likelihoods": {}}

    def generate(
        self, w_hat: Tensor, labels: Tensor | None, noise: Tensor | None, mask: Tensor | None
    ) -> Tensor:
        """``G([ŵ, v, m, F(s)])``: the picture of latent ``ŵ`` (``N×C×h×w``); ``mask``
        (``N×1×h×w`` bool, ``None``: keep everything) enters only with ``mask_input`` or
        ``gated_input``."""
        if self._gates(labels, mask):
            return self._gated(w_hat, labels, mask)[0]
        if self.gated_input:  # everything kept: GC's generator exactly; F(s) is not read
            return nhwc(self.g_s, w_hat)
        inputs = [w_hat]
        if noise is not None:
            inputs.append(noise.to(w_hat.dtype))
        if self.mask_input:
            keep = w_hat.new_ones(w_hat[:, :1].shape) if mask is None else mask.to(w_hat.dtype)
            inputs.append(keep)
        if self.label_features is not None:
            inputs.append(self._label_features(labels, w_hat))
        return nhwc(self.g_s, torch.cat(inputs, dim=1))

    def _required(self, labels: Tensor | None) -> Tensor:
        """``labels``, or a :class:`ModelError`: SC always generates from a label map."""
        if labels is None:
            raise ModelError(f"{self.name} generates from a label map: pass labels")
        return labels

    def _label_features(self, labels: Tensor | None, w_hat: Tensor) -> Tensor:
        """``F(s)``: ``N×4·width×h×w`` features of the one-hot label map."""
        return nhwc(self.label_features, self.one_hot(self._required(labels))).to(w_hat.dtype)

    def _gates(self, labels: Tensor | None, mask: Tensor | None) -> bool:
        """Whether :meth:`_gated` generates: a gated SC model whose ``mask`` drops a block
        (``labels`` are then required)."""
        if not self.gated_input:
            return False
        self._required(labels)
        return mask is not None and not bool(mask.all())

    def _gated(self, w_hat: Tensor, labels: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        """``(x̂, h)``: the gated generator's picture and its first-layer features ``h``
        before the first norm (:meth:`_gated_first_layer`)."""
        features = self._label_features(labels, w_hat)
        first = nhwc(self._gated_first_layer, w_hat, features, mask.to(w_hat.dtype))
        return nhwc(self._after_first_layer, first), first

    def _after_first_layer(self, first: Tensor) -> Tensor:
        """``G`` from the first norm on: ``B×w4×h×w → B×3×16h×16w``."""
        return self.g_s.synthesise(self.g_s.first_norm(first))

    def _gated_first_layer(self, w_hat: Tensor, features: Tensor, keep: Tensor) -> Tensor:
        """``m·(c(ŵ) + Δ) + (1 − m)·L([m, F(s), μ(, m·c(ŵ))])``, what enters ``G``'s first
        norm (module docstring; ``Δ = 0`` without ``kept_correction``), ``keep`` the
        ``N×1×h×w`` float mask ``m``."""
        coded = self.g_s.first_conv(w_hat)
        kept = keep.sum((2, 3), keepdim=True).clamp_min(1)
        kept_mean = (coded * keep).sum((2, 3), keepdim=True) / kept
        context = [keep, features, kept_mean.expand_as(coded)]
        if self.context_head:
            context.append(keep * coded)
        invented = self.label_head(torch.cat(context, dim=1))
        if self.kept_correction:
            invented, correction = invented.chunk(2, dim=1)
            coded = coded + correction
        return keep * coded + (1 - keep) * invented

    def one_hot(self, labels: Tensor) -> Tensor:
        """``N×H×W`` class ids → ``N×classes×H×W`` float one-hot."""
        return F.one_hot(labels.long(), self.classes).permute(0, 3, 1, 2).float()

    # -- coding --------------------------------------------------------------------------

    @torch.no_grad()
    def compress(
        self,
        picture: Picture | Tensor,
        *,
        reconstruct: bool = False,
        labels: np.ndarray | None = None,
        keep: KeepRule | None = None,
    ) -> Coded:
        """Code one RGB picture; SC takes ``labels`` (``H×W`` uint8 class ids, required) and
        ``keep`` (default: keep everything).

        Raises:
            ImageInputError: side inputs that do not fit the picture or keep nothing.
        """
        picture = self.picture(picture)
        side = {k: v for k, v in (("labels", labels), ("keep", keep)) if v is not None}
        self.check_side_inputs(side)
        x = picture.tensor
        height, width = x.shape[-2:]
        shape = self.latent_shape(height, width)
        sections: list[bytes] = []
        label_tensor = mask = None
        if self.selective:
            if labels is None:
                raise ImageInputError(f"{self.name} needs a label map of the picture (--labels)")
            check_label_map(labels, height, width, self.classes)
            rule = keep if keep is not None else KeepRule()
            latent_mask = rule.latent_mask(labels, height, width, STRIDE)
            sections += [encode_label_map(labels, self.classes), rule.to_bytes(latent_mask)]
            label_tensor, mask = self._label_tensor(labels), _mask_tensor(latent_mask)
        coded, w_hat = self.latent_codec.compress(self.analyze(*self.padded(picture)), mask)
        sections += coded
        noise = None
        if self.noise:
            seed = zlib.crc32(coded[-1])
            sections.append(seed.to_bytes(4, "little"))
            noise = self._noise(seed, shape)
        if not reconstruct:
            return Coded(sections)
        reconstruction = self._picture(w_hat, label_tensor, noise, mask, height, width)
        return Coded(sections, reconstruction=reconstruction)

    @torch.no_grad()
    def decompress(self, coded: Coded | list[bytes], height: int, width: int) -> Picture:
        if not isinstance(coded, Coded):
            coded = Coded(list(coded))
        self.check_model_flags(coded.model_flags)
        w_hat, labels, noise, mask = self._decode_inputs(coded.sections, height, width)
        return self._picture(w_hat, labels, noise, mask, height, width)

    @torch.no_grad()
    def decompress_latent(self, sections: list[bytes], height: int, width: int) -> Tensor:
        """The decoded ``ŵ`` (zero where the keep-mask drops it)."""
        return self._decode_inputs(sections, height, width)[0]

    def _decode_inputs(
        self, sections: list[bytes], height: int, width: int
    ) -> tuple[Tensor, Tensor | None, Tensor | None, Tensor | None]:
        """``(ŵ, padded labels, noise, keep-mask)`` of a file's sections (see
        :attr:`section_tags`)."""
        sections = list(sections)
        shape = self.latent_shape(height, width)
        label_tensor = mask = noise = None
        if self.selective:
            labels = decode_label_map(sections[0], height, width, self.classes)
            rule, stored = KeepRule.from_bytes(sections[1], shape)
            latent_mask = stored
            if latent_mask is None:
                try:
                    latent_mask = rule.latent_mask(labels, height, width, STRIDE)
                except ImageInputError as err:
                    raise BitstreamError(f"corrupted MASK section: {err}") from err
            label_tensor, mask = self._label_tensor(labels), _mask_tensor(latent_mask)
            sections = sections[2:]
        if self.noise:
            if len(sections[-1]) != 4:
                raise BitstreamError("corrupted SEED section: a seed is 4 bytes")
            noise = self._noise(int.from_bytes(sections[-1], "little"), shape)
            sections = sections[:-1]
        return self.latent_codec.decompress(sections, shape, mask), label_tensor, noise, mask

    def _picture(
        self,
        w_hat: Tensor,
        labels: Tensor | None,
        noise: Tensor | None,
        mask: Tensor | None,
        height: int,
        width: int,
    ) -> Picture:
        """The generated picture, cropped to ``height``×``width`` and clamped to [0, 1]."""
        x_hat = crop(self.generate(w_hat, labels, noise, mask), height, width).clamp_(0, 1)
        return Picture.rgb(x_hat)

    def decompress_latent_batch(self, files: list[list[bytes]], height: int, width: int) -> Tensor:
        raise ModelError(f"{self.name} decodes one file at a time")

    def calibrate(self, images: Any) -> None:
        """Nothing to calibrate: no network decides a coding probability."""

    def _label_tensor(self, labels: np.ndarray) -> Tensor:
        """``1×H'×W'`` int64 labels, edge-padded like the picture."""
        padded = pad_to_multiple(torch.from_numpy(np.array(labels))[None, None].float(), STRIDE)
        return padded[0].long()

    def _noise(self, seed: int, shape: tuple[int, int]) -> Tensor:
        """The decoder's noise channels ``1×noise×h×w`` from ``seed`` (CPU generator)."""
        generator = torch.Generator().manual_seed(seed)
        return torch.randn(1, self.noise, *shape, generator=generator)


def rate_bound_of(model: str, quality: int) -> float | None:
    """The rate bound (bpp) of a registered generative model at ``quality`` (``None`` for
    other models, and qualities it does not have)."""
    if model not in ("gan-gc", "gan-sc") or not 1 <= quality <= len(GAN_CHANNELS):
        return None
    return GAN_CHANNELS[quality - 1] * math.log2(5) / STRIDE**2


def _label_head(in_channels: int, hidden: int, out_channels: int, deep: bool) -> nn.Sequential:
    """The gated input's ``L``: one reflection-padded 3×3 convolution, or (``deep``, the
    context head) three, the first two ``hidden`` wide, with ReLUs between."""
    layers: list[nn.Module] = []
    depth = 3 if deep else 1
    for i in range(depth):
        if i:
            layers.append(nn.ReLU(inplace=True))
        cin, cout = in_channels if i == 0 else hidden, out_channels if i == depth - 1 else hidden
        layers += [nn.ReflectionPad2d(1), nn.Conv2d(cin, cout, 3)]
    return nn.Sequential(*layers)


def _mask_tensor(mask: np.ndarray) -> Tensor:
    """``h×w`` bool → ``1×1×h×w`` bool tensor."""
    return torch.from_numpy(np.ascontiguousarray(mask))[None, None]


def _gan_qualities(**extra: Any) -> dict[int, dict[str, Any]]:
    return {
        q: {"channels": c, "width": 60, "blocks": 9, **extra} for q, c in enumerate(GAN_CHANNELS, 1)
    }


@register(
    "gan-gc",
    _gan_qualities(noise=0),
    "Generative compression (GC): fixed-centre latent, GAN-trained generator, < 0.15 bpp.",
    objective="adversarial",
)
def gan_gc(channels: int, width: int, blocks: int = 9, noise: int = 0) -> GenerativeModel:
    """GC with ``C = channels`` (qualities 1–4: 2, 4, 8, 16) and ``noise`` noise channels."""
    return GenerativeModel(channels, width, blocks, noise=noise)


@register(
    "gan-sc",
    _gan_qualities(classes=len(CAMVID_CLASSES)),
    "Selective generative compression (SC): kept regions coded, the rest synthesised from a "
    "semantic label map stored in the file.",
    objective="adversarial",
)
def gan_sc(
    channels: int,
    width: int,
    blocks: int = 9,
    classes: int = 12,
    mask_input: int = 0,
    gated_input: int = 0,
    context_head: int = 0,
    kept_correction: int = 0,
) -> GenerativeModel:
    """SC with ``C = channels`` over label maps of ``classes`` classes; ``mask_input = 1``
    feeds the keep-mask to the generator (0, as the paper's and the first shipped weights),
    ``gated_input = 1`` gates its first convolution by the mask, ``context_head = 1``
    lets the gate's label head read the kept features and ``kept_correction = 1`` correct
    them (module docstring)."""
    options = {
        "mask_input": mask_input,
        "gated_input": gated_input,
        "context_head": context_head,
        "kept_correction": kept_correction,
    }
    for name, value in options.items():
        if value not in (0, 1):
            raise ValueError(f"{name} is 0 or 1, got {value!r}")
    return GenerativeModel(
        channels,
        width,
        blocks,
        classes=classes,
        mask_input=bool(mask_input),
        gated_input=bool(gated_input),
        context_head=bool(context_head),
        kept_correction=bool(kept_correction),
    )
