"""Minnen et al. 2018 joint autoregressive and hierarchical priors, serial or checkerboard.

``mbt2018``: GDN transforms and the mean-scale hyperprior of ``mbt2018-mean``, plus a 5×5
mask-A context (``2M`` channels) joined to ``h_s``'s ``2M`` channels by 1×1 convolutions
``4M → 10M/3 → 8M/3 → 2M`` giving ``(σ, μ)`` of a discretised Gaussian. ``mbt2018-ckbd`` is
the same network with He 2021's checkerboard context coded in two passes. Channels follow
CompressAI: N = M = 192 for qualities 1–4, N = 192 and M = 320 for 5–8.
"""

from __future__ import annotations

from torch import nn

from licodec.components.latent import FactorizedLatentCodec, HyperpriorLatentCodec
from licodec.components.latent.checkerboard import CheckerboardLatentCodec
from licodec.components.latent.context import ContextLatentCodec
from licodec.components.latent.heads import EntropyHead, MeanScaleHead
from licodec.components.latent.serial import SerialContextLatentCodec
from licodec.models.base import CompressionModel
from licodec.models.mbt2018 import mean_scale_hyper_transforms
from licodec.models.registry import qualities_by_channels, register
from licodec.models.transforms import gdn_analysis, gdn_synthesis

_QUALITIES = qualities_by_channels({"n": 192, "m": 192}, {"n": 192, "m": 320}, first_large=5)


def joint_model(
    n: int,
    m: int,
    codec: type[ContextLatentCodec],
    head: EntropyHead | None = None,
    transforms: tuple[nn.Module, nn.Module] | None = None,
    post_filter: nn.Module | None = None,
) -> CompressionModel:
    """``transforms`` ``(g_a, g_s)`` (default: the GDN stacks), mean-scale hyperprior and a
    context codec of type ``codec`` coding with ``head`` (default: a Gaussian
    :class:`MeanScaleHead` with scalar rounding), and an optional ``post_filter``."""
    h_a, h_s = mean_scale_hyper_transforms(n, m)
    y_codec = codec(m, 2 * m, head if head is not None else MeanScaleHead())
    latent = HyperpriorLatentCodec(h_a, h_s, FactorizedLatentCodec(n, name="z"), y_codec)
    g_a, g_s = transforms if transforms is not None else (gdn_analysis(n, m), gdn_synthesis(n, m))
    return CompressionModel(g_a, g_s, latent, post_filter=post_filter)


@register(
    "mbt2018",
    _QUALITIES,
    "Minnen 2018 joint autoregressive + mean-scale hyperprior (serial 5×5 context).",
)
def joint_serial(n: int, m: int) -> CompressionModel:
    """Serial mask-A context, decoded in wavefronts ``t = 3i + j``."""
    return joint_model(n, m, SerialContextLatentCodec)


@register(
    "mbt2018-ckbd",
    _QUALITIES,
    "Minnen 2018 mean-scale hyperprior with He 2021's two-pass checkerboard context.",
)
def joint_checkerboard(n: int, m: int) -> CompressionModel:
    """Checkerboard context: anchors from the hyperprior, then non-anchors."""
    return joint_model(n, m, CheckerboardLatentCodec)
