"""Box tracking metrics: CLEAR-MOT and identity metrics through py-motmetrics, plus HOTA.

CLEAR/ID metrics: a ``motmetrics.MOTAccumulator`` per sequence fed frame by frame with
distance 1 − IoU (do-not-pair above 1 − ``iou_threshold``), then
``metrics.compute_many(..., motchallenge_metrics, generate_overall=True)``. This is what
motmetrics' own ``utils.compare_to_groundtruth(gt, dt, 'iou', distth=0.5)`` does; we compute
the IoU ourselves because motmetrics 1.4's ``iou_matrix`` calls ``np.asfarray``, removed in
NumPy 2. The IoU below is motmetrics' ``boxiou`` (0-based ``x, y, w, h`` boxes).

HOTA (Luiten et al., IJCV 2021) follows TrackEval's ``metrics/hota.py``: similarity = IoU; per
frame, Hungarian on global-alignment score × IoU; 19 thresholds α = 0.05 … 0.95; DetA, AssA,
LocA per α, reported as the mean over α; sequences combine by summing TP/FN/FP and weighting
AssA/LocA by TP. No MOTChallenge-specific preprocessing (distractor classes, zero-marked GT).
"""

from __future__ import annotations

import contextlib
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

from posetool.data.mot import MotTable, read_mot_txt
from posetool.errors import PosetoolError

_EPS = np.finfo(float).eps
HOTA_ALPHAS = np.arange(0.05, 0.99, 0.05)


@dataclass
class MotSequence:
    """One sequence's boxes. ``*_boxes`` are (N, 4) 0-based ``x, y, w, h``; ``*_frames``/``*_ids`` (N,)."""

    name: str
    gt_frames: np.ndarray
    gt_ids: np.ndarray
    gt_boxes: np.ndarray
    pr_frames: np.ndarray
    pr_ids: np.ndarray
    pr_boxes: np.ndarray
    all_frames: np.ndarray | None = None  # frames to evaluate (default: frames with any box)

    def frames(self) -> np.ndarray:
        if self.all_frames is not None:
            return self.all_frames
        return np.union1d(self.gt_frames, self.pr_frames)


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of (N, 4) and (M, 4) ``x, y, w, h`` boxes → (N, M) (motmetrics ``boxiou``)."""
    amin, amax = a[:, None, :2], a[:, None, :2] + a[:, None, 2:]
    bmin, bmax = b[None, :, :2], b[None, :, :2] + b[None, :, 2:]
    inter = np.prod(np.maximum(np.minimum(amax, bmax) - np.maximum(amin, bmin), 0), axis=-1)
    union = np.prod(np.maximum(amax - amin, 0), axis=-1) + np.prod(np.maximum(bmax - bmin, 0), axis=-1) - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(inter == 0, 0.0, inter / union)


def iou_distance(objs: np.ndarray, hyps: np.ndarray, max_distance: float) -> np.ndarray:
    """1 − IoU, NaN (do not pair) above ``max_distance`` (motmetrics ``iou_matrix``)."""
    if len(objs) == 0 or len(hyps) == 0:
        return np.empty((0, 0))
    d = 1.0 - box_iou(objs, hyps)
    return np.where(d > max_distance, np.nan, d)


def _by_frame(frames: np.ndarray) -> dict[int, np.ndarray]:
    order = np.argsort(frames, kind="stable")  # keep file order within a frame
    uniq, start = np.unique(frames[order], return_index=True)
    return {int(f): idx for f, idx in zip(uniq, np.split(order, start[1:]))}


def accumulate(seq: MotSequence, iou_threshold: float = 0.5) -> Any:
    """A filled ``motmetrics.MOTAccumulator`` for one sequence."""
    import motmetrics as mm

    acc = mm.MOTAccumulator()
    gidx, pidx = _by_frame(seq.gt_frames), _by_frame(seq.pr_frames)
    empty = np.zeros(0, dtype=np.int64)
    for f in seq.frames():
        g, p = gidx.get(int(f), empty), pidx.get(int(f), empty)
        d = iou_distance(seq.gt_boxes[g], seq.pr_boxes[p], 1.0 - iou_threshold)
        acc.update(seq.gt_ids[g], seq.pr_ids[p], d, frameid=int(f))
    return acc


def hota_sequence(seq: MotSequence) -> dict[str, np.ndarray]:
    """Per-α HOTA parts of one sequence: TP, FN, FP (counts), AssA, LocA (arrays of 19)."""
    n_a = len(HOTA_ALPHAS)
    res = {k: np.zeros(n_a) for k in ("TP", "FN", "FP", "AssA", "LocA")}
    g_uniq, g_lab = np.unique(seq.gt_ids, return_inverse=True)
    t_uniq, t_lab = np.unique(seq.pr_ids, return_inverse=True)
    if len(seq.pr_ids) == 0 or len(seq.gt_ids) == 0:
        res["FN"][:] = len(seq.gt_ids)
        res["FP"][:] = len(seq.pr_ids)
        res["LocA"][:] = 1.0
        return res
    gidx, pidx = _by_frame(seq.gt_frames), _by_frame(seq.pr_frames)
    empty = np.zeros(0, dtype=np.int64)
    frames = [(gidx.get(int(f), empty), pidx.get(int(f), empty)) for f in seq.frames()]
    potential = np.zeros((len(g_uniq), len(t_uniq)))
    g_count = np.bincount(g_lab, minlength=len(g_uniq)).astype(float)
    t_count = np.bincount(t_lab, minlength=len(t_uniq)).astype(float)
    sims = []
    for g, p in frames:
        sim = box_iou(seq.gt_boxes[g], seq.pr_boxes[p]) if len(g) and len(p) else np.zeros((len(g), len(p)))
        sims.append(sim)
        if len(g) and len(p):
            denom = sim.sum(0)[None, :] + sim.sum(1)[:, None] - sim
            sim_iou = np.zeros_like(sim)
            ok = denom > _EPS
            sim_iou[ok] = sim[ok] / denom[ok]
            potential[g_lab[g][:, None], t_lab[p][None, :]] += sim_iou
    gas = potential / (g_count[:, None] + t_count[None, :] - potential)
    matches = np.zeros((n_a, len(g_uniq), len(t_uniq)))
    for (g, p), sim in zip(frames, sims):
        if len(g) == 0:
            res["FP"] += len(p)
            continue
        if len(p) == 0:
            res["FN"] += len(g)
            continue
        gl, tl = g_lab[g], t_lab[p]
        rows, cols = linear_sum_assignment(-(gas[gl[:, None], tl[None, :]] * sim))
        for a, alpha in enumerate(HOTA_ALPHAS):
            ok = sim[rows, cols] >= alpha - _EPS
            r, c = rows[ok], cols[ok]
            n = len(r)
            res["TP"][a] += n
            res["FN"][a] += len(g) - n
            res["FP"][a] += len(p) - n
            if n:
                res["LocA"][a] += sim[r, c].sum()
                matches[a, gl[r], tl[c]] += 1
    for a in range(n_a):
        mc = matches[a]
        ass = mc / np.maximum(1, g_count[:, None] + t_count[None, :] - mc)
        res["AssA"][a] = np.sum(mc * ass) / max(1, res["TP"][a])
    res["LocA"] = np.maximum(1e-10, res["LocA"]) / np.maximum(1e-10, res["TP"])
    return res


def combine_hota(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """TrackEval's combination over sequences: sums of counts, TP-weighted AssA and LocA."""
    out = {k: sum(p[k] for p in parts) for k in ("TP", "FN", "FP")}
    out["AssA"] = sum(p["AssA"] * p["TP"] for p in parts) / np.maximum(1.0, out["TP"])
    loca = sum(p["LocA"] * p["TP"] for p in parts)
    out["LocA"] = np.maximum(1e-10, loca) / np.maximum(1e-10, out["TP"])
    return out


