"""Neural network layers used by the transforms."""

from licodec.components.layers.conv import conv, deconv
from licodec.components.layers.gdn import GDN

__all__ = ["GDN", "conv", "deconv"]
