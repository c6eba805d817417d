"""Two-sided smoothing of a track without lag (``track --smooth offline``).

Each keypoint coordinate at frame t is the value at t of a quadratic fitted by weighted least
squares to the track's raw values in frames t − W … t + W (``window`` = W). Weights are a
Gaussian of the frame offset (σ = W / 2) times the keypoint's confidence (floored at 0.05, so a
low-confidence point still counts a little). It is a locally weighted Savitzky–Golay filter: the
window is symmetric, so a steady motion comes out without the delay of a causal filter, and the
quadratic term follows accelerations (a turn of a limb) that a moving average would flatten.

The tracker runs it with its output delayed by W frames: the future values of a frame are in
its buffer, the past ones in a per-track history of W frames, so memory stays bounded.
Missing values (NaN) get weight 0; with fewer than 3 weighted frames or a fit that is
numerically singular the raw value is kept. Track gaps simply leave holes in the window (offsets
are true frame differences).
"""

from __future__ import annotations

import numpy as np

_MIN_CONFIDENCE_WEIGHT = 0.05


def _fit(design: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, float] | None:
    """Weighted least squares of (N, D) ``y`` on the (N, degree + 1) polynomial ``design`` with
    weights (N,) ``w``: (the fit's value at offset 0 (D,), its weighted RMS residual), or None
    when it is not usable (fewer weighted points than coefficients, or numerically singular)."""
    if (w > 0).sum() < design.shape[1]:
        return None
    a = design * w[:, None]
    normal = design.T @ a  # Xᵀ W X
    if np.linalg.cond(normal) > 1e10:
        return None
    coef = np.linalg.solve(normal, a.T @ y)  # (degree + 1, D)
    resid = ((y - design @ coef) ** 2).sum(-1)
    return coef[0], float(np.sqrt((w * resid).sum() / w.sum()))


def smooth_at(values: np.ndarray, offsets: np.ndarray, confidence: np.ndarray, window: int,
              degree: int = 2, max_residual: float | None = None) -> np.ndarray:
    """Value at offset 0 of per-column weighted quadratic fits.

    Args:
        values: (N, K, D) raw values of K points (e.g. keypoints' x, y) in N frames; NaN = missing.
        offsets: (N,) frame offsets from the frame being smoothed (0 must be among them).
        confidence: (N, K) point confidences (NaN counts as 0).
        window: W, the half-width in frames (σ = W / 2).
        degree: of the local polynomial (2: quadratic).
        max_residual: adaptive window: where the fit's weighted RMS residual exceeds this (same
            unit as ``values``), the point is refitted over a window one frame narrower (σ
            following), down to W = 1, and kept raw if even that misfits. A quadratic follows
            jitter around a smooth path with a residual of about the jitter; a limb swinging
            faster than the window can follow, or a label jumping to another limb, leaves a
            larger one. None: the fixed window.

    Returns:
        (K, D) smoothed values; points without a usable fit keep their value at offset 0.
    """
    values = np.asarray(values, dtype=np.float64)
    x = np.asarray(offsets, dtype=np.float64)
    centre = int(np.flatnonzero(x == 0)[0])
    out = values[centre].copy()
    conf = np.nan_to_num(np.asarray(confidence, dtype=np.float64), nan=0.0)
    finite = np.isfinite(values).all(axis=-1)  # (N, K)
    design = np.stack([x ** d for d in range(degree + 1)], axis=1)  # (N, degree + 1)
    widths = range(window, 0, -1) if max_residual is not None else (window,)
    # per width: the Gaussian time weights (σ = width / 2), zero outside ±width; shared by every point
    w_time = [np.where(np.abs(x) <= width, np.exp(-0.5 * (x / max(width / 2.0, 1e-6)) ** 2), 0.0) for width in widths]
    w_point = np.where(finite, np.maximum(conf, _MIN_CONFIDENCE_WEIGHT), 0.0)  # (N, K)
    for k in range(values.shape[1]):
        if not finite[centre, k]:
            continue
        y = np.where(finite[:, k:k + 1], values[:, k], 0.0)  # (N, D)
        for wt in w_time:
            fit = _fit(design, y, wt * w_point[:, k])
            if fit is None:
                break
            if max_residual is None or fit[1] <= max_residual:
                out[k] = fit[0]  # the fit's value at offset 0
                break
    return out
