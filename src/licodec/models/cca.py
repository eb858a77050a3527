"""Cross-component attention codec for YUV 4:2:0 pictures (docs/papers.md §1).

``cca-yuv420`` codes the 8-bit planes ``Y`` (``1×H×W``) and ``UV`` (``2×H/2×W/2``) of a
:class:`~licodec.core.picture.Picture` as they are — no RGB round trip — with the layers of
:mod:`licodec.components.layers.cross_component`:

* **AIPM** (analysis): a Y branch, ``D-FAB(1 → N/2)`` to H/2, and a UV branch,
  ``FAB(2 → N/2)`` without resampling ``[D]`` (chroma already sits at H/2); the **IGU** at
  H/2 lets the original luma's polyphase sub-images guide the chroma features
  (``guide="bgu"``: two-way, ``"none"``: no guidance — the ablations); then three D-FABs
  per branch to H/16 and the **fusion** ``PReLU(conv1×1([F_Y, F_UV]))`` into one
  ``M``-channel latent.
* **Synthesis**: the **split** ``PReLU(conv1×1(ŷ)) → [S_Y, S_UV]`` (``N`` channels each),
  three U-FABs per stream to H/2 (the last to ``N/2``), then ``subpixel×2(N/2 → 1)`` for Ŷ
  and ``conv3×3(N/2 → 2)`` for ÛV ``[D]`` (no FAB at full resolution: it would cost more
  than the rest of the decoder).
* ``[D]`` at H/2 the FABs carry ``N/2`` channels and no FA (the attention in each FAB; it is
  there at H/4 and below): at full width the four H/2 blocks took three times the whole
  ``cheng2020-anchor``'s training step on one CPU thread; the RCA stays everywhere.
  ``luma_width`` widens the luma stream's two H/2 blocks alone (``N/2`` when 0; the IGU then
  maps ``luma_width/4`` guide channels to the chroma's ``N/2``). The shipped weights use
  ``luma_width = N`` ``[D]``, the width of ``cheng2020-anchor`` at H/2: luma is what trailed
  the RGB twin (0.7 dB). Its training step costs 1.27× (1.61 s against 1.27 s, one thread,
  batch 8 of 128²); at 1,500 steps of the same recipe it learned no slower after step 1,100
  and on held-out CamVid val frames it gains 0.10 dB PSNR-YUV (Y +0.11, U +0.11 dB,
  MS-SSIM-Y +0.003) at equal rate (0.278 bpp).
* ``residual_resampling = 1`` ``[D]`` (the shipped weights; 0, the paper's FAB, is the
  default): every FAB that changes the resolution does it with Cheng 2020's residual block —
  ``GDN(conv(LReLU(conv↓(x)))) + conv1×1↓(x)`` down, its sub-pixel/IGDN mirror up — instead of
  one conv and a leaky ReLU: a linear path across each resolution change and the divisive
  normalisation of the RGB twin, whose luma led by 0.6 dB. Trained end to end with the same
  recipe (2,700 steps), on held-out CamVid val frames it gains 0.49 dB PSNR-YUV at equal
  rate at q1 (Y +0.45 dB), and at λ = 0.006 it comes within 0.05 dB of the paper's FABs'
  q1 with 31% fewer bits; its training step costs 1.27× (one thread).
* ``linear_fusion = 1`` (a fusion without its PReLU, so the latent is linear in the last
  features as in ``cheng2020-anchor``) and ``feature_attention = 0`` (no FA in any FAB) are
  ablations, not the shipped layers: as stage-A twins of the shipped recipe (1,500 steps,
  q2) each is dominated on Kodak as 4:2:0 (+2.9% rate and −0.17 dB PSNR-YUV; +8.8% and
  −0.21 dB) and on held-out CamVid val frames. So is ``shared_synthesis = 1`` (no split: both
  planes decoded from the luma stream's features by two heads, the RGB twin's decoder
  shape): +2.2% rate and −0.35 dB, chroma −1.1 dB and luma −0.09 dB — the split serves
  chroma and is not where the twin's luma lead comes from.
* **Entropy model**: Cheng 2020's hyperprior, 5×5 context and ``K = 3`` Gaussian mixture
  (:func:`~licodec.models.cheng2020.cheng_latent_codec`), serial (the paper's) or
  ``context="checkerboard"`` (two passes); its parameter networks have the integer
  (fixed-point) path, so files decode to identical latents everywhere.
* **ACEM** after the decoder (``acem=0`` drops it, the ablation), trained jointly ``[D]`` (it
  starts as the identity). Two model-flag bits, :data:`ENHANCE_Y` and :data:`ENHANCE_UV`:
  the encoder sets each only where it lowers that component's squared error (by
  ``post_filter_min_gain_db``), luma first — chroma is guided by the luma the decoder will
  output. Trained on the synthesis' raw output, the ACEM runs on it unclamped in the codec
  too, and the planes are clamped to [0, 1] once, after it: the shipped synthesis overshoots
  on bright flat areas (a white sky at 1.17) and leaves the ACEM to pull them back.

Training loss ``R + λ·255²·(w_Y·MSE_Y + w_U·MSE_U + w_V·MSE_V)`` with ``(w_Y, w_U, w_V) =
(luma_weight, 1, 1) / (luma_weight + 2)``, ``[D]`` ``luma_weight = 6`` by default (PSNR-YUV's
weights on the PSNRs). PSNR-YUV weighs each plane's *PSNR*, and ``∂PSNR_c/∂MSE_c ∝ 1/MSE_c``,
so the MSE weights that maximise it are ``w_c / MSE_c``: with chroma 8–16 dB cleaner than
luma, chroma should weigh 1–6 times luma per plane, not a sixth ``[D]``. The shipped weights'
stages A, A2 and A3 (``tools/cca_twins.sh``) use ``luma_weight = 1``, with λ four times the
registered one so that the distortion sits at the RGB twin's scale: on held-out CamVid val
frames that gained 0.8 dB PSNR-YUV at equal rate over ``(6, 1, 1)/8`` (U/V +4–5 dB, Y within
0.1 dB). Where it left the planes (chroma 14–16 dB cleaner, ``MSE_Y/MSE_U ≈ 25–40``) the
same rule asks for ``w_Y/w_U = 6·MSE_U/MSE_Y ≈ 0.15–0.25``, so their last 200 steps (stage B)
run at ``luma_weight = 0.25`` (λ = 0.006, 0.02, 0.06, 0.18, 0.54 for q1–q5; lighter luma weights
need about 2.5 times the λ for the same rate). Against stage B at ``luma_weight = 1`` from
the same stage A2 (q1, q3, q4; held-out CamVid val): +0.06–0.07 dB PSNR-YUV at equal rate,
Y within 0.05 dB, U +0.14–0.38, V +0.29–0.52 dB.
RGB training crops are converted by :func:`~licodec.core.yuv.rgb_to_yuv420_batch` (BT.709
limited range, 2×2 mean chroma, rounded to 8 bits). Rate: bits per luma pixel.

Qualities ``[D]``: λ = 0.002, 0.006, 0.018, 0.054, 0.162 (×3 apart), meant to span about
0.1–1 bpp; the paper's 0.015 … 0.06 sit in the upper half of that range. ``N = M = 128`` registered;
the shipped CPU-trained weights use ``N = M = 64`` (their manifest says so).

**Centred planes** ``[D]`` (``chroma_gain = 4`` in ``tools/cca_twins.sh`` and in the shipped
weights' config; the factory default 0 feeds the planes as they are, as models before it did): the
analysis sees ``(Y − ½, g·(UV − ½))`` and the synthesis returns ``(½ + f_Y, ½ + f_UV / g)``,
so neither stream spends its first steps learning the mid-grey offset, and chroma, whose
spread in 8-bit BT.709 is about a quarter of luma's, enters and leaves at luma's scale. In a
300-step probe at q2 (train crops, one seed) the training loss was 2.84 with ``g = 4``, 2.87
with centring alone and 3.11 without; before it, a 1,200-step model left chroma flat grey
(Kodak U/V 28.4–29.2 dB), after it the shipped 1,500–1,700-step ones reach 33.3–34.2 dB.

Pictures are not banded (``band_pixels = None``): memory grows with the picture.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from licodec.components.latent.checkerboard import CheckerboardLatentCodec
from licodec.components.latent.serial import SerialContextLatentCodec
from licodec.components.layers import conv, subpixel_conv
from licodec.components.layers.cross_component import (
    CrossComponentEnhancement,
    FeatureAttentionBlock,
    InformationGuide,
)
from licodec.core.colour import CodedFormat
from licodec.core.image import crop, pad_to_multiple
from licodec.core.picture import Coded, Picture
from licodec.core.yuv import rgb_to_yuv420_batch
from licodec.models.base import CompressionModel, lowers_error, nhwc
from licodec.models.cheng2020 import cheng_latent_codec
from licodec.models.registry import register

ENHANCE_Y = 0x01
"""Model-flag bit: the decoder enhances luma (ACEM's first half)."""
ENHANCE_UV = 0x02
"""Model-flag bit: the decoder enhances chroma (ACEM's second half)."""

CCA_LAMBDAS = (0.002, 0.006, 0.018, 0.054, 0.162)
"""λ of qualities 1..5."""

_CONTEXTS = {"serial": SerialContextLatentCodec, "checkerboard": CheckerboardLatentCodec}
_GUIDES = ("igu", "bgu", "none")


def _stages(n: int, half: int, resampling: str, residual: bool, attention: bool) -> list[nn.Module]:
    """Three FABs between H/2 (``half`` channels) and H/16 (``N``); FA only at H/4 and below
    (module docstring), and nowhere without ``attention``."""
    if resampling == "down":
        return [
            FeatureAttentionBlock(half if i == 0 else n, n, "down", attention, residual)
            for i in range(3)
        ]
    return [
        FeatureAttentionBlock(n, half if i == 2 else n, "up", attention and i < 2, residual)
        for i in range(3)
    ]


class CrossComponentAnalysis(nn.Module):
    """AIPM + IGU + fusion: ``(B×1×H×W, B×2×H/2×W/2) → B×M×H/16×W/16`` (module docstring);
    ``chroma_gain > 0`` centres the planes first; ``linear_fusion`` drops the fusion's PReLU."""

    def __init__(
        self,
        n: int,
        m: int,
        guide: str,
        chroma_gain: float,
        luma_width: int,
        residual: bool,
        *,
        attention: bool = True,
        linear_fusion: bool = False,
    ) -> None:
        super().__init__()
        self.chroma_gain = chroma_gain
        half = n // 2
        self.luma_in = FeatureAttentionBlock(1, luma_width, "down", False, residual)
        self.chroma_in = FeatureAttentionBlock(2, half, "none", attention=False)
        self.guide = None if guide == "none" else InformationGuide(luma_width, guide == "bgu", half)
        self.luma = nn.Sequential(*_stages(n, luma_width, "down", residual, attention))
        self.chroma = nn.Sequential(*_stages(n, half, "down", residual, attention))
        activation = [] if linear_fusion else [nn.PReLU(m)]
        self.fusion = nn.Sequential(conv(2 * n, m, 1, 1), *activation)
        self.attention: Tensor | None = None
        """The IGU's attention over the four luma sub-images (``B×4×H/2×W/2``) of the last
        picture analysed outside training."""

    def forward(self, y: Tensor, uv: Tensor) -> Tensor:
        if self.chroma_gain:
            y, uv = y - 0.5, (uv - 0.5) * self.chroma_gain
        luma, chroma = self.luma_in(y), self.chroma_in(uv)
        if self.guide is not None:
            luma, chroma, attention = self.guide(y, uv, luma, chroma)
            if not torch.is_grad_enabled():
                self.attention = attention
        return self.fusion(torch.cat([self.luma(luma), self.chroma(chroma)], dim=1))


class CrossComponentSynthesis(nn.Module):
    """Split + two streams: ``B×M×h×w → (B×1×16h×16w, B×2×8h×8w)`` (module docstring);
    ``chroma_gain > 0`` undoes the analysis's centring. ``shared`` (the ablation of the
    split) decodes both planes from one stream, as an RGB decoder does: ``conv1×1(M → N)`` +
    PReLU, the luma stream's three U-FABs (``trunk``), then the two heads on its H/2 features."""

    def __init__(
        self,
        n: int,
        m: int,
        chroma_gain: float,
        luma_width: int,
        residual: bool,
        *,
        attention: bool = True,
        shared: bool = False,
    ) -> None:
        super().__init__()
        self.n = n
        self.chroma_gain = chroma_gain
        streams = 1 if shared else 2
        self.split = nn.Sequential(conv(m, streams * n, 1, 1), nn.PReLU(streams * n))
        luma = _stages(n, luma_width, "up", residual, attention)
        if shared:
            self.trunk: nn.Sequential | None = nn.Sequential(*luma)
            self.luma = subpixel_conv(luma_width, 1)
            self.chroma = conv(luma_width, 2, 3, 1)
        else:
            self.trunk = None
            self.luma = nn.Sequential(*luma, subpixel_conv(luma_width, 1))
            chroma = _stages(n, n // 2, "up", residual, attention)
            self.chroma = nn.Sequential(*chroma, conv(n // 2, 2, 3, 1))

    def forward(self, y_hat: Tensor) -> tuple[Tensor, Tensor]:
        if self.trunk is not None:
            features = self.trunk(self.split(y_hat))
            luma, chroma = self.luma(features), self.chroma(features)
        else:
            luma, chroma = self.split(y_hat).split(self.n, dim=1)
            luma, chroma = self.luma(luma), self.chroma(chroma)
        if self.chroma_gain:
            luma, chroma = luma + 0.5, chroma / self.chroma_gain + 0.5
        return luma, chroma


class CrossComponentModel(CompressionModel):
    """A YUV 4:2:0 codec: two-plane transforms, one latent, optional ACEM (module docstring).

    Args:
        g_a: :class:`CrossComponentAnalysis`.
        g_s: :class:`CrossComponentSynthesis`.
        latent_codec: codes the fused latent.
        enhancement: the ACEM, or ``None``.
        luma_weight: ``w_Y / w_U`` of the training distortion (``w_U = w_V``).
    """

    input_format = CodedFormat.YUV420
    band_pixels = None

    def __init__(
        self,
        g_a: CrossComponentAnalysis,
        g_s: CrossComponentSynthesis,
        latent_codec: nn.Module,
        enhancement: CrossComponentEnhancement | None,
        luma_weight: float,
    ) -> None:
        super().__init__(g_a, g_s, latent_codec)
        self.enhancement = enhancement
        self.model_flag_bits = 0 if enhancement is None else ENHANCE_Y | ENHANCE_UV
        total = luma_weight + 2
        self.distortion_weights = (luma_weight / total, 1 / total, 1 / total)

    def planes_of(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """An RGB training batch as 8-bit 4:2:0 planes."""
        return rgb_to_yuv420_batch(x)

    def forward(self, y: Tensor, uv: Tensor) -> dict:
        """Training / estimation pass: ``{"x_hat": (Ŷ, ÛV), "likelihoods": …}`` (H, W
        multiples of ``pad_multiple``); the ACEM, when built, is always on here."""
        latent = self.analyze(y, uv)
        with torch.autocast(y.device.type, enabled=False):
            out = self.latent_codec(latent.float())
        return {"x_hat": self.reconstruct(out.y_hat), "likelihoods": out.likelihoods}

    def reconstruct(self, y_hat: Tensor) -> tuple[Tensor, Tensor]:
        """``(Ŷ, ÛV)`` of the padded picture with the ACEM, when built, on (the training
        path; files switch each half by its flag)."""
        luma, chroma = self.synthesize(y_hat)
        if self.enhancement is not None:
            luma = self.enhancement.enhance_luma(luma)
            chroma = self.enhancement.enhance_chroma(luma, chroma)
        return luma, chroma

    def analyze(self, y: Tensor, uv: Tensor) -> Tensor:  # type: ignore[override]
        """The fused latent of padded planes (channels-last, see :func:`nhwc`)."""
        return nhwc(self.g_a, y, uv)

    def synthesize(self, y_hat: Tensor) -> tuple[Tensor, Tensor]:  # type: ignore[override]
        """``(Ŷ, ÛV)`` of the padded picture."""
        return nhwc(self.g_s, y_hat)

    def padded(self, picture: Picture) -> tuple[Tensor, Tensor]:
        """Y padded to multiples of ``pad_multiple``, UV to half of it (so it stays half Y's
        size)."""
        y, uv = picture.planes
        return pad_to_multiple(y, self.pad_multiple), pad_to_multiple(uv, self.pad_multiple // 2)

    def _decoded(self, y_hat: Tensor, height: int, width: int) -> tuple[Tensor, Tensor]:
        """``(Ŷ, ÛV)`` cropped to the picture and *not* clamped: the ACEM was trained on the
        synthesis' unclamped output (:meth:`reconstruct`), and a synthesis that overshoots
        [0, 1] where the ACEM pulls it back (bright skies) decodes wrong if clamped first."""
        luma, chroma = self.synthesize(y_hat)
        return crop(luma, height, width), crop(chroma, -(-height // 2), -(-width // 2))

    def _calibration_latent(self, x: Tensor) -> Tensor:
        y, uv = self.planes_of(pad_to_multiple(x, self.pad_multiple))
        return self.analyze(y, uv).float()

    @torch.no_grad()
    def compress(
        self, picture: Picture | Tensor, *, reconstruct: bool = False, **side: Tensor
    ) -> Coded:
        """Code one 4:2:0 picture (sections, ACEM flags, and the reconstruction if asked)."""
        picture = self.picture(picture)
        self.check_side_inputs(side)
        sections, y_hat = self.latent_codec.compress(self.analyze(*self.padded(picture)))
        enhancing = self.enhancement is not None and self.try_post_filter
        if not reconstruct and not enhancing:
            return Coded(sections)
        luma, chroma = self._decoded(y_hat, picture.height, picture.width)
        flags = 0
        if enhancing:
            y, uv = picture.planes
            gain_db = self.post_filter_min_gain_db
            candidate = self.enhancement.enhance_luma(luma)
            if lowers_error(candidate.clamp(0, 1), luma.clamp(0, 1), y, gain_db):
                luma, flags = candidate, ENHANCE_Y
            candidate = self.enhancement.enhance_chroma(luma, chroma)
            if lowers_error(candidate.clamp(0, 1), chroma.clamp(0, 1), uv, gain_db):
                chroma, flags = candidate, flags | ENHANCE_UV
        decoded = Picture(_clamped(luma, chroma), self.input_format) if reconstruct else None
        return Coded(sections, flags, reconstruction=decoded)

    @torch.no_grad()
    def decompress(self, coded: Coded | list[bytes], height: int, width: int) -> Picture:
        """Decode a ``height``×``width`` 4:2:0 picture, applying the ACEM halves the flags
        name."""
        if not isinstance(coded, Coded):
            coded = Coded(list(coded))
        self.check_model_flags(coded.model_flags)
        y_hat = self.decompress_latent(coded.sections, height, width)
        luma, chroma = self._decoded(y_hat, height, width)
        if coded.model_flags & ENHANCE_Y:
            luma = self.enhancement.enhance_luma(luma)
        if coded.model_flags & ENHANCE_UV:
            chroma = self.enhancement.enhance_chroma(luma, chroma)
        return Picture(_clamped(luma, chroma), self.input_format)


def _clamped(luma: Tensor, chroma: Tensor) -> tuple[Tensor, Tensor]:
    """The decoded planes, clamped to [0, 1] once every ACEM half that runs has run."""
    return luma.clamp_(0, 1), chroma.clamp_(0, 1)


@register(
    "cca-yuv420",
    {q: {"n": 128, "m": 128, "lmbda": lmbda} for q, lmbda in enumerate(CCA_LAMBDAS, 1)},
    "Cross-component attention codec for YUV 4:2:0: IGU-guided chroma, FABs, Cheng 2020 "
    "mixture context, ACEM.",
    input_format=CodedFormat.YUV420,
)
def cca_yuv420(
    n: int,
    m: int,
    guide: str = "igu",
    acem: int = 1,
    context: str = "serial",
    luma_weight: float = 6.0,
    chroma_gain: float = 0.0,
    luma_width: int = 0,
    residual_resampling: int = 0,
    feature_attention: int = 1,
    linear_fusion: int = 0,
    shared_synthesis: int = 0,
) -> CrossComponentModel:
    """The cross-component codec with ``N = n`` feature and ``M = m`` latent channels.

    Args:
        guide: ``"igu"`` (the paper's), ``"bgu"`` (two-way) or ``"none"``.
        acem: 1 for the post-decoder enhancement, 0 without.
        context: ``"serial"`` (the paper's) or ``"checkerboard"``.
        luma_weight: ``w_Y / w_U`` of the training distortion.
        chroma_gain: ``g`` of the centred planes (module docstring); 0 for raw planes.
        luma_width: channels of the luma stream at H/2 (module docstring); 0 for ``N/2``.
        residual_resampling: 1 resamples in every FAB with Cheng 2020's residual GDN blocks
            (module docstring), 0 with the paper's conv.
        feature_attention: 1 keeps FA in the FABs at H/4 and below (the paper's), 0 drops it
            everywhere.
        linear_fusion: 1 makes the fusion one 1×1 conv (a linear latent, as
            ``cheng2020-anchor``'s last conv), 0 the paper's conv + PReLU.
        shared_synthesis: 1 decodes Y and UV from one stream (no split: the RGB twin's
            decoder shape), 0 the paper's split into a luma and a chroma stream.
    """
    if chroma_gain < 0:
        raise ValueError(f"chroma_gain must be 0 (raw planes) or positive, got {chroma_gain!r}")
    if guide not in _GUIDES:
        raise ValueError(f"guide must be one of {_GUIDES}, got {guide!r}")
    if context not in _CONTEXTS:
        raise ValueError(f"context must be one of {sorted(_CONTEXTS)}, got {context!r}")
    if luma_weight <= 0:
        raise ValueError(f"luma_weight must be positive, got {luma_weight!r}")
    if luma_width < 0 or luma_width % 4:
        raise ValueError(f"luma_width must be 0 (N/2) or a multiple of 4, got {luma_width!r}")
    for name, value in (
        ("acem", acem),
        ("residual_resampling", residual_resampling),
        ("feature_attention", feature_attention),
        ("linear_fusion", linear_fusion),
        ("shared_synthesis", shared_synthesis),
    ):
        if value not in (0, 1):
            raise ValueError(f"{name} is 0 or 1, got {value!r}")
    luma_width = luma_width or n // 2
    residual, attention = bool(residual_resampling), bool(feature_attention)
    return CrossComponentModel(
        CrossComponentAnalysis(
            n,
            m,
            guide,
            chroma_gain,
            luma_width,
            residual,
            attention=attention,
            linear_fusion=bool(linear_fusion),
        ),
        CrossComponentSynthesis(
            n,
            m,
            chroma_gain,
            luma_width,
            residual,
            attention=attention,
            shared=bool(shared_synthesis),
        ),
        cheng_latent_codec(m, _CONTEXTS[context]),
        CrossComponentEnhancement() if acem else None,
        float(luma_weight),
    )
