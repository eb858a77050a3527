"""Rate-distortion reports: load result files, Bjøntegaard delta rate, RD plots.

Result files use CompressAI's JSON layout::

    {"name": str, "description": str, "meta": {...},
     "results": {"bpp": [...], "psnr-rgb": [...], "ms-ssim-rgb": [...], ...}}

with one list entry per rate point. Published files vary, so :func:`load_results` normalises
them: ``psnr`` → ``psnr-rgb``, ``ms-ssim`` → ``ms-ssim-rgb``, ``ms-ssim-db`` →
``ms-ssim-db-rgb``; a scalar becomes a one-element list; a list of per-point objects is
transposed; non-numeric entries and auxiliary series of another length are dropped (a metric
series whose length differs from ``bpp`` is an error); MS-SSIM in dB is derived from linear
MS-SSIM and back::

    ms-ssim-db = −10 · log10(1 − ms-ssim)        ms-ssim = 1 − 10^(−ms-ssim-db / 10)

and the points are sorted by bpp. A missing metric simply stays missing.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy.interpolate import PchipInterpolator

ResultLike = str | os.PathLike[str] | Mapping[str, Any]

_KEY_ALIASES = {
    "psnr": "psnr-rgb",
    "psnr_rgb": "psnr-rgb",
    "ms-ssim": "ms-ssim-rgb",
    "ms_ssim": "ms-ssim-rgb",
    "msssim": "ms-ssim-rgb",
    "ms-ssim-db": "ms-ssim-db-rgb",
    "ms_ssim_db": "ms-ssim-db-rgb",
    "encoding-time": "encoding_time",
    "decoding-time": "decoding_time",
}

_YUV_KEYS = {"psnr-y", "psnr-u", "psnr-v", "psnr-yuv", "ms-ssim-y", "ms-ssim-db-y"}
_CURVE_KEYS = {"psnr-rgb", "ms-ssim-rgb", "ms-ssim-db-rgb", *_YUV_KEYS}

_METRIC_ALIASES = {
    "psnr": "psnr-rgb",
    "psnr-rgb": "psnr-rgb",
    "ms-ssim": "ms-ssim-db-rgb",
    "ms-ssim-rgb": "ms-ssim-db-rgb",
    "ms-ssim-db": "ms-ssim-db-rgb",
    "ms-ssim-db-rgb": "ms-ssim-db-rgb",
    **{key: key for key in ("psnr-y", "psnr-u", "psnr-v", "psnr-yuv")},
    "ms-ssim-y": "ms-ssim-db-y",
    "ms-ssim-db-y": "ms-ssim-db-y",
}
"""Metric names accepted by the BD-rate functions (4:2:0 results: ``psnr-yuv`` … and
``ms-ssim-y``). MS-SSIM is always fitted in dB: the linear value saturates near 1, where a
cubic fit of log-rate is badly conditioned."""


def ms_ssim_to_db(value: float) -> float:
    """``−10·log10(1 − ms_ssim)``; +∞ for ms_ssim = 1."""
    return math.inf if value >= 1.0 else -10.0 * math.log10(1.0 - value)


def ms_ssim_from_db(value: float) -> float:
    """Inverse of :func:`ms_ssim_to_db`: ``1 − 10^(−dB/10)``."""
    return 1.0 - 10.0 ** (-value / 10.0)


def load_results(path: ResultLike) -> dict[str, Any]:
    """Read a result JSON (ours or a published anchor) and normalise it (see module doc).

    Returns a new dict with ``name`` (the file stem when missing), ``description``, ``meta``
    (with ``path`` added), and ``results``: lists of floats of equal length sorted by ``bpp``.

    Raises:
        ValueError: not a JSON object, no ``results``/``bpp``, or lists of different lengths.
        OSError: the file cannot be read.
    """
    if isinstance(path, Mapping):
        raw: Any = dict(path)
        source = str((raw.get("meta") or {}).get("path", "<dict>"))
    else:
        p = Path(path)
        try:
            raw = json.loads(p.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise ValueError(f"{p}: not valid JSON ({err})") from err
        source = str(p)
    if not isinstance(raw, dict):
        raise ValueError(f"{source}: expected a JSON object with 'results'")
    results_in = raw.get("results")
    if (
        isinstance(results_in, list)
        and results_in
        and all(isinstance(point, Mapping) for point in results_in)
    ):  # one object per RD point: transpose to lists
        keys = set().union(*(point.keys() for point in results_in))
        results_in = {k: [point.get(k) for point in results_in] for k in keys}
    if not isinstance(results_in, Mapping):
        raise ValueError(f"{source}: no 'results' object")

    results: dict[str, list[float]] = {}
    for key, values in results_in.items():
        name = _KEY_ALIASES.get(str(key).lower(), str(key).lower())
        if name in results and name != key:
            continue  # the canonical key wins over an alias
        if isinstance(values, int | float):
            values = [values]
        if not isinstance(values, list) or not all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in values
        ):
            continue  # per-image tables or strings: not a curve
        results[name] = [float(v) for v in values]

    if "bpp" not in results:
        raise ValueError(f"{source}: results have no 'bpp'")
    n = len(results["bpp"])
    if n == 0:
        raise ValueError(f"{source}: results are empty")
    for key, values in list(results.items()):
        if len(values) == n:
            continue
        if key not in _CURVE_KEYS:
            del results[key]  # auxiliary series of another length: not part of the curve
            continue
        raise ValueError(f"{source}: results['{key}'] has {len(values)} values but 'bpp' has {n}")

    for plane in ("rgb", "y"):
        linear, db = f"ms-ssim-{plane}", f"ms-ssim-db-{plane}"
        if linear in results and db not in results:
            results[db] = [ms_ssim_to_db(v) for v in results[linear]]
        elif db in results and linear not in results:
            results[linear] = [ms_ssim_from_db(v) for v in results[db]]

    order = sorted(range(n), key=lambda i: results["bpp"][i])
    results = {k: [v[i] for i in order] for k, v in results.items()}

    meta = dict(raw.get("meta") or {})
    meta.setdefault("path", source)
    fallback = Path(source).stem if source != "<dict>" else "unnamed"
    return {
        "name": str(raw.get("name") or fallback),
        "description": str(raw.get("description") or ""),
        "meta": meta,
        "results": results,
    }


def canonical_metric(metric: str) -> str:
    """Map a metric name (``psnr``, ``psnr-rgb``, ``ms-ssim``, ``ms-ssim-db-rgb`` …) to the
    results key used for BD-rate; MS-SSIM maps to its dB form."""
    key = metric.lower()
    if key not in _METRIC_ALIASES:
        raise ValueError(f"unknown metric {metric!r}; use one of {sorted(_METRIC_ALIASES)}")
    return _METRIC_ALIASES[key]


def bd_rate(
    anchor_rate: Sequence[float],
    anchor_psnr: Sequence[float],
    test_rate: Sequence[float],
    test_psnr: Sequence[float],
    method: str = "cubic",
) -> float:
    """Bjøntegaard delta rate of a test curve against an anchor, in percent.

    For each curve model log-rate as a function of quality, ``ln R ≈ P(D)``: ``"cubic"`` (the
    original metric) fits a cubic polynomial by least squares over its points; ``"pchip"``
    (the piecewise variant) interpolates them with the monotone piecewise cubic Hermite
    interpolant (Fritsch–Carlson). Over the overlap
    ``[D_lo, D_hi] = [max(min D_a, min D_t), min(max D_a, max D_t)]``::

        ΔlnR  = (∫ P_t(D) dD − ∫ P_a(D) dD) / (D_hi − D_lo)
        BD    = (exp(ΔlnR) − 1) · 100

    Negative values mean the test curve needs less rate for the same quality. "PSNR" may be
    any quality in dB (e.g. MS-SSIM in dB). Rates may be in any unit shared by both curves.
    With four points the cubic passes through all of them, and where they are unevenly
    spaced in quality (a curve that flattens) it can swing far from both neighbours between
    them; the piecewise interpolant stays between neighbouring points where they are
    monotone.

    Raises:
        ValueError: fewer than 4 points, non-positive or non-finite values, repeated quality
            values, curves that do not overlap in quality, or an unknown ``method``.
    """
    if method not in BD_METHODS:
        raise ValueError(f"BD-rate method is one of {BD_METHODS}, got {method!r}")
    ra, da = _curve(anchor_rate, anchor_psnr, "anchor")
    rt, dt = _curve(test_rate, test_psnr, "test")
    lo = max(da.min(), dt.min())
    hi = min(da.max(), dt.max())
    if not hi > lo:
        raise ValueError(
            "curves do not overlap in quality: anchor spans "
            f"{da.min():.3f}–{da.max():.3f} dB, test spans {dt.min():.3f}–{dt.max():.3f} dB"
        )
    area = _AREAS[method]
    diff = (area(dt, np.log(rt), lo, hi) - area(da, np.log(ra), lo, hi)) / (hi - lo)
    return float((math.exp(diff) - 1.0) * 100.0)


def _cubic_area(quality: np.ndarray, log_rate: np.ndarray, lo: float, hi: float) -> float:
    """``∫_lo^hi P(D) dD`` of the least-squares cubic ``P``."""
    integral = np.polynomial.Polynomial.fit(quality, log_rate, 3).integ()
    return float(integral(hi) - integral(lo))


def _pchip_area(quality: np.ndarray, log_rate: np.ndarray, lo: float, hi: float) -> float:
    """``∫_lo^hi P(D) dD`` of the piecewise cubic Hermite interpolant ``P``."""
    order = np.argsort(quality)
    if np.any(np.diff(quality[order]) <= 0):
        raise ValueError("the piecewise BD-rate needs distinct quality values")
    return float(PchipInterpolator(quality[order], log_rate[order]).integrate(lo, hi))


_AREAS = {"cubic": _cubic_area, "pchip": _pchip_area}
BD_METHODS = tuple(_AREAS)
"""How :func:`bd_rate` models ``ln R`` over quality."""


def rate_at_equal_quality(
    anchor_bpp: Sequence[float], anchor_quality: Sequence[float], bpp: float, quality: float
) -> float:
    """Rate change (%) of one point ``(bpp, quality)`` against an anchor curve at the point's
    quality: the anchor's ``ln R`` fitted as a polynomial in quality (a cubic from four
    points, as in the Bjøntegaard integral; lower degree with fewer points)."""
    degree = min(3, len(anchor_bpp) - 1)
    fit = np.polynomial.Polynomial.fit(anchor_quality, np.log(anchor_bpp), degree)
    return float((bpp / np.exp(fit(quality)) - 1) * 100)


def quality_at_equal_rate(
    anchor_bpp: Sequence[float], anchor_quality: Sequence[float], bpp: float, quality: float
) -> float:
    """Quality difference of one point against an anchor curve at the point's rate (the
    anchor's quality fitted as a polynomial in ``ln R``, degree as above)."""
    degree = min(3, len(anchor_bpp) - 1)
    fit = np.polynomial.Polynomial.fit(np.log(anchor_bpp), anchor_quality, degree)
    return float(quality - fit(math.log(bpp)))


