"""Layers of the cross-component YUV 4:2:0 codec (docs/papers.md §1): feature attention
blocks, the information-guided unit and the post-decoder enhancement.

* :class:`ChannelAttention`: ``x ⊙ σ(W₂ ReLU(W₁ mean_{h,w}(x)))`` (squeeze-excitation, ``[D]``
  reduction 4).
* :class:`ResidualChannelAttention` (RCA): ``x + CA(RB(RB(x)))`` — two residual blocks, channel
  attention, a global skip.
* :class:`FeatureAttentionBlock` (FAB): resampling, RCA, FA (Cheng 2020's simplified
  attention, :class:`~licodec.components.layers.AttentionBlock`). ``"down"``: a 3×3 stride-2
  conv (D-FAB, encoder); ``"up"``: a sub-pixel ×2 conv (U-FAB, decoder; ``[D]`` sub-pixel
  rather than a transposed conv, as Cheng's decoder); ``"none"``: a 3×3 stride-1 conv that only
  maps the channels (chroma FABs where the resolution already fits). ``attention=False`` drops
  FA (``[D]`` the FABs at half resolution, where FA costs most). ``residual=True`` ``[D]``
  resamples with Cheng 2020's residual blocks instead of one conv and a leaky ReLU
  (:class:`~licodec.components.layers.ResidualBlockWithStride` down, GDN;
  :class:`~licodec.components.layers.ResidualBlockUpsample` up, IGDN): a linear skip path
  across each resolution change and the divisive normalisation of the RGB twin.
* :class:`InformationGuide` (IGU): at half resolution, from the *original* planes, an
  attention over the four polyphase sub-images of Y (pixel-unshuffle by 2, sub-image ``k`` =
  the pixels ``(2i + k//2, 2j + k%2)``): ``A = softmax_k(conv3×3(LReLU(conv3×3([Y₄, UV]))))``
  (``[D]`` two convs, ``C/4`` hidden channels). The Y features are split into four groups of
  ``C/4`` channels matched to the sub-images; ``g = Σ_k A_k ⊙ F_Y^(k)`` and ``F_UV += W g``
  (``[D]`` ``W`` a 1×1 conv ``C/4 → C``). ``bidirectional=True`` is the paper's two-way
  ablation (BGU): the chroma features also guide luma, spread back over the four groups by
  the same attention, ``F_Y^(k) += A_k ⊙ W' F_UV`` (``[D]`` ``W'`` 1×1, ``C → C/4``).
  Returns the guided features and ``A`` (kept for inspection).
* :class:`CrossComponentEnhancement` (ACEM): after the decoder, ``Ŷ' = Ŷ + f_Y(Ŷ)``, then the
  luma the decoder outputs guides chroma: its sub-images weighted by an attention computed
  from the *decoded* planes (the decoder has no originals, ``[D]``), ``ĝ = Σ_k Â_k ⊙ Ŷ'_k``,
  and ``ÛV' = ÛV + f_UV([ÛV, ĝ])``. ``f_Y``, ``f_UV`` are
  :class:`~licodec.components.layers.PostFilter` bodies, last conv zero (an untrained ACEM is
  the identity); ``[D]`` 12 channels and two residual blocks: with Tucodec's 16 and three, the
  full-resolution luma half took a third of a CPU training step. Each half is switched by its
  own flag.

Shapes: Y features ``B×C×H/2×W/2`` and UV features ``B×C_UV×H/2×W/2`` (``C_UV = C`` unless the
IGU is given ``chroma_channels``); planes ``B×1×H×W`` and ``B×2×H/2×W/2`` (H, W even).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from licodec.components.layers.attention import AttentionBlock
from licodec.components.layers.conv import conv
from licodec.components.layers.postfilter import PostFilter
from licodec.components.layers.residual import (
    ResidualBlock,
    ResidualBlockUpsample,
    ResidualBlockWithStride,
    subpixel_conv,
)

SUBIMAGES = 4
"""Polyphase sub-images of luma at chroma resolution (2×2)."""


class ChannelAttention(nn.Module):
    """Squeeze-excitation channel gate; shapes preserved."""

    def __init__(self, channels: int, reduction: int = 4) -> None:
        super().__init__()
        self.gate = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            conv(channels, channels // reduction, 1, 1),
            nn.ReLU(inplace=True),
            conv(channels // reduction, channels, 1, 1),
            nn.Sigmoid(),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x * self.gate(x)


class ResidualChannelAttention(nn.Module):
    """RCA: ``x + CA(RB(RB(x)))``; shapes preserved."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            ResidualBlock(channels, channels),
            ResidualBlock(channels, channels),
            ChannelAttention(channels),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


