"""Widen the latent of a trained mean-scale hyperprior, starting close to what it computes.

A model whose every latent channel carries bits at its λ (``y`` saturated: the high-rate
end of a small zoo model) may gain from more channels. Training a wider model from scratch
throws the trained one away; instead :func:`widen_latent` builds the ``M' > M`` model and
embeds the trained weights:

* ``g_a``'s last convolution keeps its ``M`` output filters and gets ``M' − M`` new ones,
  drawn small (``|y_new|`` mostly under ½, so they mostly round to zero);
* ``g_s``'s first layer gets small random weights from the new channels: they barely move
  ``x̂`` while ``ŷ_new`` is mostly 0, yet give ``y_new`` a distortion gradient through the
  straight-through rounding of training;
* every other weight *from* a new unit (new ``y`` channels into ``h_a``, new hidden units of
  ``h_s`` into its next layer) is zero, so ``ẑ`` and the old channels' ``(s, μ)`` are
  unchanged;
* ``h_s``'s hidden layers (``M`` and ``3M/2`` wide) get new units fed by the old ones,
  drawn as the fresh model drew them; its output ``(s, μ)`` block (``2M`` channels laid out
  ``[s_0..s_{M−1}, μ_0..μ_{M−1}]``) is re-laid out as ``[s, s₀, μ, 0]`` for ``2M'``.

A strictly function-preserving start (new ``g_s`` weights zero, new scales at the 0.11
floor) trains into dead channels: with ``ŷ_new = 0`` the straight-through rounding passes no
distortion gradient, and at the floor the noisy rate of ``y_new`` rises so steeply that it
holds ``y_new`` at zero (measured: no new channel carried a bit after 2,500 steps at q6).
So the start costs a little: on Kodak's kodim05 at q6 (M = 96 → 192) the same PSNR and 2.3%
more ``y`` bits, the price of ``s₀ = 0.25`` on channels that code zeros.
"""

from __future__ import annotations

import torch
from torch import Tensor

from licodec.errors import ModelError
from licodec.models import CompressionModel, build

WIDENABLE = ("mbt2018-mean",)
NEW_ANALYSIS_SCALE = 0.1
"""New ``g_a`` filters are the fresh model's initial ones times this."""
NEW_SYNTHESIS_SCALE = 0.3
"""``g_s`` weights from the new channels are the fresh model's initial ones times this."""
NEW_CHANNEL_SCALE = 0.25
"""Initial ``s`` of the new channels: above the scale floor (0.11), where the noisy rate of
``y_new`` is so steep that it pins the channels at zero for good."""


def widen_latent(model: CompressionModel, m: int, seed: int = 0) -> CompressionModel:
    """A ``model.name`` network with ``m`` latent channels that starts close to ``model``.

    Args:
        model: a trained mean-scale hyperprior (``config`` with ``n`` and ``m``).
        m: the new latent width ``M' ≥ M`` (even, so ``h_s``'s ``3M'/2`` is exact).
        seed: seeds the draws of the new units.

    Returns:
        The widened model in eval mode with its coding tables built (no fixed-point
        calibration: run :func:`licodec.app.calibration.calibrate_weights` on an export).

    Raises:
        ModelError: a model this cannot widen, or ``m`` below the current width.
    """
    if model.name not in WIDENABLE:
        raise ModelError(f"cannot widen {model.name!r}: only {', '.join(WIDENABLE)}")
    old_m = model.config["m"]
    if m < old_m or m % 2:
        raise ModelError(f"the new latent width must be even and at least {old_m}, got {m}")
    args = {key: value for key, value in model.config.items() if key != "lmbda"}
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        wide = build(model.name, model.quality, **{**args, "m": m})
    wide.lmbda, wide.config["lmbda"] = model.lmbda, model.config["lmbda"]
    old, new = model.state_dict(), wide.state_dict()
    with torch.no_grad():
        for key, tensor in new.items():
            if key.startswith("latent_codec.h_s_int") or not tensor.is_floating_point():
                continue
            if old[key].shape == tensor.shape:
                tensor.copy_(old[key])
        _widen_analysis_output(new, old, old_m)
        _widen_synthesis_input(new, old, old_m)
        _zero_new_inputs(new["latent_codec.h_a.0.weight"], old["latent_codec.h_a.0.weight"], 1)
        _widen_hidden(new, old, "latent_codec.h_s.0", input_dim=0, output_dim=1)
        _widen_hidden(new, old, "latent_codec.h_s.2", input_dim=0, output_dim=1)
        _widen_scale_mean_head(new, old, "latent_codec.h_s.4", old_m, m)
    wide.load_state_dict(new)
    wide.update()
    return wide.eval()


def _widen_analysis_output(new: dict[str, Tensor], old: dict[str, Tensor], old_m: int) -> None:
    """``g_a``'s last layer: old filters kept, new ones small, new biases zero."""
    weight, bias = new["g_a.6.weight"], new["g_a.6.bias"]
    weight[old_m:] *= NEW_ANALYSIS_SCALE
    weight[:old_m] = old["g_a.6.weight"]
    bias[old_m:] = 0
    bias[:old_m] = old["g_a.6.bias"]


def _widen_synthesis_input(new: dict[str, Tensor], old: dict[str, Tensor], old_m: int) -> None:
    """``g_s``'s first (transposed) layer, inputs along dim 0: old rows kept, new ones small."""
    weight = new["g_s.0.weight"]
    weight[old_m:] *= NEW_SYNTHESIS_SCALE
    weight[:old_m] = old["g_s.0.weight"]


def _zero_new_inputs(weight: Tensor, old: Tensor, dim: int) -> None:
    """Old block copied, weights from the new inputs (along ``dim``) zero."""
    weight.narrow(dim, old.shape[dim], weight.shape[dim] - old.shape[dim]).zero_()
    weight.narrow(dim, 0, old.shape[dim]).copy_(old)


def _widen_hidden(
    new: dict[str, Tensor], old: dict[str, Tensor], layer: str, input_dim: int, output_dim: int
) -> None:
    """A layer whose inputs and outputs both grew: old block kept, rows from new inputs
    zero, new outputs (fed by the old inputs) as the fresh model drew them."""
    weight, old_weight = new[f"{layer}.weight"], old[f"{layer}.weight"]
    old_in, old_out = old_weight.shape[input_dim], old_weight.shape[output_dim]
    weight.narrow(input_dim, old_in, weight.shape[input_dim] - old_in).zero_()
    weight.narrow(input_dim, 0, old_in).narrow(output_dim, 0, old_out).copy_(old_weight)
    new[f"{layer}.bias"][:old_out] = old[f"{layer}.bias"]


def _widen_scale_mean_head(
    new: dict[str, Tensor], old: dict[str, Tensor], layer: str, old_m: int, m: int
) -> None:
    """The ``(s, μ)`` convolution: ``[s, μ]`` rows become ``[s, s₀, μ, 0]`` with
    ``s₀ = NEW_CHANNEL_SCALE`` a constant; inputs from ``h_s``'s new hidden units are zero."""
    weight, bias = new[f"{layer}.weight"], new[f"{layer}.bias"]
    old_weight, old_bias = old[f"{layer}.weight"], old[f"{layer}.bias"]
    old_hidden = old_weight.shape[1]
    weight.zero_()
    bias.zero_()
    for old_start, new_start in ((0, 0), (old_m, m)):
        rows = slice(old_start, old_start + old_m)
        weight[new_start : new_start + old_m, :old_hidden] = old_weight[rows]
        bias[new_start : new_start + old_m] = old_bias[rows]
    bias[old_m:m] = NEW_CHANNEL_SCALE