def _curve(
    rate: Sequence[float], quality: Sequence[float], which: str
) -> tuple[np.ndarray, np.ndarray]:
    r = np.asarray(rate, dtype=np.float64)
    d = np.asarray(quality, dtype=np.float64)
    if r.shape != d.shape or r.ndim != 1:
        raise ValueError(f"{which} curve: rate and quality lists differ in length")
    if r.size < 4:
        raise ValueError(f"{which} curve has {r.size} points; BD-rate needs at least 4")
    if not (np.all(np.isfinite(r)) and np.all(np.isfinite(d))):
        raise ValueError(f"{which} curve has non-finite values")
    if np.any(r <= 0):
        raise ValueError(f"{which} curve has non-positive rates")
    if np.unique(d).size < 4:
        raise ValueError(f"{which} curve needs at least 4 distinct quality values")
    return r, d


def bd_rate_table(
    anchor_json: ResultLike,
    others: Iterable[ResultLike],
    metric: str = "psnr-rgb",
    method: str = "cubic",
) -> list[dict[str, Any]]:
    """BD-rate of each result against an anchor result, one row per result (``method`` as
    in :func:`bd_rate`).

    Each row: ``name``, ``path``, ``metric`` (the results key used), ``bd_rate`` (percent, or
    ``None``), ``points`` (number of RD points), ``overlap`` (``[lo, hi]`` in dB or ``None``)
    and ``error`` (why ``bd_rate`` is ``None``, else ``None``). A curve that lacks the metric
    or does not overlap the anchor gets an error row instead of stopping the table.

    Raises:
        ValueError: the anchor itself lacks the metric or the metric is unknown.
    """
    key = canonical_metric(metric)
    anchor = load_results(anchor_json)
    if key not in anchor["results"]:
        raise ValueError(f"anchor {anchor['name']!r} has no {key!r} values")
    ar, ad = anchor["results"]["bpp"], anchor["results"][key]
    rows: list[dict[str, Any]] = []
    for other in others:
        cur = load_results(other)
        row: dict[str, Any] = {
            "name": cur["name"],
            "path": cur["meta"].get("path"),
            "metric": key,
            "bd_rate": None,
            "points": len(cur["results"]["bpp"]),
            "overlap": None,
            "error": None,
        }
        if key not in cur["results"]:
            row["error"] = f"no {key!r} values"
        else:
            tr, td = cur["results"]["bpp"], cur["results"][key]
            try:
                row["bd_rate"] = bd_rate(ar, ad, tr, td, method)
                row["overlap"] = [max(min(ad), min(td)), min(max(ad), max(td))]
            except ValueError as err:
                row["error"] = str(err)
        rows.append(row)
    return rows


