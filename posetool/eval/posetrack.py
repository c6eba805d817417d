"""PoseTrack evaluation: per-joint AP and per-joint MOTA / MOTP / precision / recall.

The rules are poseval's (github.com/leonid-pishchulin/poseval, ``eval_helpers.py``,
``evaluateAP.py``, ``evaluateTracking.py``), computed on arrays instead of nested dicts:

- Only frames whose ground truth has at least one person are evaluated. Keypoints inside an
  image's ignore regions are removed from ground truth and predictions; in such images a
  person left without keypoints is removed.
- Distance of a predicted joint to a GT joint = pixel distance / head size, head size =
  0.6 × the diagonal of the GT head box. A joint matches when the distance is ≤ 0.5.
- AP: per frame, pck[p, g] = matched joints of prediction p on GT g / annotated joints of g;
  each prediction keeps only its best GT, then each GT takes the prediction with the highest
  remaining pck (pck 0: no match). Predicted joints of a matched prediction are true
  positives where they match their GT's joint; all other predicted joints are false positives.
  Per joint, detections of all frames are ranked by score; AP is VOC's all-point AP × 100.
- MOT: per sequence and joint a CLEAR-MOT accumulator (:mod:`posetool.eval.clearmot`) gets,
  each frame, the GT track ids and predicted track ids that have the joint, with the
  normalised distance as cost (> 0.5: do not pair). Counts are summed over sequences per
  joint: MOTA = 100·(1 − (misses + switches + FP) / objects), MOTP = 100·(1 − ΣD / detections),
  precision = 100·detections / (detections + FP), recall = 100·detections / objects.
- Totals are the unweighted means over the 15 joints of the values that are defined.

``compat=False`` (default) fixes poseval's three quirks; ``compat=True`` reproduces them:
1. poseval never evaluates the last labelled frame of a sequence for MOT (``imgidxs[:-1]``);
2. a frame without predictions (or whose GT is empty after ignore regions) is fed as one fake
   object and one fake hypothesis per joint: exactly one miss and one FP whatever the number of
   people; the default feeds the real ids, so every GT joint is a miss and every predicted one
   a false positive;
3. poseval sums the ``D`` column of motmetrics' whole event table for MOTP, which since
   motmetrics 1.2 also holds RAW/TRANSFER/ASCEND/MIGRATE rows; the default sums MATCH and
   SWITCH distances only. poseval also reports MOTP 0 for a joint without detections; the
   default leaves it undefined (excluded from the mean).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from posetool.data.posetrack import POSEVAL_IDS, POSEVAL_NAMES, PoseTrackFrame, PoseTrackPerson
from posetool.errors import PosetoolError
from posetool.eval.clearmot import ClearMotAccumulator
from posetool.eval.polygon import points_in_polygon

NUM_JOINTS = 15
DIST_THRESH = 0.5
MIN_SCORE = -9999.0  # poseval's score for a predicted joint without one
JOINT_NAMES = POSEVAL_NAMES
# poseval's printed table: joint groups (poseval joint ids) and their column names.
GROUPS: tuple[tuple[str, tuple[int, ...]], ...] = (
    ("Head", (14, 12, 13)), ("Shou", (8, 9)), ("Elb", (7, 10)), ("Wri", (6, 11)),
    ("Hip", (2, 3)), ("Knee", (1, 4)), ("Ankl", (0, 5)),
)


@dataclass
class EvalFrame:
    """One evaluated frame, joints in poseval order (15).

    Attributes:
        gt_ids: (G,) int64 GT track ids.  gt_xy: (G, 15, 2).  gt_has: (G, 15) bool.
        head: (G,) head sizes (0.6 × head-box diagonal; NaN for a GT without keypoints).
        pr_ids: (P,) int64 predicted track ids (-1 when absent).  pr_xy: (P, 15, 2).
        pr_has: (P, 15) bool.  pr_score: (P, 15) float64.
    """

    gt_ids: np.ndarray
    gt_xy: np.ndarray
    gt_has: np.ndarray
    head: np.ndarray
    pr_ids: np.ndarray
    pr_xy: np.ndarray
    pr_has: np.ndarray
    pr_score: np.ndarray


@dataclass
class EvalSequence:
    name: str
    frames: list[EvalFrame]


def _people_arrays(people: list[PoseTrackPerson], regions: list[np.ndarray]) -> tuple[np.ndarray, ...]:
    """Stack people into (ids, xy, has, score, keep) in poseval joint order, ignore regions applied."""
    n = len(people)
    idx = np.asarray(POSEVAL_IDS)
    xy = np.zeros((n, NUM_JOINTS, 2))
    has = np.zeros((n, NUM_JOINTS), dtype=bool)
    score = np.full((n, NUM_JOINTS), MIN_SCORE)
    ids = np.full(n, -1, dtype=np.int64)
    for k, p in enumerate(people):
        xy[k] = p.keypoints[idx, :2]
        has[k] = p.present[idx]
        if p.scores is not None:
            s = p.scores[idx]
            score[k] = np.where(np.isnan(s), MIN_SCORE, s)
        if p.track_id is not None:
            ids[k] = p.track_id
    keep = np.ones(n, dtype=bool)
    if regions and n:
        flat = xy.reshape(-1, 2)
        hit = np.zeros(len(flat), dtype=bool)
        for poly in regions:
            hit |= points_in_polygon(flat, poly)
        has &= ~hit.reshape(n, NUM_JOINTS)
        keep = has.any(axis=1)  # poseval drops people left without points in such images
    return ids[keep], xy[keep], has[keep], score[keep], keep


def prepare_frame(gt: PoseTrackFrame, pr: PoseTrackFrame, where: str) -> EvalFrame:
    """Arrays for one frame pair (the GT frame's ignore regions apply to both)."""
    gt_people = [p for p in gt.people if p.has_points_field]
    pr_people = [p for p in pr.people if p.has_points_field]
    g_ids, g_xy, g_has, _, g_keep = _people_arrays(gt_people, gt.ignore_regions)
    p_ids, p_xy, p_has, p_score, _ = _people_arrays(pr_people, gt.ignore_regions)
    head = np.full(len(g_ids), np.nan)
    for k, person in enumerate(p for p, kept in zip(gt_people, g_keep) if kept):
        if person.track_id is None:
            raise PosetoolError(f"{where}: ground-truth person {k} has no track_id")
        if g_has[k].any():
            if person.head_box is None:
                raise PosetoolError(
                    f"{where}: ground-truth person {k} (track {person.track_id}) has keypoints but no head box "
                    "(bbox_head / head_bbox); PoseTrack distances are normalised by the head size"
                )
            b = person.head_box
            head[k] = 0.6 * np.linalg.norm(np.subtract([b[2], b[3]], [b[0], b[1]]))
    for ids, who in ((g_ids, "ground truth"), (p_ids[p_ids >= 0], "predictions")):
        if len(np.unique(ids)) != len(ids):
            raise PosetoolError(f"{where}: track ids repeat within the frame in the {who}; each person needs its own id")
    return EvalFrame(g_ids, g_xy, g_has, head, p_ids, p_xy, p_has, p_score)


def prepare_sequence(name: str, gt_frames: Sequence[PoseTrackFrame], pr_frames: Sequence[PoseTrackFrame]) -> EvalSequence:
    """Keep the frames whose GT has people (poseval's ``cleanupData``) and build their arrays."""
    if len(gt_frames) != len(pr_frames):
        raise PosetoolError(f"sequence {name}: {len(pr_frames)} prediction frames but {len(gt_frames)} ground-truth frames")
    frames = [
        prepare_frame(g, p, f"sequence {name}, frame {i} ({g.file_name or g.image_id})")
        for i, (g, p) in enumerate(zip(gt_frames, pr_frames))
        if len(g.people) > 0
    ]
    return EvalSequence(name, frames)


@dataclass
class FrameMatch:
    """Per-frame assignment (poseval ``assignGTmulti``).

    Attributes:
        dist: (P, G, 15) normalised distances (inf where either joint is missing).
        match: (P, G, 15) bool, dist ≤ 0.5.
        labels: (P, 15) bool, whether each predicted joint is a true positive.
    """

    dist: np.ndarray
    match: np.ndarray
    labels: np.ndarray


def match_frame(fr: EvalFrame, thresh: float = DIST_THRESH) -> FrameMatch:
    """Distances, joint matches and AP labels of one frame."""
    P, G = len(fr.pr_ids), len(fr.gt_ids)
    if P == 0 or G == 0:
        z = np.zeros((P, G, NUM_JOINTS), dtype=bool)
        return FrameMatch(np.full((P, G, NUM_JOINTS), np.inf), z, np.zeros((P, NUM_JOINTS), dtype=bool))
    diff = fr.gt_xy[None, :, :, :] - fr.pr_xy[:, None, :, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        dist = np.sqrt(diff[..., 0] * diff[..., 0] + diff[..., 1] * diff[..., 1]) / fr.head[None, :, None]
    both = fr.pr_has[:, None, :] & fr.gt_has[None, :, :]
    dist = np.where(both, dist, np.inf)
    match = dist <= thresh
    n_gt = fr.gt_has.sum(axis=1)
    pck = match.sum(axis=2).astype(np.float64)
    pck = np.where(n_gt[None, :] > 0, pck / np.maximum(n_gt[None, :], 1), pck)
    best = np.argmax(pck, axis=1)  # each prediction keeps its best GT only
    keep = np.zeros_like(pck, dtype=bool)
    keep[np.arange(P), best] = True
    pck = np.where(keep, pck, 0.0)
    pr_to_gt = np.argmax(pck, axis=0)  # each GT takes its best remaining prediction
    pr_to_gt[np.max(pck, axis=0) == 0] = -1
    labels = np.zeros((P, NUM_JOINTS), dtype=bool)
    for g, p in enumerate(pr_to_gt):
        if p >= 0:
            labels[p] = match[p, g]
    return FrameMatch(dist, match, labels & fr.pr_has)


def voc_ap(recall: np.ndarray, precision: np.ndarray) -> float:
    """All-point VOC AP with a monotone precision envelope (poseval ``VOCap``).

    Args:
        recall, precision: (N,) values along the ranked detections.
    """
    mrec = np.concatenate([[0.0], recall, [1.0]])
    mpre = np.concatenate([[0.0], precision, [0.0]])
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    i = np.flatnonzero(mrec[1:] != mrec[:-1]) + 1
    return float(np.sum((mrec[i] - mrec[i - 1]) * mpre[i]))


def ap_from_detections(scores: np.ndarray, labels: np.ndarray, n_pos: float) -> tuple[float, float, float]:
    """(AP, final precision, final recall) × 100 of one joint (poseval ``computeRPC``/``VOCap``).

    Args:
        scores: (N,) detection scores in input order.  labels: (N,) bool true positives.
        n_pos: number of annotated GT joints.
    """
    if len(scores) == 0:
        return 0.0, 0.0, 0.0  # poseval leaves joints without any detection at 0
    order = np.asarray(scores).argsort()[::-1]  # poseval's ranking (ties as numpy's argsort orders them)
    tp = np.cumsum(np.asarray(labels)[order] == 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = tp / np.float64(n_pos)
    precision = tp / np.arange(1, len(tp) + 1, dtype=np.float64)
    return voc_ap(recall, precision) * 100, precision[-1] * 100, recall[-1] * 100


def _mean_defined(v: np.ndarray) -> float:
    ok = ~np.isnan(v)
    return float(v[ok].mean()) if ok.any() else float("nan")


@dataclass
class PoseTrackResult:
    """Per-joint values (15, poseval order) and their totals; per-sequence totals."""

    ap: np.ndarray
    ap_precision: np.ndarray
    ap_recall: np.ndarray
    mota: np.ndarray | None = None
    motp: np.ndarray | None = None
    precision: np.ndarray | None = None
    recall: np.ndarray | None = None
    counts: dict[str, np.ndarray] | None = None
    sequences: list[dict[str, Any]] = field(default_factory=list)
    frames: int = 0
    compat: bool = False

    def total(self, name: str) -> float:
        return _mean_defined(getattr(self, name))

    def grouped(self, name: str) -> list[float]:
        """Head, Shou, Elb, Wri, Hip, Knee, Ankl, Total of one metric (poseval ``getCum``)."""
        v = getattr(self, name)
        return [float(np.mean(v[list(ids)])) for _, ids in GROUPS] + [self.total(name)]

    def to_dict(self) -> dict[str, Any]:
        def jd(v: np.ndarray | None) -> dict[str, float | None] | None:
            if v is None:
                return None
            d = {n: (None if np.isnan(x) else float(x)) for n, x in zip(JOINT_NAMES, v)}
            t = _mean_defined(v)
            d["total"] = None if np.isnan(t) else t
            return d

        out: dict[str, Any] = {
            "frames": self.frames, "poseval_compat": self.compat,
            "ap": jd(self.ap), "ap_precision": jd(self.ap_precision), "ap_recall": jd(self.ap_recall),
            "mota": jd(self.mota), "motp": jd(self.motp), "precision": jd(self.precision), "recall": jd(self.recall),
        }
        out["table"] = {
            "columns": [g for g, _ in GROUPS] + ["Total"],
            "ap": self.grouped("ap"),
            **({"mota": self.grouped("mota")} if self.mota is not None else {}),
        }
        if self.counts is not None:
            out["counts"] = {k: dict(zip(JOINT_NAMES, map(float, v))) for k, v in self.counts.items()}
        out["sequences"] = self.sequences
        return out


def _mot_metrics(c: dict[str, np.ndarray], compat: bool) -> tuple[np.ndarray, ...]:
    """MOTA, MOTP, precision, recall (× 100) per joint from summed counts (poseval's formulas)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        n_obj = np.where(c["objects"] > 0, c["objects"], np.nan)
        mota = 100 * (1.0 - (c["misses"] + c["switches"] + c["false_positives"]) / n_obj)
        det = c["detections"]
        s = c["sum_d_all"] if compat else c["sum_d"]
        motp = np.where(det == 0, 0.0 if compat else np.nan, 100 * (1.0 - s / np.where(det == 0, 1, det)))
        tot = np.where(c["false_positives"] + det > 0, c["false_positives"] + det, np.nan)
        pre = 100 * (det / tot)
        rec = 100 * (det / n_obj)
    return mota, motp, pre, rec


_COUNT_KEYS = ("matches", "switches", "false_positives", "misses", "objects", "detections", "sum_d", "sum_d_all")


def evaluate_posetrack(
    sequences: Sequence[EvalSequence],
    *,
    tracking: bool = True,
    compat: bool = False,
    accumulator: Callable[[], Any] = ClearMotAccumulator,
) -> PoseTrackResult:
    """Evaluate prepared sequences (see :func:`prepare_sequence`).

    Args:
        tracking: also compute the MOT metrics (needs predicted track ids).
        compat: reproduce poseval's quirks (module docstring).
        accumulator: factory of CLEAR-MOT accumulators with ``update(oids, hids, dists)`` and a
            ``counts`` attribute (:class:`ClearMotAccumulator`); benchmarks swap in motmetrics.
    """
    all_scores: list[np.ndarray] = []
    all_labels: list[np.ndarray] = []
    all_has: list[np.ndarray] = []
    seq_of_row: list[np.ndarray] = []
    n_gt = np.zeros((len(sequences), NUM_JOINTS))
    totals = {k: np.zeros(NUM_JOINTS) for k in _COUNT_KEYS}
    per_seq: list[dict[str, Any]] = []
    n_frames = 0
    fake = np.full((1, 1), np.nan)
    for si, seq in enumerate(sequences):
        accs = [accumulator() for _ in range(NUM_JOINTS)] if tracking else []
        mot_frames = len(seq.frames) - 1 if compat else len(seq.frames)  # quirk 1
        for fi, fr in enumerate(seq.frames):
            n_frames += 1
            fm = match_frame(fr)
            all_scores.append(fr.pr_score)
            all_labels.append(fm.labels)
            all_has.append(fr.pr_has)
            seq_of_row.append(np.full(len(fr.pr_ids), si))
            n_gt[si] += fr.gt_has.sum(axis=0)
            if not tracking or fi >= mot_frames:
                continue
            if tracking and (fr.pr_ids < 0).any():
                raise PosetoolError(f"sequence {seq.name}: a predicted person has no track_id; run `posetool track` first")
            empty = len(fr.pr_ids) == 0 or len(fr.gt_ids) == 0
            for j in range(NUM_JOINTS):
                if empty and compat:  # quirk 2: one fake object and hypothesis
                    accs[j].update([0], [0], fake)
                    continue
                g = np.flatnonzero(fr.gt_has[:, j])
                p = np.flatnonzero(fr.pr_has[:, j])
                if empty:
                    accs[j].update(fr.gt_ids[g], fr.pr_ids[p], np.full((len(g), len(p)), np.nan))
                    continue
                d = fm.dist[np.ix_(p, g, [j])][:, :, 0].T
                d = np.where(d <= DIST_THRESH, d, np.nan)
                accs[j].update(fr.gt_ids[g], fr.pr_ids[p], d)
        entry: dict[str, Any] = {"name": seq.name, "frames": len(seq.frames)}
        if tracking:
            sc = {k: np.array([getattr(a.counts, k) for a in accs], dtype=np.float64) for k in _COUNT_KEYS}
            for k in _COUNT_KEYS:
                totals[k] += sc[k]
            m = _mot_metrics(sc, compat)
            entry.update({n: _mean_defined(v) for n, v in zip(("mota", "motp", "precision", "recall"), m)})
        per_seq.append(entry)

    scores = np.concatenate(all_scores) if all_scores else np.zeros((0, NUM_JOINTS))
    labels = np.concatenate(all_labels) if all_labels else np.zeros((0, NUM_JOINTS), dtype=bool)
    has = np.concatenate(all_has) if all_has else np.zeros((0, NUM_JOINTS), dtype=bool)
    rows_seq = np.concatenate(seq_of_row) if seq_of_row else np.zeros(0, dtype=int)

    def joint_ap(rows: np.ndarray, npos: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        out = np.zeros((3, NUM_JOINTS))
        for j in range(NUM_JOINTS):
            sel = rows & has[:, j]
            out[:, j] = ap_from_detections(scores[sel, j], labels[sel, j], npos[j])
        return out[0], out[1], out[2]

    ap, ap_pre, ap_rec = joint_ap(np.ones(len(scores), dtype=bool), n_gt.sum(axis=0))
    for si, entry in enumerate(per_seq):
        entry["ap"] = _mean_defined(joint_ap(rows_seq == si, n_gt[si])[0])
    result = PoseTrackResult(ap=ap, ap_precision=ap_pre, ap_recall=ap_rec, sequences=per_seq, frames=n_frames, compat=compat)
    if tracking:
        result.mota, result.motp, result.precision, result.recall = _mot_metrics(totals, compat)
        result.counts = totals
    return result
