"""Can a track be trusted over a whole video? Identity across absences, left/right swaps, jitter, 3D.

``posetool eval trust PRED --gt gt.jsonl`` compares a tracked pose stream with exact ground truth
(a ``posetool synth`` stream: ``track_id``, ``bbox``, ``keypoints`` with confidence 1 inside the
image, ``keypoints_3d``, ``root_3d``). Definitions (docs/eval.md has them with their formulas):

**Matching.** Per frame, ground-truth people and *tracked* predictions (instances with a
``track_id``; others are ignored, as in ``eval mot``) are paired by Hungarian assignment on box
IoU, keeping pairs with IoU ≥ ``iou`` (0.5). A GT person is *seen* in a frame when paired.

**Re-entries.** For a GT person seen in frames a < b and not seen in between, with
b − a − 1 ≥ ``min_gap`` frames, the absence is a re-entry; it is *kept* when the predicted id
at b equals the id the person carried before leaving: the id paired with them in most frames
of the stretch seen before the gap (since the previous such gap; ties go to the later id), so
that a switch in the last frames before leaving, already counted by MOTA/IDF1, does not decide
the re-entry. ``kept_last`` (JSON) compares with the id at a instead. Gaps are binned by their
length in seconds (``gap / fps``); the cause is *out of view* when the GT person is absent from
every frame of the gap, else *missed*.

**Left/right swaps.** For a pair and each of the six COCO limb pairs (shoulders, elbows, wrists,
hips, knees, ankles) with both GT points in the image, both predicted points present and the
GT points at least ``lr_min_sep`` × GT box height apart, the pair is *swapped* when each predicted
point is nearer the GT's opposite point
(‖p_L − g_R‖ < ‖p_L − g_L‖ and ‖p_R − g_L‖ < ‖p_R − g_R‖),
*consistent* when each is nearer its own, and not judged otherwise (both predicted points nearer
the same GT point). A *swap* is the onset of the swapped state:
a limb pair swapped in frame t whose last judged state, in the unbroken run of consecutive
frames where the same GT person is paired with the same predicted id, was consistent (frames
where the pair is not judged, e.g. side-on, are skipped). Rate = swaps / paired person-frames
× 1000; the share of swapped judgements is given beside it.

**Jitter.** Acceleration of a point over frames t − 1, t, t + 1: a = x(t+1) − 2 x(t) + x(t−1).
The acceleration error (Kanazawa et al. HMMR, Kocabas et al. VIBE) is the mean ‖a_pred − a_gt‖
over points defined in all three frames, for GT people paired with one predicted id in all
three; 2D in px/frame² (GT points in the image), 3D in mm/frame² on root-relative joints (joint 0
subtracted). The raw acceleration ‖a_pred‖ is also given over every predicted track (no GT needed).

**3D.** Root-relative MPJPE (joint 0 subtracted from both), and when the prediction has
``root_3d``: root position error ‖r_pred − r_gt‖ and absolute MPJPE
‖(p_j − p_0 + r_pred) − (g_j − g_0 + r_gt)‖ averaged over joints; all in mm over paired frames.
When the prediction has ``keypoints_world`` (``lift3d --world``), the same two errors in the
ground-plane world frame, GT placed there by the GT camera's true height and pitch.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

from posetool.detect.boxes import box_iou
from posetool.errors import PosetoolError
from posetool.lift3d.world import WorldFrame, world_from_header
from posetool.stream.encoding import points_array

# COCO-17 (left, right) index pairs of the limbs whose swaps are counted, and their names.
LIMB_PAIRS: tuple[tuple[int, int], ...] = ((5, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16))
LIMB_NAMES: tuple[str, ...] = ("shoulders", "elbows", "wrists", "hips", "knees", "ankles")
# Gap bins in seconds: [lo, hi).
GAP_BINS: tuple[tuple[float, float], ...] = ((0.0, 1.0), (1.0, 2.0), (2.0, 5.0), (5.0, math.inf))


@dataclass(frozen=True)
class TrustOptions:
    """Settings of the measures (see module docstring)."""

    iou: float = 0.5          # minimum box IoU of a GT/prediction pair
    min_gap: int = 10         # frames a GT person must be unseen for an absence to count
    lr_min_sep: float = 0.1   # GT left/right points closer than this × box height are not judged


@dataclass
class Person:
    """One decoded instance: ``box`` (4,) x1 y1 x2 y2, ``kp`` (K, 3), ``kp3d`` (J, 3) m, ``root`` (3,) m."""

    track_id: int | None
    box: np.ndarray | None
    kp: np.ndarray | None
    kp3d: np.ndarray | None
    root: np.ndarray | None
    world: np.ndarray | None = None  # (J, 3) keypoints_world, m (predictions of lift3d --world)


def person(inst: dict[str, Any]) -> Person:
    """Decode a stream instance (nulls become NaN; a missing box is the finite keypoints' extent)."""
    kp = points_array(inst["keypoints"]) if inst.get("keypoints") is not None else None
    box = np.asarray(inst["bbox"], dtype=np.float64) if inst.get("bbox") is not None else None
    if box is None and kp is not None and np.isfinite(kp[:, :2]).all(axis=1).sum() >= 2:
        ok = np.isfinite(kp[:, :2]).all(axis=1)
        box = np.concatenate([kp[ok, :2].min(0), kp[ok, :2].max(0)])
    kp3d = points_array(inst["keypoints_3d"]) if inst.get("keypoints_3d") is not None else None
    root = np.asarray([np.nan if v is None else v for v in inst["root_3d"]], dtype=np.float64) \
        if inst.get("root_3d") is not None else None
    world = points_array(inst["keypoints_world"]) if inst.get("keypoints_world") is not None else None
    tid = inst.get("track_id")
    return Person(None if tid is None else int(tid), box, kp, kp3d, root, world)


@dataclass
class Matched:
    """Both streams, paired.

    Attributes:
        frames: number of frames; fps: frame rate (header ``source.fps``, else 25).
        pairs: GT id → frame → (GT person, predicted person).
        gt_frames: GT id → frames where the GT person is in the stream (in the image).
        pred_tracks: predicted id → frame → person (every tracked prediction).
        gt_person_frames: GT instances in all frames.
    """

    frames: int
    fps: float
    pairs: dict[int, dict[int, tuple[Person, Person]]] = field(default_factory=dict)
    gt_frames: dict[int, set[int]] = field(default_factory=dict)
    pred_tracks: dict[int, dict[int, Person]] = field(default_factory=dict)
    gt_person_frames: int = 0
    gt_world: WorldFrame | None = None  # the GT camera's height and pitch, when its header has them

    def add_frame(self, frame: int, gts: list[Person], preds: list[Person], iou: float) -> None:
        """Pair one frame's GT people with its tracked predictions (Hungarian on box IoU ≥ ``iou``)."""
        preds = [p for p in preds if p.track_id is not None]
        for p in preds:
            self.pred_tracks.setdefault(p.track_id, {})[frame] = p  # type: ignore[index]
        for g in gts:
            self.gt_frames.setdefault(g.track_id, set()).add(frame)  # type: ignore[arg-type]
        self.gt_person_frames += len(gts)
        gi = [i for i, g in enumerate(gts) if g.box is not None]
        pi = [j for j, p in enumerate(preds) if p.box is not None]
        if not gi or not pi:
            return
        sim = box_iou(np.stack([gts[i].box for i in gi]), np.stack([preds[j].box for j in pi]))  # type: ignore[misc]
        for r, c in zip(*linear_sum_assignment(-sim)):
            if sim[r, c] >= iou:
                g, p = gts[gi[r]], preds[pi[c]]
                self.pairs.setdefault(g.track_id, {})[frame] = (g, p)  # type: ignore[index]


def match_streams(pred: str, gt: str, iou: float = 0.5) -> Matched:
    """Read two streams of the same video frame by frame and pair their people."""
    from posetool.stream import StreamReader

    gr, pr = StreamReader(gt), StreamReader(pred)
    fps = (gr.header.get("source") or {}).get("fps") or (pr.header.get("source") or {}).get("fps") or 25.0
    m = Matched(0, float(fps), gt_world=world_from_header(gr.header))
    pframes = pr.frames()
    for grec in gr.frames():
        prec = next(pframes, None)
        if prec is None:
            raise PosetoolError(f"{pred} ends after {m.frames} frames but {gt} has more; "
                                "evaluate streams of the same video")
        if int(prec["frame"]) != int(grec["frame"]):
            raise PosetoolError(f"{pred}: frame {prec['frame']} is paired with GT frame {grec['frame']}; "
                                "evaluate streams of the same video")
        gts = [person(i) for i in grec.get("instances") or []]
        if any(g.track_id is None for g in gts):
            raise PosetoolError(f"{gt}: frame {grec['frame']}: a ground-truth person has no track_id")
        m.add_frame(int(grec["frame"]), gts, [person(i) for i in prec.get("instances") or []], iou)
        m.frames += 1
    if next(pframes, None) is not None:
        raise PosetoolError(f"{pred} has more frames than {gt} ({m.frames}); evaluate streams of the same video")
    if not m.gt_person_frames:
        raise PosetoolError(f"{gt}: the ground truth holds no people; nothing to evaluate (check --gt)")
    if not m.pred_tracks:
        raise PosetoolError(f"{pred}: no instance has a track_id; run `posetool track` first")
    return m


# --- identity across absences ---------------------------------------------------------------

@dataclass(frozen=True)
class Reentry:
    """A GT person unseen for ``gap`` frames between ``before`` and ``after``."""

    gt_id: int
    before: int
    after: int
    kept: bool
    out_of_view: bool
    kept_last: bool = False  # the id at ``after`` equals the id at ``before``

    @property
    def gap(self) -> int:
        return self.after - self.before - 1


def reentries(m: Matched, min_gap: int) -> list[Reentry]:
    """Every absence of ≥ ``min_gap`` frames between two frames where the GT person is seen."""
    out = []
    for gid, frames in sorted(m.pairs.items()):
        seen = sorted(frames)
        present = m.gt_frames.get(gid, set())
        stretch: list[int] = []  # seen frames since the previous counted gap
        for a, b in zip(seen, seen[1:]):
            stretch.append(a)
            if b - a - 1 < min_gap:
                continue
            ids = [frames[f][1].track_id for f in stretch]
            # most frequent id; among equals the one seen last (max over (count, last position))
            carried = max(set(ids), key=lambda i: (ids.count(i), len(ids) - ids[::-1].index(i)))
            after = frames[b][1].track_id
            out_of_view = not any(f in present for f in range(a + 1, b))
            out.append(Reentry(gid, a, b, after == carried, out_of_view, after == frames[a][1].track_id))
            stretch = []
    return out


def reentry_summary(items: list[Reentry], fps: float, min_gap: int) -> dict[str, Any]:
    """Counts and kept shares per gap bin (seconds) and in all."""
    bins = []
    for lo, hi in GAP_BINS:
        sel = [r for r in items if lo <= r.gap / fps < hi]
        label = f"≥{lo:g} s" if math.isinf(hi) else f"{lo:g}–{hi:g} s"
        bins.append({"label": label, "lo_s": lo, "hi_s": None if math.isinf(hi) else hi, "count": len(sel),
                     "kept": sum(r.kept for r in sel), "out_of_view": sum(r.out_of_view for r in sel),
                     "share": _share(sum(r.kept for r in sel), len(sel))})
    return {"min_gap_frames": min_gap, "bins": bins, "count": len(items), "kept": sum(r.kept for r in items),
            "share": _share(sum(r.kept for r in items), len(items)), "kept_last": sum(r.kept_last for r in items),
            "items": [{"gt_id": r.gt_id, "before": r.before, "after": r.after, "gap_s": round(r.gap / fps, 4),
                       "kept": r.kept, "kept_last": r.kept_last, "out_of_view": r.out_of_view} for r in items]}


def _share(k: int, n: int) -> float:
    return k / n if n else float("nan")


# --- left/right swaps -----------------------------------------------------------------------

def lr_states(pred_kp: np.ndarray | None, gt_kp: np.ndarray | None, gt_box: np.ndarray | None,
              min_sep: float) -> np.ndarray:
    """(6,) per limb pair: −1 not judged, 0 consistent, 1 swapped (see module docstring).

    Args:
        pred_kp, gt_kp: (17, ≥2) COCO keypoints (GT column 2: > 0 inside the image).
        gt_box: (4,) GT box; its height scales ``min_sep``.
    """
    out = np.full(len(LIMB_PAIRS), -1, dtype=np.int64)
    if pred_kp is None or gt_kp is None or len(pred_kp) != 17 or len(gt_kp) != 17:
        return out
    height = float(gt_box[3] - gt_box[1]) if gt_box is not None else 0.0
    for k, (left, right) in enumerate(LIMB_PAIRS):
        gl, gr, pl, pr = gt_kp[left, :2], gt_kp[right, :2], pred_kp[left, :2], pred_kp[right, :2]
        labelled = gt_kp.shape[1] < 3 or (gt_kp[left, 2] > 0 and gt_kp[right, 2] > 0)
        if not (labelled and np.isfinite([*gl, *gr, *pl, *pr]).all()):
            continue
        if np.linalg.norm(gl - gr) < min_sep * height:  # side-on: left and right cannot be told apart
            continue
        d_ll, d_lr = np.linalg.norm(pl - gl), np.linalg.norm(pl - gr)
        d_rr, d_rl = np.linalg.norm(pr - gr), np.linalg.norm(pr - gl)
        if d_ll < d_lr and d_rr < d_rl:
            out[k] = 0
        elif d_lr < d_ll and d_rl < d_rr:
            out[k] = 1
        # else both predicted points sit nearer the same GT point: neither labelling, not judged
    return out


def lr_swaps(m: Matched, min_sep: float) -> dict[str, Any]:
    """Swap onsets per 1,000 matched person-frames, per limb, and the share of swapped judgements."""
    onsets = np.zeros(len(LIMB_PAIRS), dtype=np.int64)
    judged = swapped = person_frames = 0
    for frames in m.pairs.values():
        last = np.full(len(LIMB_PAIRS), -1)  # last judged state of each limb pair in the current run
        prev: tuple[int, int | None] | None = None
        for f in sorted(frames):
            g, p = frames[f]
            s = lr_states(p.kp, g.kp, g.box, min_sep)
            person_frames += 1
            judged += int((s >= 0).sum())
            swapped += int((s == 1).sum())
            if prev != (f - 1, p.track_id):  # a new run: unseen frame or another predicted id
                last[:] = -1
            onsets += (last == 0) & (s == 1)
            last = np.where(s >= 0, s, last)  # side-on frames (not judged) keep the state before them
            prev = (f, p.track_id)
    total = int(onsets.sum())
    return {"per_1000": 1000 * total / person_frames if person_frames else float("nan"), "swaps": total,
            "person_frames": person_frames, "judged": judged, "swapped_share": _share(swapped, judged),
            "by_limb": {n: int(v) for n, v in zip(LIMB_NAMES, onsets)}}


# --- jitter ---------------------------------------------------------------------------------

def acceleration(x: np.ndarray) -> np.ndarray:
    """Second differences along axis 0: (T, ...) → (T − 2, ...), a(t) = x(t+1) − 2 x(t) + x(t−1)."""
    return x[2:] - 2 * x[1:-1] + x[:-2]


def _runs(frames: list[int]) -> list[list[int]]:
    """Sorted frame numbers split into runs of consecutive frames."""
    out: list[list[int]] = []
    for f in frames:
        if out and out[-1][-1] == f - 1:
            out[-1].append(f)
        else:
            out.append([f])
    return out


class _Mean:
    """A running mean of norms (the value is NaN when nothing was added)."""

    def __init__(self) -> None:
        self.sum, self.n = 0.0, 0

    def add(self, norms: np.ndarray) -> None:
        norms = norms[np.isfinite(norms)]
        self.sum += float(norms.sum())
        self.n += int(norms.size)

    @property
    def value(self) -> float:
        return self.sum / self.n if self.n else float("nan")


def _rel3d(p: Person) -> np.ndarray | None:
    return None if p.kp3d is None else 1000.0 * (p.kp3d - p.kp3d[:1])  # mm, joint 0 at the origin


def jitter(m: Matched) -> dict[str, Any]:
    """Acceleration error against GT and raw acceleration of the prediction, 2D (px/frame²) and 3D (mm/frame²)."""
    err2, pred2, gt2, err3, pred3, gt3, raw2, raw3 = (_Mean() for _ in range(8))
    for frames in m.pairs.values():
        for run in _runs(sorted(frames)):
            # split further where the predicted id changes: an id switch is not jitter
            start = 0
            for k in range(1, len(run) + 1):
                if k == len(run) or frames[run[k]][1].track_id != frames[run[start]][1].track_id:
                    seg = [frames[f] for f in run[start:k]]
                    start = k
                    if len(seg) < 3:
                        continue
                    _pair_accel(seg, err2, pred2, gt2, err3, pred3, gt3)
    for track in m.pred_tracks.values():
        for run in _runs(sorted(track)):
            if len(run) < 3:
                continue
            people = [track[f] for f in run]
            kps = [p.kp for p in people]
            if all(k is not None and k.shape == kps[0].shape for k in kps):  # type: ignore[union-attr]
                raw2.add(np.linalg.norm(acceleration(np.stack([k[:, :2] for k in kps])), axis=-1))  # type: ignore[index]
            rel = [_rel3d(p) for p in people]
            if all(r is not None and r.shape == rel[0].shape for r in rel):  # type: ignore[union-attr]
                raw3.add(np.linalg.norm(acceleration(np.stack(rel)), axis=-1))  # type: ignore[arg-type]
    return {"accel_error_px": err2.value, "accel_pred_px": pred2.value, "accel_gt_px": gt2.value,
            "raw_accel_px": raw2.value, "points_2d": err2.n,
            "accel_error_mm": err3.value, "accel_pred_mm": pred3.value, "accel_gt_mm": gt3.value,
            "raw_accel_mm": raw3.value, "points_3d": err3.n}


def _pair_accel(seg: list[tuple[Person, Person]], err2: _Mean, pred2: _Mean, gt2: _Mean, err3: _Mean, pred3: _Mean,
                gt3: _Mean) -> None:
    """Accumulate the accelerations of one run of ≥ 3 consecutive frames of one GT/prediction pairing."""
    gts, preds = [g for g, _ in seg], [p for _, p in seg]
    gk, pk = [x.kp for x in gts], [x.kp for x in preds]
    if all(k is not None for k in gk) and all(k is not None and len(k) == len(gk[0]) for k in pk):  # type: ignore[arg-type]
        g = np.stack(gk)  # type: ignore[arg-type]
        p = np.stack(pk)  # type: ignore[arg-type]
        ag, ap = acceleration(g[..., :2]), acceleration(p[..., :2])
        # a point counts where the GT point is in the image in all three frames
        inside = (g[..., 2] > 0)
        ok = inside[2:] & inside[1:-1] & inside[:-2]
        ok &= np.isfinite(ap).all(-1)
        err2.add(np.linalg.norm(ap - ag, axis=-1)[ok])
        pred2.add(np.linalg.norm(ap, axis=-1)[ok])
        gt2.add(np.linalg.norm(ag, axis=-1)[ok])
    g3 = [_rel3d(x) for x in gts]
    p3 = [_rel3d(x) for x in preds]
    same = all(x is not None and x.shape == g3[0].shape for x in p3)  # type: ignore[union-attr]
    if all(x is not None for x in g3) and same:
        ag, ap = acceleration(np.stack(g3)), acceleration(np.stack(p3))  # type: ignore[arg-type]
        err3.add(np.linalg.norm(ap - ag, axis=-1))
        pred3.add(np.linalg.norm(ap, axis=-1))
        gt3.add(np.linalg.norm(ag, axis=-1))


# --- 3D -------------------------------------------------------------------------------------

def lift_errors(m: Matched) -> dict[str, Any]:
    """Root-relative MPJPE, root position error and absolute MPJPE in mm over paired frames."""
    rel, root, absolute = _Mean(), _Mean(), _Mean()
    frames_3d = frames_root = 0
    for frames in m.pairs.values():
        for g, p in frames.values():
            gr, pr = _rel3d(g), _rel3d(p)
            if gr is None or pr is None or gr.shape != pr.shape:
                continue
            frames_3d += 1
            rel.add(np.array([np.linalg.norm(pr - gr, axis=-1).mean()]))
            if g.root is None or p.root is None:
                continue
            frames_root += 1
            root.add(np.array([1000.0 * np.linalg.norm(p.root - g.root)]))
            pa, ga = pr + 1000.0 * p.root, gr + 1000.0 * g.root
            absolute.add(np.array([np.linalg.norm(pa - ga, axis=-1).mean()]))
    return {"mpjpe_mm": rel.value, "root_error_mm": root.value, "abs_mpjpe_mm": absolute.value,
            "frames_3d": frames_3d, "frames_root": frames_root}


def world_errors(m: Matched) -> dict[str, Any]:
    """Root and absolute errors (mm) of ``keypoints_world`` against GT placed in the same frame by the GT
    camera's true height and pitch (:class:`~posetool.lift3d.world.WorldFrame`): with the camera
    given exactly they equal the camera-space errors; with an estimated camera they add its error."""
    root, absolute, height = _Mean(), _Mean(), _Mean()
    n = 0
    if m.gt_world is None:
        return {"root_error_mm": float("nan"), "abs_mpjpe_mm": float("nan"), "frames_world": 0}
    for frames in m.pairs.values():
        for g, p in frames.values():
            if p.world is None or g.kp3d is None or g.root is None or p.world.shape != g.kp3d.shape:
                continue
            gw = m.gt_world.to_world(g.kp3d - g.kp3d[:1] + g.root)
            n += 1
            root.add(np.array([1000.0 * np.linalg.norm(p.world[0] - gw[0])]))
            absolute.add(np.array([1000.0 * np.linalg.norm(p.world - gw, axis=-1).mean()]))
    return {"root_error_mm": root.value, "abs_mpjpe_mm": absolute.value, "frames_world": n}


# --- all ------------------------------------------------------------------------------------

def evaluate_trust(pred: str, gt: str, options: TrustOptions | None = None, mot: bool = True) -> dict[str, Any]:
    """Every trust measure of ``pred`` against ``gt`` (two streams), with MOTA/IDF1 beside them."""
    opt = options or TrustOptions()
    m = match_streams(pred, gt, opt.iou)
    out: dict[str, Any] = {
        "frames": m.frames, "fps": m.fps, "gt_person_frames": m.gt_person_frames,
        "matched_person_frames": sum(len(f) for f in m.pairs.values()), "iou": opt.iou,
        "reentry": reentry_summary(reentries(m, opt.min_gap), m.fps, opt.min_gap),
        "lr": {**lr_swaps(m, opt.lr_min_sep), "min_sep": opt.lr_min_sep},
        "jitter": jitter(m), "lift": lift_errors(m),
    }
    if any(p.world is not None for frames in m.pairs.values() for _, p in frames.values()):
        out["world"] = world_errors(m)
    if mot:
        from posetool.eval.mot import evaluate_mot, load_mot_inputs

        overall = evaluate_mot(load_mot_inputs(pred, gt), iou_threshold=opt.iou, hota=False)["overall"]
        out["mot"] = {"mota": overall["mota"], "idf1": overall["idf1"], "id_switches": overall["num_switches"]}
    return out
