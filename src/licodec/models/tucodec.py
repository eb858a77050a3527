"""Tucodec (CLIC 2019): non-local attention transforms, learned-centre quantization and a
Laplace hyperprior + context model (docs/papers.md §3).

``tucodec`` is ``mbt2018-ckbd``'s network — GDN transforms, mean-scale hyperprior with a
factorized hyper-latent, masked (checkerboard) context — with three changes, each a model
argument so the paper's ablations are the same model with one switch turned:

* ``attention`` (default on): residual non-local attention blocks
  (:class:`~licodec.components.layers.NonLocalAttentionBlock`), asymmetric ``[R]``: two in
  the encoder (after its second stage, at 1/4 resolution, and on ``y``), one in the decoder
  (on ``ŷ``) — ``[D]`` where; the decoder keeps one so decoding stays cheap;
* ``centres`` (default ``"learned"``): quantization to learned centres around the mean
  (:class:`~licodec.components.quant.centres.LearnedCentreQuantizer`); ``"integer"`` freezes
  them at the integers (rounding, trained with the same relaxation);
* ``distribution`` (default ``"laplace"``): the conditional of each centre's interval,
  ``"laplace"`` or ``"gaussian"``.

Every tucodec carries a post-filter (:class:`~licodec.components.layers.PostFilter`, the
identity until its own training stage, ``--objective post-filter``); files say whether
the decoder applies it. Large pictures run in bands of rows as for the other models; with
attention, band edges and halos are whole attention windows (``stride · window`` = 256 input
rows for ``g_a``, ``window`` latent rows for ``g_s``), so every window sees exactly what it
sees in the whole picture (its 1/4-resolution block's 64-row windows divide 256 too).

``[D]`` the context is the two-pass checkerboard (He 2021), the parallel form of the paper's
masked context, so tucodec fine-tunes from the shipped ``mbt2018-ckbd`` weights: the blocks
start as the identity (zero gain) and the centres as the integers. The transform layers keep
``mbt2018-ckbd``'s names (``g_a.0`` …), the blocks are ``g_a.attention_mid``,
``g_a.attention_y`` and ``g_s.attention_y``.

Qualities ``[D]``: five λ (the paper trained five models per track): 0.0006, then
``mbt2018``'s q1–q4 (0.0018 … 0.0130). The lowest sits below 0.15 bpp on Kodak so a whole
set can be allocated to CLIC's low-rate budget (``licodec allocate``); λ = 0.0009 gave
0.155 bpp, just above it.
"""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

from licodec.components.entropy import GaussianConditional, LaplaceConditional
from licodec.components.latent.checkerboard import CheckerboardLatentCodec
from licodec.components.latent.heads import MeanScaleHead
from licodec.components.layers import NonLocalAttentionBlock, PostFilter
from licodec.components.quant.centres import LearnedCentreQuantizer
from licodec.models.base import CompressionModel
from licodec.models.mbt2018_context import joint_model
from licodec.models.registry import MSE_LAMBDAS, register
from licodec.models.transforms import gdn_analysis, gdn_synthesis

TUCODEC_LAMBDAS = (0.0006, *MSE_LAMBDAS[:4])
"""λ of qualities 1..5."""

_DISTRIBUTIONS = {"laplace": LaplaceConditional, "gaussian": GaussianConditional}
_TABLES: dict[str, dict[str, float]] = {"laplace": {"scale_max": 64.0}, "gaussian": {}}
"""``[D]`` The Laplace tables stop at scale 64 (larger scales use its table, the escape
takes what it misses): its tails are long (``|q| <= 20.7·s`` at tail mass 1e-9, against
``6.1·s`` for the Gaussian), and up to scale 256 its tables would take 5.4 MB of the
weights."""
_CENTRES = ("learned", "integer")


def attention_transforms(n: int, m: int, window: int) -> tuple[nn.Sequential, nn.Sequential]:
    """The GDN stacks with non-local attention blocks inserted (module docstring)."""
    layers = list(gdn_analysis(n, m))
    named = [(str(i), layer) for i, layer in enumerate(layers)]
    g_a = nn.Sequential(
        OrderedDict(
            named[:4]
            + [("attention_mid", NonLocalAttentionBlock(n, window))]
            + named[4:]
            + [("attention_y", NonLocalAttentionBlock(m, window))]
        )
    )
    synthesis = [(str(i), layer) for i, layer in enumerate(gdn_synthesis(n, m))]
    g_s = nn.Sequential(
        OrderedDict([("attention_y", NonLocalAttentionBlock(m, window)), *synthesis])
    )
    return g_a, g_s


@register(
    "tucodec",
    {q: {"n": 192, "m": 192, "lmbda": lmbda} for q, lmbda in enumerate(TUCODEC_LAMBDAS, 1)},
    "Tucodec (CLIC 2019): non-local attention, learned centres, Laplace hyperprior + "
    "checkerboard context.",
)
def tucodec(
    n: int,
    m: int,
    attention: int = 1,
    centres: str = "learned",
    distribution: str = "laplace",
    window: int = 16,
) -> CompressionModel:
    """Tucodec with ``N = n``, ``M = m``; the switches are the ablations (module docstring).

    Args:
        attention: 1 for the non-local attention blocks, 0 for the plain GDN stacks.
        centres: ``"learned"`` or ``"integer"``.
        distribution: ``"laplace"`` or ``"gaussian"``.
        window: attention window side, in positions of the block's map.
    """
    if centres not in _CENTRES:
        raise ValueError(f"centres must be one of {_CENTRES}, got {centres!r}")
    if distribution not in _DISTRIBUTIONS:
        known = sorted(_DISTRIBUTIONS)
        raise ValueError(f"distribution must be one of {known}, got {distribution!r}")
    if attention not in (0, 1):
        raise ValueError(f"attention is 0 or 1, got {attention!r}")
    quantizer = LearnedCentreQuantizer(learn=centres == "learned")
    head = MeanScaleHead(_DISTRIBUTIONS[distribution](**_TABLES[distribution]), quantizer)
    transforms = attention_transforms(n, m, window) if attention else None
    model = joint_model(n, m, CheckerboardLatentCodec, head, transforms, PostFilter())
    if attention:  # bands of whole attention windows (module docstring)
        model.analysis_align = model.analysis_halo = model.stride * window
        model.synthesis_align = model.synthesis_halo = window
    return model
