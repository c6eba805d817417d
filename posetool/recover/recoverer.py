"""Recover missed people and keypoints from keypoint correspondences (Rafi et al., ECCV 2020, Sec. 4).

Per frame t, with the output record of frame t−1 (one frame of look-back) and the
``correspondences`` that ``posetool correspond`` wrote into frame t:

1. **Missed people** (the authors' ``warp_poses.py`` + ``recover_missed_detections.py``). For every
   person i of frame t−1, its valid correspondences are those whose query keypoint confidence is
   ≥ ``joint_thr`` and whose affinity is ≥ ``corr_thr``, leaving out the ears (COCO 3, 4) and points
   on the image border or at 0. With at least ``min_correspondences`` of them, the pose estimator is
   re-run inside their enclosing box grown by ``margin`` px. The new pose is kept when at least
   ``min_joints`` joints score ≥ ``joint_thr``, its maximum OKS against the poses already in frame t
   is ≤ ``oks_existing`` and against the original detections (those with > 2 joints ≥ ``joint_thr``)
   is ≤ ``oks_detections``; it gets ``origin: "recovered"``.
   posetool's addition, ``claimed_oks``: people of t−1 are first assigned one-to-one to frame t's
   detections by the OKS between each detection and the person's valid correspondences (SciPy's
   Hungarian solver); a person assigned with OKS ≥ ``claimed_oks`` was detected again and is not
   re-estimated. The authors' duplicate checks compare the *re-estimated* pose with the detections,
   and a pose re-estimated from a drifted box covers only part of the person re-detected there (OKS
   0.3–0.5 at a crossing), so it came back as a second pose of that person. 1.0 turns it off.
2. **Missed keypoints of detected people.** A detection is matched to the person of frame t−1 whose
   valid correspondences agree with it (one-to-one, Hungarian, OKS ≥ ``match_oks`` over the joints
   both have); where
   the detection's keypoint is missing or below ``joint_thr`` but a valid correspondence exists, the
   pose is re-estimated inside the enclosing box of the detection and the correspondences (+ margin)
   and the re-estimated keypoint replaces it when it is confident (≥ ``joint_thr``) and more confident
   than before; the instance lists them in ``recovered_keypoints``.
3. **Pose NMS** (OKS ``nms_oks``, joints above ``nms_joint_thr``, highest score first), as the
   authors' ``pose_nms.py`` after recovery. By default (posetool's choice) it only removes recovered
   poses: a detected person is never suppressed, since the pose stage already did its own NMS among
   detections (the authors' detections had been through the same NMS, so for them it changed
   nothing); the real chain's BlazePose landmarks of people standing close together reach OKS
   > 0.7, and suppressing one removed real people (12 of 766 on vtest). ``nms_detected`` runs it
   over all people, as the authors' code does.

People recovered in frame t−1 have no correspondences in the input stream (they did not exist when
``correspond`` ran); with a correspondence estimator, their correspondences into frame t are computed
here, so a person missed for several frames is carried along (the authors query recovered poses in
the next frame too). A carried person counts the consecutive frames it has been recovered in
``recovered_frames`` (1 for a person detected in t−1); ``max_carry`` > 0 (posetool's addition, 0 =
the authors' unlimited carrying) stops recovering a person after that many frames, since a pose
that no longer covers anybody would otherwise be re-queried into a ghost for ever. Frame t's ``correspondences`` are renumbered to frame t−1's output order;
when people were added to frame t, ``at_instances`` is dropped (the new people were not read) and
the tracker falls back to its model of the maps.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from posetool.pose2d.oks import keypoint_score, oks_iou, oks_nms
from posetool.stream import to_plain
from posetool.track.assignment import hungarian
from posetool.stream.encoding import points_array

Record = dict[str, Any]


@dataclass(frozen=True)
class RecoverOptions:
    """Thresholds (defaults: the authors' released settings)."""

    corr_thr: float = 0.1
    joint_thr: float = 0.1
    min_correspondences: int = 3
    skip_keypoints: tuple[int, ...] = (3, 4)
    border: float = 0.0
    margin: float = 10.0
    min_joints: int = 5
    oks_existing: float = 0.8
    oks_detections: float = 0.6
    nms_oks: float = 0.7
    nms_joint_thr: float = 0.05
    people: bool = True
    keypoints: bool = True
    match_oks: float = 0.5
    requery: bool = True
    max_carry: int = 0  # posetool's addition: 0 = the authors' unlimited carrying
    nms_detected: bool = False  # True: the final pose NMS may also suppress detected people (the authors')
    claimed_oks: float = 0.3  # posetool's addition: 1.0 = off (the authors' duplicate checks only)

    def __post_init__(self) -> None:
        if self.max_carry < 0:
            from posetool.errors import OptionError

            raise OptionError("max_carry", f"must be ≥ 0 (0: no cap), got {self.max_carry}")
        if not 0.0 <= self.claimed_oks <= 1.0:
            from posetool.errors import OptionError

            raise OptionError("claimed_oks", f"must be in [0, 1] (1: off), got {self.claimed_oks}")

    def as_params(self) -> dict[str, Any]:
        d = asdict(self)
        d["skip_keypoints"] = list(self.skip_keypoints)
        return d


def _kps(inst: Record) -> np.ndarray | None:
    kp = inst.get("keypoints")
    if not kp:
        return None
    return points_array(kp)


def _area(inst: Record, kps: np.ndarray | None) -> float:
    box = inst.get("bbox")
    if box is not None:
        return max(1.0, (box[2] - box[0]) * (box[3] - box[1]))
    if kps is None:
        return 1.0
    ok = np.isfinite(kps[:, :2]).all(1)
    if ok.sum() < 2:
        return 1.0
    ext = kps[ok, :2].max(0) - kps[ok, :2].min(0)
    return max(1.0, float(ext[0] * ext[1]))


def _carried(inst: Record) -> int:
    """Consecutive frames ``inst`` has been a recovered person (0 for a detected one)."""
    if inst.get("origin") != "recovered":
        return 0
    return int(inst.get("recovered_frames") or 1)


def _clean(kps: np.ndarray) -> np.ndarray:
    """NaN-free copy for OKS: absent keypoints far away with confidence 0."""
    out = np.array(kps, dtype=np.float64, copy=True)
    bad = ~np.isfinite(out).all(1)
    out[bad] = (-1e6, -1e6, 0.0)
    return out


def valid_correspondences(entry: Record, query: np.ndarray, width: int, height: int, opts: RecoverOptions) -> np.ndarray:
    """(K,) mask of usable correspondences of one entry (see module docstring, step 1)."""
    c = points_array(entry["keypoints"])
    k = len(c)
    ok = np.isfinite(c).all(1) & np.isfinite(query[:, 2]) & (np.nan_to_num(query[:, 2]) >= opts.joint_thr)
    ok &= np.nan_to_num(c[:, 2]) >= opts.corr_thr
    skip = np.zeros(k, dtype=bool)
    skip[[i for i in opts.skip_keypoints if 0 <= i < k]] = True
    ok &= ~skip
    b = opts.border
    x, y = np.nan_to_num(c[:, 0]), np.nan_to_num(c[:, 1])
    ok &= (x > b) & (y > b) & (x < width - 1 - b) & (y < height - 1 - b)
    return ok


def _entry_points(entry: Record) -> np.ndarray:
    return points_array(entry["keypoints"])


def _box_of(points: np.ndarray, margin: float, width: int, height: int) -> np.ndarray:
    lo, hi = points.min(0) - margin, points.max(0) + margin
    return np.array([max(0.0, lo[0]), max(0.0, lo[1]), min(width - 1.0, hi[0]), min(height - 1.0, hi[1])])


class Recoverer:
    """Frame-by-frame recovery.

    Args:
        estimator: a :class:`posetool.pose2d.estimator.TopDownEstimator` (re-estimates poses in boxes).
        options: thresholds.
        correspondences: optional :class:`posetool.correspond.infer.CorrespondenceEstimator` for
            re-querying people recovered in the previous frame.
        sigmas: OKS sigmas of the skeleton (COCO's by default).
    """

    def __init__(self, estimator: Any, options: RecoverOptions | None = None, correspondences: Any = None,
                 sigmas: np.ndarray | None = None) -> None:
        self.estimator = estimator
        self.opts = options or RecoverOptions()
        self.corr = correspondences
        self.sigmas = sigmas
        self.prev: Record | None = None
        self.prev_image: np.ndarray | None = None
        self.index_map: dict[int, int] = {}
        self.counts = {"people": 0, "keypoints": 0, "suppressed": 0}

    # --- per frame ---------------------------------------------------------------------------------
    def push(self, rec: Record, image: np.ndarray) -> Record:
        """Recover in frame ``rec`` (with its BGR ``image``) and return the frame record to write."""
        h, w = image.shape[:2]
        insts = [dict(x) for x in rec.get("instances") or []]
        for x in insts:
            x.setdefault("origin", "detected")
        n_orig = len(insts)
        prev = self.prev if self.prev is not None and int(self.prev["frame"]) == int(rec["frame"]) - 1 else None
        entries = self._entries(rec, prev, image) if prev is not None else []
        prev_insts = prev["instances"] if prev is not None else []
        valid = [None if (q := _kps(prev_insts[e["source"]])) is None else valid_correspondences(e, q, w, h, self.opts)
                 for e in entries]
        agreement = self._agreement(entries, valid, insts)
        if prev is not None and self.opts.people:
            insts += self._recover_people(entries, valid, prev_insts, insts, agreement, image, w, h)
        if prev is not None and self.opts.keypoints:
            self._recover_keypoints(entries, valid, insts, agreement, image, w, h)
        keep = self._nms(insts, n_orig)
        self.counts["suppressed"] += len(insts) - len(keep)
        out_insts = [insts[i] for i in keep]
        index_map = {old: new for new, old in enumerate(keep) if old < n_orig}
        added = any(i >= n_orig for i in keep)
        out = dict(rec)
        out["instances"] = out_insts
        if "correspondences" in rec or entries:
            out["correspondences"] = self._remap_columns(entries, keep, index_map, n_orig, added)
        self.prev, self.prev_image, self.index_map = out, image, index_map
        return out

    def _entries(self, rec: Record, prev: Record, image: np.ndarray) -> list[Record]:
        """Frame t's correspondences renumbered to frame t−1's output, plus re-queried recovered people."""
        entries = []
        for e in rec.get("correspondences") or []:
            src = self.index_map.get(int(e.get("source", -1)))
            if src is not None:
                entries.append({**e, "source": src})
        have = {e["source"] for e in entries}
        missing = [i for i, x in enumerate(prev["instances"]) if x.get("origin") == "recovered" and i not in have
                   and x.get("keypoints")]
        if missing and self.corr is not None and self.opts.requery:
            from posetool.correspond.stage import correspondence_entries

            entries += correspondence_entries(self.corr, prev, self.prev_image, rec, image, sources=missing)
            entries.sort(key=lambda e: e["source"])
        return entries

    def _agreement(self, entries: list[Record], valid: list[np.ndarray | None], insts: list[Record]) -> np.ndarray:
        """(E, N) OKS between entry e's valid correspondences (mask ``valid[e]``, None: its query has no
        keypoints) and detection n's keypoints (0: nothing to compare).

        OKS over the joints both have, with the detection's area (its box, else its keypoints' extent).
        """
        o = self.opts
        agree = np.zeros((len(entries), len(insts)))
        dets = [(n, k, _area(x, k)) for n, x in enumerate(insts) if (k := _kps(x)) is not None]
        for r, (e, ok) in enumerate(zip(entries, valid)):
            if ok is None or not ok.any():
                continue
            cand = _clean(np.concatenate([_entry_points(e)[:, :2], ok[:, None].astype(np.float64)], 1))
            for n, kps, area in dets:
                agree[r, n] = oks_iou(_clean(kps), cand[None], area, np.array([area]), self.sigmas,
                                      in_vis_thre=o.joint_thr)[0]
        return agree

    def _recover_people(self, entries: list[Record], valid: list[np.ndarray | None], prev_insts: list[Record],
                        insts: list[Record], agreement: np.ndarray, image: np.ndarray, w: int, h: int) -> list[Record]:
        o = self.opts
        claimed = {r for r, _ in hungarian(agreement, o.claimed_oks)} if o.claimed_oks < 1.0 else set()
        boxes, sources = [], []
        for r, (e, ok) in enumerate(zip(entries, valid)):
            if r in claimed or ok is None:
                continue  # detected again in frame t (nothing to recover), or nothing to query
            if o.max_carry and _carried(prev_insts[e["source"]]) >= o.max_carry:
                continue  # carried long enough without a detection: let it go
            if ok.sum() < o.min_correspondences:
                continue
            box = _box_of(_entry_points(e)[ok, :2], o.margin, w, h)
            if box[2] - box[0] < 1 or box[3] - box[1] < 1:
                continue
            boxes.append(box)
            sources.append(e["source"])
        if not boxes:
            return []
        result = self.estimator.estimate(image, np.stack(boxes), np.ones(len(boxes)))
        detections = [(k, _area(x, k)) for x in insts if (k := _kps(x)) is not None
                      and (np.nan_to_num(k[:, 2]) >= o.joint_thr).sum() > 2]
        existing = [(k, _area(x, k)) for x in insts if (k := _kps(x)) is not None]
        new: list[Record] = []
        for n, idx in enumerate(result.indices):
            kps = result.keypoints[n]
            if (kps[:, 2] >= o.joint_thr).sum() < o.min_joints:
                continue
            box = boxes[int(idx)]
            area = max(1.0, float((box[2] - box[0]) * (box[3] - box[1])))
            if self._max_oks(kps, area, existing) > o.oks_existing:
                continue
            if self._max_oks(kps, area, detections) > o.oks_detections:
                continue
            inst = {"bbox": to_plain(np.round(box, 2)), "score": float(keypoint_score(kps[None, :, 2], o.joint_thr)[0]),
                    "keypoints": to_plain(np.round(kps, 4)), "origin": "recovered",
                    "recovered_from": int(sources[int(idx)]),
                    "recovered_frames": _carried(prev_insts[int(sources[int(idx)])]) + 1}
            if result.label_doubt is not None and result.label_doubt.shape[1]:
                inst["lr_doubt"] = to_plain(np.round(result.label_doubt[n], 3))
            new.append(inst)
            existing.append((kps, area))
            self.counts["people"] += 1
        return new

    def _recover_keypoints(self, entries: list[Record], valid: list[np.ndarray | None], insts: list[Record],
                           agreement: np.ndarray, image: np.ndarray, w: int, h: int) -> None:
        o = self.opts
        jobs: list[tuple[int, np.ndarray, np.ndarray]] = []  # (instance, weak joints, box)
        for r, j in hungarian(agreement, o.match_oks):
            e, ok, kps = entries[r], valid[r], _kps(insts[j])
            if ok is None or kps is None:
                continue  # only possible at --match-oks 0, where pairs with nothing to compare are allowed
            conf = np.nan_to_num(kps[:, 2], nan=0.0)
            weak = ok & ((conf < o.joint_thr) | ~np.isfinite(kps[:, :2]).all(1))
            if not weak.any():
                continue
            pts = _entry_points(e)[ok, :2]
            box = insts[j].get("bbox")
            own = kps[np.isfinite(kps[:, :2]).all(1) & (conf >= o.joint_thr), :2]
            parts = [pts] + ([np.array([[box[0], box[1]], [box[2], box[3]]])] if box is not None else [own])
            jobs.append((j, weak, _box_of(np.concatenate(parts), o.margin, w, h)))
        if not jobs:
            return
        result = self.estimator.estimate(image, np.stack([b for _, _, b in jobs]), np.ones(len(jobs)))
        for n, idx in enumerate(result.indices):
            j, weak, _ = jobs[int(idx)]
            new = result.keypoints[n]
            kps = _kps(insts[j])
            conf = np.nan_to_num(kps[:, 2], nan=0.0)
            take = weak & (new[:, 2] >= o.joint_thr) & (new[:, 2] > conf)
            if not take.any():
                continue
            kps[take] = new[take]
            insts[j]["keypoints"] = to_plain(np.round(kps, 4))
            self._forget_doubt(insts[j], take)
            insts[j]["recovered_keypoints"] = sorted(set(insts[j].get("recovered_keypoints") or []) | set(np.nonzero(take)[0].tolist()))
            self.counts["keypoints"] += int(take.sum())

    def _forget_doubt(self, inst: Record, replaced: np.ndarray) -> None:
        """The pose model's ``lr_doubt`` of a left/right pair is about the points it gave: where a
        point of the pair was replaced by a re-estimate, the pair's doubt is unknown (None)."""
        doubt = inst.get("lr_doubt")
        if doubt is None:
            return
        pairs = getattr(getattr(self.estimator, "skeleton", None), "flip_pairs", None)
        if pairs is None or len(pairs) != len(doubt):
            del inst["lr_doubt"]  # which pair is which is not known here
            return
        inst["lr_doubt"] = [None if replaced[a] or replaced[b] else d for (a, b), d in zip(pairs, doubt)]

    def _max_oks(self, kps: np.ndarray, area: float, others: list[tuple[np.ndarray, float]]) -> float:
        if not others:
            return 0.0
        d = np.stack([_clean(k) for k, _ in others])
        areas = np.array([a for _, a in others])
        return float(oks_iou(_clean(kps), d, area, areas, self.sigmas, in_vis_thre=self.opts.joint_thr).max())

    def _nms(self, insts: list[Record], n_detected: int) -> list[int]:
        """Indices kept by pose NMS (instances without keypoints are kept), in input order.

        ``insts[:n_detected]`` are the detected people: kept unless ``nms_detected``.
        """
        with_kp = [i for i, x in enumerate(insts) if _kps(x) is not None]
        if len(with_kp) < 2 or self.opts.nms_oks >= 1.0:
            return list(range(len(insts)))
        kps = np.stack([_clean(_kps(insts[i])) for i in with_kp])
        scores = np.array([float(insts[i]["score"]) if insts[i].get("score") is not None
                           else float(keypoint_score(kps[n:n + 1, :, 2])[0]) for n, i in enumerate(with_kp)])
        areas = np.array([_area(insts[i], kps[n]) for n, i in enumerate(with_kp)])
        o = self.opts
        if o.nms_detected:
            keep = oks_nms(kps, scores, areas, o.nms_oks, self.sigmas, in_vis_thre=o.nms_joint_thr)
        else:
            keep = [n for n, i in enumerate(with_kp) if i < n_detected]
            for n in sorted((n for n, i in enumerate(with_kp) if i >= n_detected), key=lambda n: -scores[n]):
                if not keep or oks_iou(kps[n], kps[keep], areas[n], areas[keep], self.sigmas,
                                       in_vis_thre=o.nms_joint_thr).max() <= o.nms_oks:
                    keep.append(n)
        kept = {with_kp[k] for k in keep} | {i for i in range(len(insts)) if i not in set(with_kp)}
        return sorted(kept)

    @staticmethod
    def _remap_columns(entries: list[Record], keep: list[int], index_map: dict[int, int], n_orig: int,
                       added: bool) -> list[Record]:
        out = []
        for e in entries:
            e = dict(e)
            at = e.get("at_instances")
            if at is not None:
                if added or len(at) != n_orig:
                    e.pop("at_instances")
                else:
                    e["at_instances"] = [at[old] for old in keep]
            out.append(e)
        return out


def recover_frames(frames: Iterator[tuple[Record, np.ndarray]], recoverer: Recoverer) -> Iterator[Record]:
    """Recovered frame records of ``(record, image)`` pairs."""
    for rec, image in frames:
        yield recoverer.push(rec, image)