_RESAMPLING = ("down", "up", "none")


class FeatureAttentionBlock(nn.Sequential):
    """FAB: resampling (``"down"`` ×½, ``"up"`` ×2, ``"none"``), RCA, FA (module docstring)."""

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        resampling: str = "down",
        attention: bool = True,
        residual: bool = False,
    ) -> None:
        if resampling not in _RESAMPLING:
            raise ValueError(f"resampling is one of {_RESAMPLING}, got {resampling!r}")
        layers: list[nn.Module]
        if residual and resampling != "none":
            block = ResidualBlockWithStride if resampling == "down" else ResidualBlockUpsample
            layers = [block(in_ch, out_ch)]
        elif resampling == "up":
            layers = [subpixel_conv(in_ch, out_ch), nn.LeakyReLU(inplace=True)]
        else:
            stride = 2 if resampling == "down" else 1
            layers = [conv(in_ch, out_ch, 3, stride), nn.LeakyReLU(inplace=True)]
        layers.append(ResidualChannelAttention(out_ch))
        if attention:
            layers.append(AttentionBlock(out_ch))
        super().__init__(*layers)


def subimage_attention(net: nn.Module, luma4: Tensor, chroma: Tensor) -> Tensor:
    """``softmax`` over the four sub-images of ``net([luma4, chroma])``: ``B×4×h×w``."""
    return torch.softmax(net(torch.cat([luma4, chroma], dim=1)), dim=1)


def attention_net(in_ch: int, hidden: int) -> nn.Sequential:
    """The two 3×3 convs that score the four luma sub-images."""
    return nn.Sequential(
        conv(in_ch, hidden, 3, 1), nn.LeakyReLU(inplace=True), conv(hidden, SUBIMAGES, 3, 1)
    )


class InformationGuide(nn.Module):
    """IGU (or BGU with ``bidirectional``) at half resolution (module docstring)."""

    def __init__(
        self, channels: int, bidirectional: bool = False, chroma_channels: int | None = None
    ) -> None:
        super().__init__()
        if channels % SUBIMAGES:
            raise ValueError(f"IGU channels must be a multiple of 4, got {channels}")
        group = channels // SUBIMAGES
        chroma_channels = chroma_channels or channels
        self.score = attention_net(SUBIMAGES + 2, group)
        self.to_chroma = conv(group, chroma_channels, 1, 1)
        self.to_luma = conv(chroma_channels, group, 1, 1) if bidirectional else None

    def forward(
        self, y: Tensor, uv: Tensor, y_features: Tensor, uv_features: Tensor
    ) -> tuple[Tensor, Tensor, Tensor]:
        """``(F_Y', F_UV', A)`` from the original planes and the branch features."""
        attention = subimage_attention(self.score, F.pixel_unshuffle(y, 2), uv)
        b, c, h, w = y_features.shape
        groups = y_features.reshape(b, SUBIMAGES, c // SUBIMAGES, h, w)
        weights = attention.unsqueeze(2)
        guided = (groups * weights).sum(dim=1)
        uv_out = uv_features + self.to_chroma(guided)
        if self.to_luma is None:
            return y_features, uv_out, attention
        back = self.to_luma(uv_features).unsqueeze(1) * weights
        return (groups + back).reshape(b, c, h, w), uv_out, attention


class CrossComponentEnhancement(nn.Module):
    """ACEM: luma enhancement, then luma-guided chroma enhancement (module docstring)."""

    def __init__(self, channels: int = 12, blocks: int = 2) -> None:
        super().__init__()
        self.luma = PostFilter(channels, blocks, planes=1)
        self.score = attention_net(SUBIMAGES + 2, channels)
        self.chroma = PostFilter(channels, blocks, planes=2, guide_planes=1)

    def enhance_luma(self, y_hat: Tensor) -> Tensor:
        """``Ŷ' = Ŷ + f_Y(Ŷ)``: ``B×1×H×W``."""
        return self.luma(y_hat)

    def enhance_chroma(self, y_out: Tensor, uv_hat: Tensor) -> Tensor:
        """``ÛV'`` guided by the luma the decoder outputs (``y_out``, ``B×1×H×W``; H and W are
        padded by repetition to twice the chroma size)."""
        height, width = uv_hat.shape[-2] * 2, uv_hat.shape[-1] * 2
        pad = (0, width - y_out.shape[-1], 0, height - y_out.shape[-2])
        luma4 = F.pixel_unshuffle(F.pad(y_out, pad, mode="replicate") if any(pad) else y_out, 2)
        attention = subimage_attention(self.score, luma4, uv_hat)
        guide = (attention * luma4).sum(dim=1, keepdim=True)
        return self.chroma(uv_hat, guide)
