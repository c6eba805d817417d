"""Assignment of tracks to people: SciPy's Hungarian solver, and greedy for comparison."""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment


def hungarian(similarity: np.ndarray, gate: float) -> list[tuple[int, int]]:
    """Maximum-total-similarity matching of rows (tracks) to columns (people).

    Pairs below ``gate`` are forbidden before solving (so a weak pair never displaces a
    feasible one) and never returned.

    Args:
        similarity: (T, N) in [0, 1].
    Returns:
        (row, col) pairs.
    """
    sim = np.asarray(similarity, dtype=np.float64)
    if sim.size == 0:
        return []
    allowed = sim >= gate
    cost = np.where(allowed, -sim, 1e6)
    rows, cols = linear_sum_assignment(cost)
    return [(int(r), int(c)) for r, c in zip(rows, cols) if allowed[r, c]]


def greedy(similarity: np.ndarray, gate: float) -> list[tuple[int, int]]:
    """Repeatedly take the most similar free pair (as many trackers do); may swap identities."""
    sim = np.asarray(similarity, dtype=np.float64)
    pairs: list[tuple[int, int]] = []
    if sim.size == 0:
        return pairs
    order = np.argsort(-sim, axis=None, kind="stable")
    used_r, used_c = set(), set()
    for flat in order:
        r, c = divmod(int(flat), sim.shape[1])
        if sim[r, c] < gate:
            break
        if r in used_r or c in used_c:
            continue
        pairs.append((r, c))
        used_r.add(r)
        used_c.add(c)
    return pairs


MATCHERS = {"hungarian": hungarian, "greedy": greedy}
