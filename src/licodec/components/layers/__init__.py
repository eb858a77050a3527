"""Neural network layers used by the transforms."""

from licodec.components.layers.attention import (
    AttentionBlock,
    NonLocalAttentionBlock,
    ResidualUnit,
)
from licodec.components.layers.conv import conv, deconv
from licodec.components.layers.gdn import GDN
from licodec.components.layers.masked_conv import MaskedConv2d, kernel_mask
from licodec.components.layers.polyphase import PolyphaseConvTranspose2d
from licodec.components.layers.postfilter import PostFilter
from licodec.components.layers.residual import (
    ResidualBlock,
    ResidualBlockUpsample,
    ResidualBlockWithStride,
    subpixel_conv,
)

__all__ = [
    "GDN",
    "AttentionBlock",
    "MaskedConv2d",
    "NonLocalAttentionBlock",
    "PolyphaseConvTranspose2d",
    "PostFilter",
    "ResidualBlock",
    "ResidualBlockUpsample",
    "ResidualBlockWithStride",
    "ResidualUnit",
    "conv",
    "deconv",
    "kernel_mask",
    "subpixel_conv",
]
