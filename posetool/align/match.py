"""Matching query frames to reference frames from their embeddings.

- :func:`nearest`: every query frame's nearest reference frame (TCC's alignment: it may jump
  back and forth);
- :func:`dtw`: dynamic time warping on the same distances, a monotonic alignment that starts
  at both first frames and ends at both last frames (steps: both advance, or one does);
- :func:`confidence`: how much of the soft nearest-neighbour weight (the TCC training softmax,
  ``-|q - r|^2 / D / 0.1``) falls within ``window`` frames of the chosen match: 1 when the
  embedding points at that moment alone, small when the query resembles several moments.

Distances are squared Euclidean, as in training.
"""

from __future__ import annotations

import numpy as np

from posetool.align.losses import TEMPERATURE


def distances(query: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """(Tq, D) and (Tr, D) -> (Tq, Tr) squared Euclidean distances (float64)."""
    q = np.asarray(query, dtype=np.float64)
    r = np.asarray(reference, dtype=np.float64)
    d = (q * q).sum(1)[:, None] + (r * r).sum(1)[None, :] - 2 * q @ r.T
    return np.maximum(d, 0.0)


def nearest(dist: np.ndarray) -> np.ndarray:
    """(Tq,) index of every query frame's nearest reference frame in (Tq, Tr) ``dist``."""
    return np.argmin(dist, axis=1)


def dtw(dist: np.ndarray) -> np.ndarray:
    """(Tq,) a reference index per query frame along the minimum-cost monotonic warping path.

    The cumulative cost is filled one anti-diagonal at a time (every cell of a diagonal depends
    only on the two before it), so the loop runs Tq + Tr times over numpy vectors. Where the path
    holds a query frame over several reference frames, the closest of them is its match.
    """
    n, m = dist.shape
    acc = np.full((n + 1, m + 1), np.inf)
    acc[0, 0] = 0.0
    for k in range(2, n + m + 1):  # cells (i, j), 1-based, with i + j = k
        i = np.arange(max(1, k - m), min(n, k - 1) + 1)
        j = k - i
        best = np.minimum(np.minimum(acc[i - 1, j - 1], acc[i - 1, j]), acc[i, j - 1])
        acc[i, j] = dist[i - 1, j - 1] + best
    match = np.full(n, -1)
    i, j = n, m
    while i > 0 and j > 0:
        if match[i - 1] < 0 or dist[i - 1, j - 1] < dist[i - 1, match[i - 1]]:
            match[i - 1] = j - 1
        steps = (acc[i - 1, j - 1], acc[i - 1, j], acc[i, j - 1])
        move = int(np.argmin(steps))
        i, j = (i - 1, j - 1) if move == 0 else (i - 1, j) if move == 1 else (i, j - 1)
    return match


def soft_weights(dist: np.ndarray, dim: int, temperature: float = TEMPERATURE) -> np.ndarray:
    """(Tq, Tr) the soft nearest-neighbour weights alpha of every query frame (rows sum to 1)."""
    logits = -dist / dim / temperature
    logits -= logits.max(axis=1, keepdims=True)
    w = np.exp(logits)
    return w / w.sum(axis=1, keepdims=True)


def confidence(dist: np.ndarray, match: np.ndarray, dim: int, window: int) -> np.ndarray:
    """(Tq,) share of the soft nearest-neighbour weight within ``window`` frames of ``match``."""
    w = soft_weights(dist, dim)
    cols = np.arange(dist.shape[1])[None, :]
    near = np.abs(cols - np.asarray(match)[:, None]) <= window
    return (w * near).sum(axis=1)
