"""Training: configuration, objectives, the loop, and the export of what it trained."""

from licodec.app.training.config import TrainConfig, TrainResult
from licodec.app.training.loop import train
from licodec.app.training.objectives import (
    OBJECTIVES,
    Objective,
    RateDistortion,
    loss_lambda,
    rate_distortion,
    register_objective,
)

__all__ = [
    "OBJECTIVES",
    "Objective",
    "RateDistortion",
    "TrainConfig",
    "TrainResult",
    "loss_lambda",
    "rate_distortion",
    "register_objective",
    "train",
]
