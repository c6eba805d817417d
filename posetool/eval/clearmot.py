"""CLEAR-MOT event accumulation, event for event as py-motmetrics' ``MOTAccumulator.update``.

poseval feeds one ``motmetrics.MOTAccumulator`` per sequence and joint. Building pandas event
tables for 15 joints × every frame is the slow part of a PoseTrack evaluation (about 0.4 ms per
update), so this module keeps only the counters poseval reads, while following motmetrics 1.4's
algorithm exactly (tests compare both on random inputs):

1. objects whose previous hypothesis is present with a finite distance keep it (MATCH);
2. the rest are assigned by ``scipy.optimize.linear_sum_assignment`` on the distance matrix with
   do-not-pair entries replaced by motmetrics' "expensive edge" constant (so ties break the
   same way); a pair whose object was last matched to another hypothesis is a SWITCH;
3. unassigned objects are MISSes, unassigned hypotheses FPs.

Besides the CLEAR sums it keeps ``sum_d_all``: the sum of the ``D`` column over *every* event
row motmetrics ≥ 1.2 writes (RAW rows for each finite pair, and TRANSFER / ASCEND / MIGRATE
rows), which is what poseval sums for its MOTP (the bias ``--poseval-compat`` reproduces).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment


def _expensive_edges(costs: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """motmetrics ``lap.add_expensive_edges``: a finite stand-in for do-not-pair entries."""
    if valid.all():
        return costs
    if not valid.any():
        return np.zeros_like(costs)
    r = min(costs.shape)
    c = np.abs(costs[valid]).max() + 1
    return np.where(valid, costs, 2 * r * c + 1)


@dataclass
class ClearMotCounts:
    """The counters of one accumulator (all plain numbers)."""

    matches: int = 0
    switches: int = 0
    false_positives: int = 0
    misses: int = 0
    objects: int = 0
    sum_d: float = 0.0  # over MATCH and SWITCH events: the CLEAR-MOT MOTP numerator
    sum_d_all: float = 0.0  # over every event row motmetrics >= 1.2 records (poseval's MOTP numerator)

    @property
    def detections(self) -> int:
        return self.matches + self.switches


class ClearMotAccumulator:
    """Accumulate CLEAR-MOT events frame by frame (``max_switch_time`` = infinity)."""

    def __init__(self) -> None:
        self.counts = ClearMotCounts()
        self._m: dict[int, int] = {}  # object → hypothesis of its last match
        self._res_m: dict[int, int] = {}  # hypothesis → object of its last Hungarian match
        self._last_match: set[int] = set()  # objects ever matched
        self._hyp_seen: set[int] = set()  # hypotheses ever matched

    def update(self, oids: list[int] | np.ndarray, hids: list[int] | np.ndarray, dists: np.ndarray) -> None:
        """One frame.

        Args:
            oids: (N,) object (ground-truth) ids.
            hids: (M,) hypothesis ids.
            dists: (N, M) distances; NaN means do not pair.
        """
        oids = [int(o) for o in oids]
        hids = [int(h) for h in hids]
        no, nh = len(oids), len(hids)
        c = self.counts
        c.objects += no
        if no == 0 or nh == 0:
            c.misses += no
            c.false_positives += nh
            return
        d = np.asarray(dists, dtype=float).reshape(no, nh)
        finite = np.isfinite(d)
        raw_sum = float(d[finite].sum()) if finite.any() else 0.0
        o_used = np.zeros(no, dtype=bool)
        h_used = np.zeros(nh, dtype=bool)
        hpos = {h: j for j, h in enumerate(hids)}  # first position, as np.where(...)[0]
        extra = 0.0
        sum_d_before = c.sum_d
        # 1. keep previous pairs
        for i, o in enumerate(oids):
            hp = self._m.get(o)
            if hp is None:
                continue
            j = hpos.get(hp)
            if j is None or h_used[j]:
                continue
            if finite[i, j]:
                o_used[i] = h_used[j] = True
                c.matches += 1
                c.sum_d += d[i, j]
                self._last_match.add(o)
                self._hyp_seen.add(hp)
        # 2. Hungarian on what is left
        rest = d.copy()
        rest[o_used, :] = np.nan
        rest[:, h_used] = np.nan
        valid = np.isfinite(rest)
        if valid.any():
            rows, cols = linear_sum_assignment(_expensive_edges(rest, valid))
            for i, j in zip(rows, cols):
                if not valid[i, j]:
                    continue
                o, h, dij = oids[i], hids[j], rest[i, j]
                switch = o in self._m and self._m[o] != h
                if switch:
                    c.switches += 1
                    if h not in self._hyp_seen:
                        extra += dij  # ASCEND row
                else:
                    c.matches += 1
                if h in self._res_m and self._res_m[h] != o:
                    extra += dij  # TRANSFER row
                    if o not in self._last_match:
                        extra += dij  # MIGRATE row
                c.sum_d += dij
                self._hyp_seen.add(h)
                self._last_match.add(o)
                o_used[i] = h_used[j] = True
                self._m[o] = h
                self._res_m[h] = o
        c.misses += int((~o_used).sum())
        c.false_positives += int((~h_used).sum())
        # motmetrics' event table holds RAW rows for every finite pair, the MATCH/SWITCH rows and
        # the TRANSFER/ASCEND/MIGRATE rows, all with their distance.
        c.sum_d_all += raw_sum + (c.sum_d - sum_d_before) + extra