def hota_summary(parts: dict[str, np.ndarray]) -> dict[str, float]:
    """HOTA, DetA, AssA, LocA (means over α) from per-α parts."""
    det = parts["TP"] / np.maximum(1, parts["TP"] + parts["FN"] + parts["FP"])
    hota = np.sqrt(det * parts["AssA"])
    return {"hota": float(hota.mean()), "deta": float(det.mean()), "assa": float(parts["AssA"].mean()),
            "loca": float(parts["LocA"].mean())}


def evaluate_mot(seqs: list[MotSequence], iou_threshold: float = 0.5, hota: bool = True) -> dict[str, Any]:
    """Metrics per sequence and OVERALL: ``{"sequences": {name: {...}}, "overall": {...}}``.

    Keys are motmetrics' names (``idf1, idp, idr, recall, precision, num_unique_objects,
    mostly_tracked, partially_tracked, mostly_lost, num_false_positives, num_misses,
    num_switches, num_fragmentations, mota, motp, num_transfer, num_ascend, num_migrate``); MOTP is
    motmetrics' mean 1 − IoU of matches (lower is better); HOTA parts are added as
    ``hota, deta, assa, loca``.
    """
    import motmetrics as mm

    if not seqs:
        raise PosetoolError("nothing to evaluate: no sequences")
    accs = [accumulate(s, iou_threshold) for s in seqs]
    mh = mm.metrics.create()
    names = [s.name for s in seqs]
    with contextlib.redirect_stdout(io.StringIO()):
        summary = mh.compute_many(accs, metrics=mm.metrics.motchallenge_metrics, names=names, generate_overall=True)
    out: dict[str, Any] = {"iou_threshold": iou_threshold, "sequences": {}, "overall": {}}
    for name in names + ["OVERALL"]:
        row = {k: summary.loc[name, k].item() for k in mm.metrics.motchallenge_metrics}
        (out["overall"] if name == "OVERALL" else out["sequences"].setdefault(name, {})).update(row)
    if hota:
        parts = [hota_sequence(s) for s in seqs]
        for name, p in zip(names, parts):
            out["sequences"][name].update(hota_summary(p))
        out["overall"].update(hota_summary(combine_hota(parts)))
    return out


