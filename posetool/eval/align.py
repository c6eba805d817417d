"""The measures of TCC (Dwibedi et al., CVPR 2019) for temporal alignment, on takes with known phase.

- Kendall's tau (:func:`kendalls_tau`): for a pair of videos, every query frame's nearest
  neighbour in the reference; tau-b between the query frame indices and their neighbours'
  indices (1: the neighbours keep the order of time; the official evaluation's
  ``scipy.stats.kendalltau(arange, nns)``). Averaged over every ordered pair.
- Phase progression (:func:`phase_progression`): per key event, the target of a frame is its
  time from the event's frame divided by the video's length (the official "event completion"
  targets); one linear regression per event from the embeddings, fitted on the labelled videos,
  R^2 on the others, averaged over the events. The official code fits plain least squares on a
  large training split; with a few labelled takes and 128-d embeddings that is ill-posed (R^2 of
  -10^5 on a near-singular fit), so the embeddings are standardised on the labelled takes and
  the fit carries a small ridge (0.01 per sample; the intercept is not penalised).
- Phase classification (:func:`phase_classification`): a linear SVM (one-vs-rest, squared hinge,
  C = 1, features standardised on the labelled videos) fitted on the embeddings of a few
  labelled videos; per-frame accuracy on the others.
- Phase error (:func:`phase_error`), not in the paper but what an alignment is for: the mean
  absolute difference between a query frame's true phase and its matched reference frame's
  (0: in step; in fractions of the action). Kendall's tau of a monotonic alignment such as DTW is
  1 by construction, so DTW is compared by its phase error.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize
from scipy.stats import kendalltau


def kendalls_tau(matches: np.ndarray) -> float:
    """tau-b between query frame order and the matched reference frames (T,); NaN if undefined."""
    matches = np.asarray(matches)
    if len(matches) < 2 or np.all(matches == matches[0]):
        return float("nan")
    return float(kendalltau(np.arange(len(matches)), matches).statistic)


def phase_error(query_phase: np.ndarray, ref_phase: np.ndarray, matches: np.ndarray) -> float:
    """Mean |phase of query frame - phase of its matched reference frame| over frames with both known."""
    q = np.asarray(query_phase, dtype=np.float64)
    r = np.asarray(ref_phase, dtype=np.float64)[np.asarray(matches)]
    ok = np.isfinite(q) & np.isfinite(r)
    return float(np.mean(np.abs(q[ok] - r[ok]))) if ok.any() else float("nan")


def progression_targets(phase_class: np.ndarray, num_classes: int) -> np.ndarray:
    """(T, num_classes - 1) per key event k (the end of class k): (t - t_k) / T, where t_k is the
    last frame of class k (the official targets; a class never reached counts from frame -1)."""
    phase_class = np.asarray(phase_class)
    t = np.arange(len(phase_class), dtype=np.float64)
    cols = []
    for k in range(num_classes - 1):
        where = np.flatnonzero(phase_class == k)
        event = where[-1] if len(where) else -1
        cols.append((t - event) / len(phase_class))
    return np.stack(cols, axis=1)


def _design(x: np.ndarray) -> np.ndarray:
    return np.concatenate([x, np.ones((len(x), 1))], axis=1)


RIDGE = 0.01


def phase_progression(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, test_y: np.ndarray,
                      ridge: float = RIDGE) -> float:
    """Mean over target columns of the test R^2 of ridge linear regressions (with intercept)
    fitted on ``train``; x (N, D), y (N, E)."""
    mean, std = train_x.mean(0), train_x.std(0) + 1e-6
    a, b = _design((train_x - mean) / std), _design((test_x - mean) / std)
    penalty = ridge * len(a) * np.eye(a.shape[1])
    penalty[-1, -1] = 0.0
    coef = np.linalg.lstsq(a.T @ a + penalty, a.T @ train_y, rcond=None)[0]
    pred = b @ coef
    ss_res = ((test_y - pred) ** 2).sum(0)
    ss_tot = ((test_y - test_y.mean(0)) ** 2).sum(0)
    return float(np.mean(1 - ss_res / np.maximum(ss_tot, 1e-12)))


def _fit_binary_svm(x: np.ndarray, y: np.ndarray, c: float) -> np.ndarray:
    """Weights (D + 1,) of a linear SVM with squared hinge loss: 0.5|w|^2 + C sum max(0, 1 - y f)^2."""

    def objective(w: np.ndarray) -> tuple[float, np.ndarray]:
        margin = 1 - y * (x @ w)
        active = np.maximum(margin, 0.0)
        reg = w.copy()
        reg[-1] = 0.0  # the bias is not regularised
        value = 0.5 * float(reg @ reg) + c * float(active @ active)
        grad = reg - 2 * c * (x.T @ (active * y))
        return value, grad

    res = minimize(objective, np.zeros(x.shape[1]), jac=True, method="L-BFGS-B", options={"maxiter": 500})
    return res.x


def phase_classification(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, test_y: np.ndarray,
                         c: float = 1.0) -> float:
    """Per-frame accuracy on ``test`` of a one-vs-rest linear SVM fitted on ``train``; x (N, D), y (N,) int."""
    mean, std = train_x.mean(0), train_x.std(0) + 1e-6
    xtr, xte = _design((train_x - mean) / std), _design((test_x - mean) / std)
    classes = np.unique(train_y)
    scores = np.stack([xte @ _fit_binary_svm(xtr, np.where(train_y == k, 1.0, -1.0), c) for k in classes], axis=1)
    pred = classes[np.argmax(scores, axis=1)]
    return float(np.mean(pred == test_y))
