"""Training: configuration, objectives, the loop, and the export of what it trained."""

from licodec.app.training.adversarial import Adversarial
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
from licodec.app.training.postfilter import PostFilterStage

__all__ = [
    "Adversarial",
    "OBJECTIVES",
    "Objective",
    "PostFilterStage",
    "RateDistortion",
    "TrainConfig",
    "TrainResult",
    "loss_lambda",
    "rate_distortion",
    "register_objective",
    "train",
]
