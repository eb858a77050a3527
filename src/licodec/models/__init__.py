"""Model zoo: ``build(name, quality)`` returns an untrained model with coding tables."""

from licodec.models import (  # noqa: F401
    bmshj2018,
    cca,
    cheng2020,
    gan,
    lvqac,
    mbt2018,
    mbt2018_context,
    tucodec,
)
from licodec.models.base import CompressionModel
from licodec.models.registry import MSE_LAMBDAS, available, build, register, spec

__all__ = ["MSE_LAMBDAS", "CompressionModel", "available", "build", "register", "spec"]
