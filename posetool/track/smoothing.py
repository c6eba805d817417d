"""One-Euro filter (Casiez, Roussel, Vogel, CHI 2012) for keypoint jitter.

A low-pass filter whose cutoff rises with speed: ``cutoff = min_cutoff + beta · |ẋ|``, so slow
motion is smoothed strongly and fast motion follows with little lag.
"""

from __future__ import annotations

import math

import numpy as np


def _alpha(cutoff: float, dt: float) -> float:
    tau = 1.0 / (2 * math.pi * cutoff)
    return 1.0 / (1.0 + tau / dt)


class OneEuroFilter:
    """Filters arrays of any fixed shape over time (NaN entries pass through and reset)."""

    def __init__(self, min_cutoff: float = 1.0, beta: float = 0.007, d_cutoff: float = 1.0) -> None:
        if min_cutoff <= 0 or d_cutoff <= 0:
            raise ValueError("One-Euro cutoffs must be positive")
        self.min_cutoff, self.beta, self.d_cutoff = min_cutoff, beta, d_cutoff
        self.x: np.ndarray | None = None
        self.dx: np.ndarray | None = None
        self.t: float | None = None

    def __call__(self, x: np.ndarray, t: float) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if self.x is None or self.t is None or t <= self.t:
            self.x, self.dx, self.t = x.copy(), np.zeros_like(x), t
            return x
        dt = t - self.t
        dx = (x - self.x) / dt
        a_d = _alpha(self.d_cutoff, dt)
        dx_hat = np.where(np.isfinite(self.dx), a_d * dx + (1 - a_d) * self.dx, dx)
        cutoff = self.min_cutoff + self.beta * np.abs(dx_hat)
        a = 1.0 / (1.0 + (1.0 / (2 * np.pi * cutoff)) / dt)
        x_hat = np.where(np.isfinite(self.x), a * x + (1 - a) * self.x, x)
        x_hat = np.where(np.isfinite(x), x_hat, np.nan)
        self.x, self.dx, self.t = x_hat, np.where(np.isfinite(dx_hat), dx_hat, 0.0), t
        return x_hat