def format_bd_table(rows: Sequence[Mapping[str, Any]], anchor_name: str) -> str:
    """Plain-text table of :func:`bd_rate_table` rows."""
    names = [str(r["name"]) for r in rows]
    shown = [
        f"{n} ({Path(str(r['path'])).stem})" if names.count(n) > 1 and r.get("path") else n
        for n, r in zip(names, rows, strict=True)
    ]
    width = max([len("curve")] + [len(n) for n in shown])
    lines = [
        f"BD-rate against {anchor_name} ({rows[0]['metric'] if rows else ''}); "
        "negative = fewer bits for the same quality",
        f"{'curve':<{width}}  {'BD-rate':>9}  {'points':>6}  overlap (dB)",
    ]
    for name, r in zip(shown, rows, strict=True):
        if r["bd_rate"] is None:
            lines.append(f"{name:<{width}}  {'n/a':>9}  {r['points']:>6}  {r['error']}")
        else:
            lo, hi = r["overlap"]
            lines.append(
                f"{name:<{width}}  {r['bd_rate']:>8.2f}%  {r['points']:>6}  {lo:.2f}–{hi:.2f}"
            )
    return "\n".join(lines)


def plot_rd(
    paths: Sequence[ResultLike],
    out_png: str | os.PathLike[str],
    metric: str = "both",
    title: str | None = None,
) -> Path:
    """Plot RD curves to a PNG: PSNR-RGB vs bpp and MS-SSIM-RGB in dB vs bpp.

    ``metric`` picks the panels: ``"both"`` (default), ``"psnr"`` or ``"ms-ssim"``; for 4:2:0
    results ``"yuv"`` (PSNR-YUV and MS-SSIM-Y) or ``"psnr-yuv"``. Curves
    lacking a panel's metric are left out of that panel. The legend uses each file's ``name``;
    repeated names get the file stem appended. Uses matplotlib's Agg canvas (no display).
    """
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    panels = {
        "both": [("psnr-rgb", "PSNR-RGB (dB)"), ("ms-ssim-db-rgb", "MS-SSIM-RGB (dB)")],
        "psnr": [("psnr-rgb", "PSNR-RGB (dB)")],
        "ms-ssim": [("ms-ssim-db-rgb", "MS-SSIM-RGB (dB)")],
        "yuv": [("psnr-yuv", "PSNR-YUV (dB)"), ("ms-ssim-db-y", "MS-SSIM-Y (dB)")],
        "psnr-yuv": [("psnr-yuv", "PSNR-YUV (dB)")],
    }
    if metric not in panels:
        raise ValueError(f"metric must be one of {sorted(panels)}, got {metric!r}")
    curves = [load_results(p) for p in paths]
    if not curves:
        raise ValueError("plot_rd needs at least one result file")
    names = [c["name"] for c in curves]
    labels = [
        f"{n} ({Path(str(c['meta']['path'])).stem})" if names.count(n) > 1 else n
        for n, c in zip(names, curves, strict=True)
    ]

    chosen = panels[metric]
    fig = Figure(figsize=(6.4 * len(chosen), 4.8), layout="constrained")
    FigureCanvasAgg(fig)
    cmap = matplotlib.colormaps["tab10" if len(curves) <= 10 else "tab20"]
    markers = "os^vD<>ph*"
    for i, (key, ylabel) in enumerate(chosen):
        ax = fig.add_subplot(1, len(chosen), i + 1)
        for j, (curve, label) in enumerate(zip(curves, labels, strict=True)):
            res = curve["results"]
            if key not in res:
                continue
            ax.plot(
                res["bpp"],
                res[key],
                marker=markers[j % len(markers)],
                markersize=4,
                linewidth=1.3,
                color=cmap(j % cmap.N),
                label=label,
            )
        ax.set_xlabel("bits per pixel")
        ax.set_ylabel(ylabel)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
        if title:
            ax.set_title(title)
    out = Path(out_png)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    return out
