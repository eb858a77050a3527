"""Model zoo: ``build(name, quality)`` returns an untrained model with coding tables."""

from licodec.models import bmshj2018, mbt2018  # noqa: F401  (registers the models)
from licodec.models.base import CompressionModel
from licodec.models.registry import MSE_LAMBDAS, available, build, register, spec

__all__ = ["MSE_LAMBDAS", "CompressionModel", "available", "build", "register", "spec"]
