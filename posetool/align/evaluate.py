"""``posetool eval align``: the TCC measures of an embedder on synth takes with known phase.

Takes are grouped by action. Within an action every ordered pair (query, reference) is aligned
by nearest neighbours (Kendall's tau, phase error) and by DTW (phase error); the first
``labelled`` takes of each action (in the order given) are the labelled videos the phase
progression regressions and the phase classification SVM are fitted on, the others are where
they are measured. Only frames where the person is present count.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from posetool.align.embedder import Embedder
from posetool.align.match import distances, dtw, nearest
from posetool.align.sequences import Performance
from posetool.errors import PosetoolError
from posetool.eval.align import (
    kendalls_tau, phase_classification, phase_error, phase_progression, progression_targets,
)


def _pair(q_emb: np.ndarray, q: Performance, r_emb: np.ndarray, r: Performance, use_dtw: bool) -> dict[str, float]:
    """Alignment figures of query ``q`` against reference ``r`` (present frames only)."""
    qi, ri = np.flatnonzero(q.present), np.flatnonzero(r.present)
    dist = distances(q_emb[qi], r_emb[ri])
    nn = nearest(dist)
    out = {"tau": kendalls_tau(nn), "phase_error_nn": phase_error(q.phase[qi], r.phase[ri], nn)}
    if use_dtw:
        out["phase_error_dtw"] = phase_error(q.phase[qi], r.phase[ri], dtw(dist))
    return out


def _labelled_split(embs: list[np.ndarray], perfs: list[Performance], labelled: int,
                    classification: bool = True) -> dict[str, float]:
    """Phase progression and (unless ``classification`` is False: the SVMs take most of the time)
    classification with the first ``labelled`` takes as the labelled ones."""
    def stack(idx: range) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        xs, cls, prog = [], [], []
        for k in idx:
            p, e = perfs[k], embs[k]
            keep = p.present & (p.phase_class >= 0)
            xs.append(e[keep])
            cls.append(p.phase_class[keep])
            prog.append(progression_targets(p.phase_class, p.num_classes)[keep])
        return np.concatenate(xs), np.concatenate(cls), np.concatenate(prog)

    train, test = range(labelled), range(labelled, len(perfs))
    x_tr, c_tr, p_tr = stack(train)
    x_te, c_te, p_te = stack(test)
    out = {"progression": phase_progression(x_tr, p_tr, x_te, p_te)}
    if classification:
        out["classification"] = phase_classification(x_tr, c_tr, x_te, c_te)
    return out


def evaluate_performances(perfs: list[Performance], embedder: Embedder, *, labelled: int = 2,
                          use_dtw: bool = True, classification: bool = True) -> dict[str, Any]:
    """Per-action and overall (mean over actions) figures of ``embedder`` on ``perfs``."""
    if not perfs:
        field = "keypoints" if embedder.dims == 2 else "keypoints_3d (run posetool lift3d first)"
        raise PosetoolError(f"no take has a track of 8+ frames with {field}")
    groups: dict[str, list[Performance]] = defaultdict(list)
    for p in perfs:
        if p.phase is None:
            raise PosetoolError(f"{p.source}: no ground-truth phase (expected takes from posetool synth --action)")
        groups[p.group].append(p)
    actions: dict[str, dict[str, Any]] = {}
    for action, members in sorted(groups.items()):
        if len(members) <= labelled or len(members) < 2:
            raise PosetoolError(f"action {action}: {len(members)} take(s); need more than --labelled {labelled} "
                                "and at least 2")
        embs = [embedder.embed(p) for p in members]
        pairs = [_pair(embs[i], members[i], embs[j], members[j], use_dtw)
                 for i in range(len(members)) for j in range(len(members)) if i != j]
        row: dict[str, Any] = {k: float(np.nanmean([p[k] for p in pairs])) for k in pairs[0]}
        row.update(_labelled_split(embs, members, labelled, classification) if labelled > 0 else {})
        row.update(takes=len(members), pairs=len(pairs))
        actions[action] = row
    keys = [k for k in next(iter(actions.values())) if k not in ("takes", "pairs")]
    overall = {k: float(np.mean([a[k] for a in actions.values()])) for k in keys}
    overall.update(takes=sum(a["takes"] for a in actions.values()), pairs=sum(a["pairs"] for a in actions.values()))
    return {"method": embedder.name, "labelled": labelled, "actions": actions, "overall": overall}
