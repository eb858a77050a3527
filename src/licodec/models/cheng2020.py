"""Cheng et al. 2020: residual transforms, optional attention, Gaussian-mixture context model.

Transforms (``N`` channels throughout, ``M = N``; 3×3 convolutions):

* ``g_a``: three (ResBlock/2, ResBlock) pairs, then conv3×3/2: ``3×H×W → N×H/16×W/16``;
  ``-attn`` adds an attention module after the second ResBlock/2 and one at the end.
* ``g_s``: three (ResBlock, ResBlockUp×2) pairs (sub-pixel upsampling), a ResBlock and a
  sub-pixel conv to 3 channels; ``-attn`` adds attention at the start and before the
  third pair.
* ``h_a``: five 3×3 convs (two of stride 2) with leaky ReLUs, ``N → N`` at 1/4 size;
  ``h_s``: 3×3 convs and two sub-pixel ×2 ups to ``2N`` channels.

Entropy model: 5×5 context (``2N`` channels) + ``h_s``, 1×1 convs ``4N → 10N/3 → 8N/3 → 9N``
giving a ``K = 3`` Gaussian mixture (softmax weights, means, scales) per latent element,
used in training and coding alike. ``cheng2020-anchor`` and ``cheng2020-attn`` decode
serially (wavefronts), ``cheng2020-ckbd`` is the anchor network with the two-pass
checkerboard context. Qualities 1–3 use N = 128, 4–6 N = 192, λ from ``MSE_LAMBDAS[:6]``.
"""

from __future__ import annotations

from torch import nn

from licodec.components.entropy import GaussianMixtureConditional
from licodec.components.latent import FactorizedLatentCodec, HyperpriorLatentCodec
from licodec.components.latent.checkerboard import CheckerboardLatentCodec
from licodec.components.latent.context import ContextLatentCodec
from licodec.components.latent.heads import MixtureHead
from licodec.components.latent.serial import SerialContextLatentCodec
from licodec.components.layers import (
    AttentionBlock,
    ResidualBlock,
    ResidualBlockUpsample,
    ResidualBlockWithStride,
    conv,
    subpixel_conv,
)
from licodec.components.quant.base import Quantizer
from licodec.models.base import CompressionModel
from licodec.models.registry import qualities_by_channels, register

MIXTURE_COMPONENTS = 3

QUALITIES = {
    q: config
    for q, config in qualities_by_channels({"n": 128}, {"n": 192}, first_large=4).items()
    if q <= 6
}


def _attention(n: int, enabled: bool) -> list[nn.Module]:
    return [AttentionBlock(n)] if enabled else []


def cheng_analysis(n: int, attention: bool) -> nn.Sequential:
    """``g_a``: ``3×H×W → N×H/16×W/16``."""
    return nn.Sequential(
        ResidualBlockWithStride(3, n),
        ResidualBlock(n, n),
        ResidualBlockWithStride(n, n),
        *_attention(n, attention),
        ResidualBlock(n, n),
        ResidualBlockWithStride(n, n),
        ResidualBlock(n, n),
        conv(n, n, 3, 2),
        *_attention(n, attention),
    )


def cheng_synthesis(n: int, attention: bool) -> nn.Sequential:
    """``g_s``: ``N×H/16×W/16 → 3×H×W``."""
    return nn.Sequential(
        *_attention(n, attention),
        ResidualBlock(n, n),
        ResidualBlockUpsample(n, n),
        ResidualBlock(n, n),
        ResidualBlockUpsample(n, n),
        *_attention(n, attention),
        ResidualBlock(n, n),
        ResidualBlockUpsample(n, n),
        ResidualBlock(n, n),
        subpixel_conv(n, 3),
    )


def cheng_hyper_transforms(n: int) -> tuple[nn.Sequential, nn.Sequential]:
    """``h_a``: ``N → N`` at 1/4 size; ``h_s``: back to ``2N`` channels at y's size."""
    h_a = nn.Sequential(
        conv(n, n, 3, 1),
        nn.LeakyReLU(inplace=True),
        conv(n, n, 3, 1),
        nn.LeakyReLU(inplace=True),
        conv(n, n, 3, 2),
        nn.LeakyReLU(inplace=True),
        conv(n, n, 3, 1),
        nn.LeakyReLU(inplace=True),
        conv(n, n, 3, 2),
    )
    wide = n * 3 // 2
    h_s = nn.Sequential(
        conv(n, n, 3, 1),
        nn.LeakyReLU(inplace=True),
        subpixel_conv(n, n),
        nn.LeakyReLU(inplace=True),
        conv(n, wide, 3, 1),
        nn.LeakyReLU(inplace=True),
        subpixel_conv(wide, wide),
        nn.LeakyReLU(inplace=True),
        conv(wide, 2 * n, 3, 1),
    )
    return h_a, h_s


def cheng_latent_codec(
    n: int, codec: type[ContextLatentCodec], quantizer: Quantizer | None = None
) -> HyperpriorLatentCodec:
    """Cheng 2020's entropy model of an ``N``-channel latent: hyperprior, ``codec`` context
    model and a ``K = 3`` Gaussian-mixture head quantizing with ``quantizer`` (default:
    scalar rounding)."""
    h_a, h_s = cheng_hyper_transforms(n)
    head = MixtureHead(GaussianMixtureConditional(MIXTURE_COMPONENTS), quantizer)
    return HyperpriorLatentCodec(
        h_a, h_s, FactorizedLatentCodec(n, name="z"), codec(n, 2 * n, head)
    )


def cheng_model(
    n: int, attention: bool, codec: type[ContextLatentCodec], quantizer: Quantizer | None = None
) -> CompressionModel:
    """Cheng 2020 transforms around :func:`cheng_latent_codec`."""
    latent = cheng_latent_codec(n, codec, quantizer)
    return CompressionModel(cheng_analysis(n, attention), cheng_synthesis(n, attention), latent)


@register(
    "cheng2020-anchor",
    QUALITIES,
    "Cheng 2020 residual transforms, 3-component Gaussian mixture, serial 5×5 context.",
)
def anchor(n: int) -> CompressionModel:
    """Residual transforms without attention, serial context."""
    return cheng_model(n, False, SerialContextLatentCodec)


@register(
    "cheng2020-attn",
    QUALITIES,
    "Cheng 2020 with simplified attention modules, Gaussian mixture, serial 5×5 context.",
)
def attention(n: int) -> CompressionModel:
    """Residual transforms with attention modules, serial context."""
    return cheng_model(n, True, SerialContextLatentCodec)


@register(
    "cheng2020-ckbd",
    QUALITIES,
    "Cheng 2020 anchor transforms and Gaussian mixture with a two-pass checkerboard context.",
)
def anchor_checkerboard(n: int) -> CompressionModel:
    """Residual transforms without attention, checkerboard context."""
    return cheng_model(n, False, CheckerboardLatentCodec)
