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


def smooth_at(values: np.ndarray, offsets: np.ndarray, confidence: np.ndarray, window: int,
              degree: int = 2) -> np.ndarray:
    """Value at offset 0 of per-column weighted quadratic fits.

    Args:
        values: (N, K, D) raw values of K points (e.g. keypoints' x, y) in N frames; NaN = missing.
        offsets: (N,) frame offsets from the frame being smoothed (0 must be among them).
        confidence: (N, K) point confidences (NaN counts as 0).
        window: W, the half-width in frames (σ = W / 2).
        degree: of the local polynomial (2: quadratic).

    Returns:
        (K, D) smoothed values; points without a usable fit keep their value at offset 0.
    """
    values = np.asarray(values, dtype=np.float64)
    x = np.asarray(offsets, dtype=np.float64)
    centre = int(np.flatnonzero(x == 0)[0])
    out = values[centre].copy()
    sigma = max(window / 2.0, 1e-6)
    w_time = np.exp(-0.5 * (x / sigma) ** 2)
    conf = np.nan_to_num(np.asarray(confidence, dtype=np.float64), nan=0.0)
    w = w_time[:, None] * np.maximum(conf, _MIN_CONFIDENCE_WEIGHT)  # (N, K)
    finite = np.isfinite(values).all(axis=-1)  # (N, K)
    w = np.where(finite, w, 0.0)
    design = np.stack([x ** d for d in range(degree + 1)], axis=1)  # (N, degree + 1)
    for k in range(values.shape[1]):
        if not finite[centre, k] or (w[:, k] > 0).sum() < degree + 1:
            continue
        a = design * w[:, k:k + 1]
        normal = design.T @ a  # Xᵀ W X
        if np.linalg.cond(normal) > 1e10:
            continue
        y = np.where(finite[:, k:k + 1], values[:, k], 0.0)  # (N, D)
        coef = np.linalg.solve(normal, a.T @ y)  # (degree + 1, D)
        out[k] = coef[0]  # the fit's value at offset 0
    return out
