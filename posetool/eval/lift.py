"""3D pose errors (VideoPose3D ``common/loss.py``) and VideoPose3D's averaging protocol.

Metrics take metres and return metres; reports multiply by 1000 (mm), as VideoPose3D's run.py.

Protocol (run.py ``evaluate``): within a group (an action, with "Walking 1" and "Walking"
merged by ``action.split(' ')[0]``), each metric is the frame-weighted mean over the group's
sequences (a sequence of T frames contributes T × its mean error); the reported number is the
unweighted mean over groups ("action-wise average"). Both poses are made root-relative by
subtracting joint 0 (the pelvis of h36m17), as VideoPose3D's data preparation does.

Inputs of :func:`evaluate_lift_inputs`: two VideoPose3D ``.npz`` files whose
``positions_3d[subject][action]`` keys and frame counts agree (groups = actions), or two pose
streams with ``keypoints_3d`` (groups = GT tracks: per frame, predicted people are matched to GT
people by box IoU ≥ 0.5, or by 2D keypoint distance when boxes are missing; velocity errors use
runs of consecutive matched frames).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

from posetool.errors import PosetoolError
from posetool.stream.encoding import points_array


def mpjpe(pred: np.ndarray, target: np.ndarray) -> float:
    """Mean per-joint position error (Protocol #1).

    Args:
        pred, target: (..., J, 3).
    """
    return float(np.mean(np.linalg.norm(pred - target, axis=-1)))


def p_mpjpe(pred: np.ndarray, target: np.ndarray) -> float:
    """MPJPE after a per-frame similarity Procrustes alignment of ``pred`` to ``target`` (Protocol #2):
    rotation (reflection corrected), uniform scale and translation.

    Args:
        pred, target: (N, J, 3).
    """
    mu_x = target.mean(axis=1, keepdims=True)
    mu_y = pred.mean(axis=1, keepdims=True)
    x0, y0 = target - mu_x, pred - mu_y
    norm_x = np.sqrt(np.sum(x0**2, axis=(1, 2), keepdims=True))
    norm_y = np.sqrt(np.sum(y0**2, axis=(1, 2), keepdims=True))
    x0, y0 = x0 / norm_x, y0 / norm_y
    h = np.matmul(x0.transpose(0, 2, 1), y0)
    u, s, vt = np.linalg.svd(h)
    v = vt.transpose(0, 2, 1)
    r = np.matmul(v, u.transpose(0, 2, 1))
    # no reflections: flip the last singular direction where det(R) < 0
    sign = np.sign(np.expand_dims(np.linalg.det(r), axis=1))
    v[:, :, -1] *= sign
    s[:, -1] *= sign.flatten()
    r = np.matmul(v, u.transpose(0, 2, 1))
    tr = np.expand_dims(np.sum(s, axis=1, keepdims=True), axis=2)
    a = tr * norm_x / norm_y
    t = mu_x - a * np.matmul(mu_y, r)
    aligned = a * np.matmul(pred, r) + t
    return mpjpe(aligned, target)


def n_mpjpe(pred: np.ndarray, target: np.ndarray) -> float:
    """MPJPE after the per-frame least-squares scale of ``pred`` (Protocol #3, after Rhodin et al.).

    Args:
        pred, target: (N, J, 3).
    """
    norm_pred = np.mean(np.sum(pred**2, axis=-1, keepdims=True), axis=-2, keepdims=True)
    norm_target = np.mean(np.sum(target * pred, axis=-1, keepdims=True), axis=-2, keepdims=True)
    return mpjpe(norm_target / norm_pred * pred, target)


def mean_velocity_error(pred: np.ndarray, target: np.ndarray) -> float:
    """Mean per-joint velocity error (MPJVE): error of the frame-to-frame differences.

    Args:
        pred, target: (T, J, 3), T ≥ 2 consecutive frames.
    """
    return float(np.mean(np.linalg.norm(np.diff(pred, axis=0) - np.diff(target, axis=0), axis=-1)))


METRICS = ("mpjpe", "p_mpjpe", "n_mpjpe", "mpjve")


def _means_mm(sums: dict[str, float], frames: int, vel_frames: int) -> dict[str, float]:
    """Frame-weighted sums (metres) to means in mm; MPJVE over the frames that have velocities."""
    out = {}
    for m in METRICS:
        denom = vel_frames if m == "mpjve" else frames
        out[m] = 1000 * sums[m] / denom if denom else float("nan")
    return out


class LiftAccumulator:
    """Frame-weighted sums per group, then the unweighted mean over groups (VideoPose3D run.py)."""

    def __init__(self) -> None:
        self._sum: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        self._frames: dict[str, int] = defaultdict(int)
        self._vel_frames: dict[str, int] = defaultdict(int)

    def add(self, group: str, pred: np.ndarray, target: np.ndarray) -> None:
        """One sequence of consecutive frames: pred, target (T, J, 3) in metres."""
        if pred.shape != target.shape:
            raise PosetoolError(f"{group}: predicted poses have shape {pred.shape} but ground truth {target.shape}")
        pred = pred - pred[:, :1]
        target = target - target[:, :1]
        t = len(pred)
        s = self._sum[group]
        s["mpjpe"] += t * mpjpe(pred, target)
        s["p_mpjpe"] += t * p_mpjpe(pred, target)
        s["n_mpjpe"] += t * n_mpjpe(pred, target)
        self._frames[group] += t
        if t >= 2:
            s["mpjve"] += t * mean_velocity_error(pred, target)
            self._vel_frames[group] += t

    def result(self, grouping: str) -> dict[str, Any]:
        """``{"groups": {name: {frames, mpjpe, …}}, "average": {…}, "all_frames": {…}, "frames",
        "grouping"}`` in mm. ``average`` is the official unweighted mean over groups; ``all_frames``
        weighs every frame alike, so a group of two frames counts for two frames, not for one group."""
        groups: dict[str, dict[str, Any]] = {}
        for g in sorted(self._frames):
            groups[g] = {"frames": self._frames[g], **_means_mm(self._sum[g], self._frames[g], self._vel_frames[g])}
        avg = {}
        for m in METRICS:
            vals = [r[m] for r in groups.values() if not np.isnan(r[m])]
            avg[m] = float(np.mean(vals)) if vals else float("nan")
        n_all = sum(self._frames.values())
        totals = {m: sum(self._sum[g][m] for g in self._frames) for m in METRICS}
        every = _means_mm(totals, n_all, sum(self._vel_frames.values()))
        return {"grouping": grouping, "groups": groups, "average": avg, "all_frames": every, "frames": int(n_all)}


# --- inputs ---------------------------------------------------------------------------------

def _evaluate_npz(pred: str, gt: str) -> dict[str, Any]:
    from posetool.data.videopose3d import read_positions_3d

    g3, p3 = read_positions_3d(gt), read_positions_3d(pred)
    acc = LiftAccumulator()
    for subject, actions in g3.items():
        for action, seqs in actions.items():
            pseqs = p3.get(subject, {}).get(action)
            if pseqs is None:
                raise PosetoolError(f"{pred}: no positions_3d[{subject!r}][{action!r}], which {gt} has")
            if len(pseqs) != len(seqs):
                raise PosetoolError(f"{subject}/{action}: {len(pseqs)} predicted sequences but {len(seqs)} in the ground truth")
            for k, (ps, gs) in enumerate(zip(pseqs, seqs)):
                if ps.shape != gs.shape:
                    raise PosetoolError(
                        f"{subject}/{action} (sequence {k}): prediction has shape {ps.shape} but ground truth {gs.shape}"
                    )
                acc.add(action.split(" ")[0], ps, gs)
    return acc.result("action")


def _points(v: Any) -> np.ndarray:
    return points_array(v)


def _pair_cost(gi: dict[str, Any], pi: dict[str, Any]) -> float:
    """Matching cost of a GT and a predicted instance: 1 − box IoU, else mean 2D distance in px."""
    gb, pb = gi.get("bbox"), pi.get("bbox")
    if gb is not None and pb is not None:
        ix = max(0.0, min(gb[2], pb[2]) - max(gb[0], pb[0]))
        iy = max(0.0, min(gb[3], pb[3]) - max(gb[1], pb[1]))
        inter = ix * iy
        union = (gb[2] - gb[0]) * (gb[3] - gb[1]) + (pb[2] - pb[0]) * (pb[3] - pb[1]) - inter
        iou = inter / union if union > 0 else 0.0
        return 1.0 - iou if iou >= 0.5 else np.inf
    gk, pk = gi.get("keypoints"), pi.get("keypoints")
    if gk is not None and pk is not None and len(gk) == len(pk):
        d = np.linalg.norm(_points(gk)[:, :2] - _points(pk)[:, :2], axis=1)
        d = d[np.isfinite(d)]
        return float(d.mean()) + 2.0 if len(d) else np.inf  # + 2 keeps any box match cheaper
    return np.inf


def _evaluate_streams(pred: str, gt: str) -> dict[str, Any]:
    from posetool.stream import StreamReader

    gr, pr = StreamReader(gt), StreamReader(pred)
    gs, ps = gr.header.get("skeleton_3d"), pr.header.get("skeleton_3d")
    if gs is None:
        raise PosetoolError(f"{gt}: the header names no skeleton_3d; the ground truth has no 3D poses")
    if ps is not None and ps != gs:
        raise PosetoolError(f"{pred} has 3D skeleton {ps!r} but {gt} has {gs!r}; compare the same layout")
    runs: dict[int, list[tuple[int, np.ndarray, np.ndarray]]] = defaultdict(list)
    missed = 0
    pframes = pr.frames()
    n = 0
    for grec in gr.frames():
        prec = next(pframes, None)
        if prec is None:
            raise PosetoolError(f"{pred} ends after {n} frames but {gt} has more; evaluate streams of the same video")
        n += 1
        f = int(grec["frame"])
        gis = [i for i in grec.get("instances") or [] if i.get("keypoints_3d") is not None]
        pis = [i for i in prec.get("instances") or [] if i.get("keypoints_3d") is not None]
        if not gis:
            continue
        cost = np.array([[_pair_cost(g, p) for p in pis] for g in gis]).reshape(len(gis), len(pis))
        matched = set()
        if len(pis):
            big = np.where(np.isfinite(cost), cost, 1e9)
            for r, c in zip(*linear_sum_assignment(big)):
                if np.isfinite(cost[r, c]):
                    matched.add(r)
                    tid = gis[r].get("track_id", -1)
                    runs[tid].append((f, _points(pis[c]["keypoints_3d"]), _points(gis[r]["keypoints_3d"])))
        missed += len(gis) - len(matched)
    if next(pframes, None) is not None:
        raise PosetoolError(f"{pred} has more frames than {gt} ({n}); evaluate streams of the same video")
    acc = LiftAccumulator()
    for tid, items in sorted(runs.items()):
        start = 0
        for k in range(1, len(items) + 1):  # split at gaps: velocities need consecutive frames
            if k == len(items) or items[k][0] != items[k - 1][0] + 1:
                seg = items[start:k]
                p = np.stack([s[1] for s in seg])
                t = np.stack([s[2] for s in seg])
                if not (np.isfinite(p).all() and np.isfinite(t).all()):
                    raise PosetoolError(f"track {tid}: null 3D joints between frames {seg[0][0]} and {seg[-1][0]}")
                acc.add(f"track {tid}", p, t)
                start = k
    res = acc.result("track")
    res["unmatched_gt_instances"] = missed
    return res


def evaluate_lift_inputs(pred: str, gt: str) -> dict[str, Any]:
    """Evaluate two ``.npz`` files or two pose streams (see module docstring)."""
    p_npz, g_npz = Path(pred).suffix.lower() == ".npz", Path(gt).suffix.lower() == ".npz"
    if p_npz and g_npz:
        return _evaluate_npz(pred, gt)
    if not p_npz and not g_npz:
        return _evaluate_streams(pred, gt)
    raise PosetoolError(
        f"{pred} and {gt}: give two VideoPose3D .npz files or two pose streams; a stream cannot be paired with an .npz "
        "(their people and sequences do not correspond)"
    )
