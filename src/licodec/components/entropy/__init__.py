"""Entropy models: training likelihoods and real coding through integer tables."""

from licodec.components.entropy.conditional import (
    GaussianConditional,
    LaplaceConditional,
    ScaleTableConditional,
)
from licodec.components.entropy.factorized import FactorizedPrior
from licodec.components.entropy.mixture import GaussianMixtureConditional

__all__ = [
    "FactorizedPrior",
    "GaussianConditional",
    "GaussianMixtureConditional",
    "LaplaceConditional",
    "ScaleTableConditional",
]