# --- inputs ---------------------------------------------------------------------------------

def _table_to_seq(name: str, gt: MotTable, pr: MotTable) -> MotSequence:
    return MotSequence(name, gt.frames, gt.ids, gt.boxes_xywh0(), pr.frames, pr.ids, pr.boxes_xywh0())


def stream_boxes(path: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """(frames, ids, xywh0 boxes, frame count) of a stream; frames are numbered 1.. like MOTChallenge."""
    from posetool.stream import StreamReader

    frames, ids, boxes = [], [], []
    n = untracked = 0
    for rec in StreamReader(path).frames():
        n += 1
        for inst in rec.get("instances") or []:
            b = inst.get("bbox")
            if b is None:
                continue
            if inst.get("track_id") is None:  # people the tracker left without an id (too few keypoints, too short)
                untracked += 1
                continue
            frames.append(int(rec["frame"]) + 1)
            ids.append(int(inst["track_id"]))
            boxes.append([b[0], b[1], b[2] - b[0], b[3] - b[1]])
    if untracked and not ids:
        raise PosetoolError(f"{path}: no instance has a track_id; run `posetool track` first")
    if untracked:
        from posetool.console import warn

        warn(f"{path}: {untracked} box(es) without track_id are not evaluated (like a tracker that does not report them)")
    return (np.asarray(frames, dtype=np.int64), np.asarray(ids, dtype=np.int64),
            np.asarray(boxes, dtype=np.float64).reshape(-1, 4), n)


def _load_one(path: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, int | None]:
    if Path(path).suffix.lower() == ".txt":
        t = read_mot_txt(path)
        return t.frames, t.ids, t.boxes_xywh0(), None
    return stream_boxes(path)


def _gt_files(folder: Path) -> dict[str, Path]:
    out = {}
    for d in sorted(p for p in folder.iterdir() if p.is_dir()):
        for cand in (d / "gt" / "gt.txt", d / "gt.txt"):
            if cand.is_file():
                out[d.name] = cand
                break
    return out


def load_mot_inputs(pred: str, gt: str) -> list[MotSequence]:
    """Pair predictions with ground truth: two files (txt or stream), or two folders.

    Folders: GT holds ``SEQ/gt/gt.txt`` or ``SEQ/gt.txt``; predictions hold ``SEQ.txt`` for each
    GT sequence (MOTChallenge's layout). Streams number frames from 0; they are shifted by one to
    MOTChallenge's 1-based frame numbers, and stream boxes ``[x1, y1, x2, y2]`` (0-based) are
    compared with 1-based MOTChallenge boxes after motmetrics' −1 shift.
    """
    gp, pp = Path(gt), Path(pred)
    if gp.is_dir() or pp.is_dir():
        if not (gp.is_dir() and pp.is_dir()):
            raise PosetoolError(f"{gt} and {pred}: give two folders or two files, not one of each")
        gts = _gt_files(gp)
        if not gts:
            raise PosetoolError(f"{gt}: no SEQ/gt/gt.txt or SEQ/gt.txt files")
        seqs = []
        for name, gfile in gts.items():
            pfile = pp / f"{name}.txt"
            if not pfile.is_file():
                raise PosetoolError(f"no prediction for sequence {name}: expected {pfile}")
            seqs.append(_table_to_seq(name, read_mot_txt(gfile), read_mot_txt(pfile)))
        return _with_ground_truth(seqs, gt)
    gf, gi, gb, gn = _load_one(gt)
    pf, pi, pb, pn = _load_one(pred)
    if gn is not None and pn is not None and gn != pn:
        raise PosetoolError(f"{pred} has {pn} frames but {gt} has {gn}; evaluate streams of the same video")
    seq = MotSequence(os.path.basename(gt).split(".")[0], gf, gi, gb, pf, pi, pb)
    n = gn if gn is not None else pn
    if n is not None:  # a stream says how many frames the video has: count empty ones too
        seq.all_frames = np.union1d(np.arange(1, n + 1), np.union1d(gf, pf))
    for frames, ids, who in ((gf, gi, gt), (pf, pi, pred)):
        if len(frames):
            key = frames * (ids.max() - ids.min() + 1) + (ids - ids.min())
            if len(np.unique(key)) != len(key):
                raise PosetoolError(f"{who}: a track id appears twice in one frame")
    return _with_ground_truth([seq], gt)


def _with_ground_truth(seqs: list[MotSequence], gt: str) -> list[MotSequence]:
    """``seqs``, unless their ground truth holds no box at all: every metric would divide by zero
    and print as '–', which hides that ``--gt`` named an empty or wrong file."""
    if not any(len(s.gt_frames) for s in seqs):
        raise PosetoolError(f"{gt}: the ground truth holds no boxes; nothing to evaluate (check --gt)")
    return seqs
