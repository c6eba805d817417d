"""Correspondence accuracy next to the naive baseline (the previous position), on synth sequences
with exact ground truth or on real video with pseudo ground truth.

**Synth** (a ``posetool synth`` folder): for every pair of frames t−step, t (consecutive by
default) and every person present in both, the ground-truth keypoints of frame t−step that are
visible (synth visibility 2) in both frames are scored; a correspondence is correct when it lands
within 0.5 head sizes of the true frame-t position (PCKh@0.5, head size = 0.6 × the head box
diagonal as in PoseTrack's evaluation) or within ``pixels`` px. The baseline predicts that the
keypoint did not move.

**Real video** (a tracked pose stream, e.g. ``posetool run VIDEO``, and its video): the stream's
own keypoints are the *pseudo* ground truth. For every pair of stream frames t−step, t and every
``track_id`` found by the detector in both (``origin`` absent or ``detected``: interpolated and
recovered people are not measurements), the keypoints of frame t−step are queried as ``correspond``
queries them (every keypoint with confidence > 0), and those with confidence ≥ ``kp_thr`` in both
frames are scored against the same track's keypoint in frame t. A real layout has no head box,
so the head size is a proxy calibrated on synth (:func:`head_size_proxy`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

# Head size (0.6 × head-box diagonal) per torso length (mean of the same-side shoulder–hip
# distances) and per box height: the medians over the people of synth seeds 902–904 (357 and 418
# person-frames; quartiles 0.357–0.378 and 0.100–0.135). A human head (≈ 0.15 × 0.22 m, head size
# ≈ 0.16 m) against a torso of ≈ 0.5 m gives about the same 0.32–0.37.
HEAD_PER_TORSO = 0.365
HEAD_PER_BOX_HEIGHT = 0.103
_TORSO_SIDES = (("left_shoulder", "left_hip"), ("right_shoulder", "right_hip"))


def _new_hits() -> dict[str, int]:
    return {"model_pckh": 0, "model_px": 0, "base_pckh": 0, "base_px": 0}


def _score(hits: dict[str, int], queries: list[np.ndarray], results: list[Any], truth: list[np.ndarray],
           masks: list[np.ndarray], heads: list[float], pixels: float) -> int:
    """Add one frame pair's hits of the model and of the previous position; returns the keypoints scored."""
    count = 0
    for q, r, t, v, hs in zip(queries, results, truth, masks, heads):
        d_model = np.linalg.norm(r.keypoints[:, :2] - t, axis=1)[v]
        d_base = np.linalg.norm(q[:, :2] - t, axis=1)[v]
        d_model = np.where(np.isfinite(d_model), d_model, np.inf)  # no answer: a miss
        hits["model_pckh"] += int((d_model <= 0.5 * hs).sum())
        hits["model_px"] += int((d_model <= pixels).sum())
        hits["base_pckh"] += int((d_base <= 0.5 * hs).sum())
        hits["base_px"] += int((d_base <= pixels).sum())
        count += int(v.sum())
    return count


def _rates(hits: dict[str, int], count: int) -> dict[str, Any]:
    out: dict[str, Any] = {k: v / max(count, 1) for k, v in hits.items()}
    out["keypoints"] = count
    return out


def evaluate_synth(folder: str | Path, estimator: Any, pixels: float = 5.0,
                   step: int = 1) -> dict[str, Any]:
    """PCKh@0.5 and within-``pixels`` accuracy of ``estimator`` and of the baseline on one synth folder.

    ``estimator``: anything with ``correspond(image_a, image_b, queries, boxes)`` (a network's
    :class:`~posetool.correspond.infer.CorrespondenceEstimator`, an optical-flow baseline).
    ``step`` > 1 pairs frame t−step with frame t (larger motion than consecutive frames at 25 fps).
    """
    from posetool.stream import StreamReader
    from posetool.video.sources import open_video

    folder = Path(folder)
    with open(folder / "gt.jsonl", "rb") as fh:
        frames = list(StreamReader(fh).frames())
    hits = _new_hits()
    count = 0
    history: list[tuple[dict, np.ndarray]] = []
    with open_video(str(folder / "video.mp4")) as src:
        for rec, frame in zip(frames, src):
            img = frame.image
            history.append((rec, img))
            if len(history) > step:
                prev_rec, prev_img = history.pop(0)
                now = {x["track_id"]: x for x in rec["instances"]}
                queries, boxes, truth, vis, heads = [], [], [], [], []
                for x in prev_rec["instances"]:
                    y = now.get(x["track_id"])
                    if y is None:
                        continue
                    kp0 = np.asarray(x["keypoints"], dtype=np.float64)
                    both = (np.asarray(x["visibility"]) == 2) & (np.asarray(y["visibility"]) == 2)
                    if not both.any():
                        continue
                    q = kp0.copy()
                    q[np.asarray(x["visibility"]) == 0] = np.nan
                    queries.append(q)
                    boxes.append(x.get("bbox"))
                    truth.append(np.asarray(y["keypoints"], dtype=np.float64)[:, :2])
                    vis.append(both)
                    hb = y["head_bbox"]
                    heads.append(0.6 * float(np.hypot(hb[2] - hb[0], hb[3] - hb[1])))
                if queries:
                    res = estimator.correspond(prev_img, img, queries, boxes)
                    count += _score(hits, queries, res, truth, vis, heads, pixels)
    return _rates(hits, count)


def head_size_proxy(keypoints: np.ndarray, bbox: Any, skeleton: str | None, kp_thr: float) -> float | None:
    """Head size of a pose without a head box: :data:`HEAD_PER_TORSO` × the mean length of its
    same-side shoulder–hip segments whose ends have confidence ≥ ``kp_thr``, else
    :data:`HEAD_PER_BOX_HEIGHT` × its box height; ``None`` with neither (or a layout without
    shoulders and hips and no box)."""
    from posetool.errors import PosetoolError
    from posetool.skeletons import get_skeleton

    lengths = []
    try:
        skel = get_skeleton(skeleton or "coco17")
        sides = [(skel.index(a), skel.index(b)) for a, b in _TORSO_SIDES]
    except (KeyError, PosetoolError):  # an unknown layout, or one without these keypoints: the box
        sides = []
    for a, b in sides:
        ends = keypoints[[a, b]] if max(a, b) < len(keypoints) else np.full((2, 3), np.nan)
        if np.isfinite(ends).all() and ends[:, 2].min() >= kp_thr:
            lengths.append(float(np.linalg.norm(keypoints[a, :2] - keypoints[b, :2])))
    if lengths and np.mean(lengths) > 0:
        return HEAD_PER_TORSO * float(np.mean(lengths))
    if bbox is not None and len(bbox) == 4 and float(bbox[3]) > float(bbox[1]):
        return HEAD_PER_BOX_HEIGHT * (float(bbox[3]) - float(bbox[1]))
    return None


def _measured_people(rec: dict) -> dict[Any, dict]:
    """track_id → instance for the people of a frame the detector found (a track_id seen twice is dropped)."""
    out: dict[Any, dict] = {}
    seen: set[Any] = set()
    for x in rec.get("instances") or []:
        tid = x.get("track_id")
        if tid is None or not x.get("keypoints") or x.get("origin", "detected") != "detected":
            continue
        if tid in seen:
            out.pop(tid, None)
            continue
        seen.add(tid)
        out[tid] = x
    return out


def evaluate_stream(stream: str | Path, estimator: Any, video: str | None = None, pixels: float = 5.0,
                    step: int = 1, kp_thr: float = 0.5) -> dict[str, Any]:
    """PCKh@0.5 and within-``pixels`` accuracy against the pseudo ground truth of a tracked stream.

    ``video`` replaces the video the stream's header names (as ``--video`` does for the stages).
    See the module docstring for the pairs, queries and scored keypoints.
    """
    from posetool.errors import StreamError
    from posetool.stream import StreamReader
    from posetool.stream.encoding import points_array
    from posetool.video.align import frames_with_images
    from posetool.video.sources import video_for_stream

    hits = _new_hits()
    count = 0
    tracked = False
    history: dict[int, tuple[dict, np.ndarray]] = {}
    with StreamReader(str(stream)) as reader, video_for_stream(reader.header, video) as src:
        skeleton = reader.header.get("skeleton")
        for rec, img in frames_with_images(reader.frames(), src):
            t = int(rec["frame"])
            history[t] = (rec, img)
            for old in [f for f in history if f < t - step]:
                del history[old]
            now = _measured_people(rec)
            tracked = tracked or bool(now)
            if t - step not in history or not now:
                continue
            prev_rec, prev_img = history[t - step]
            queries, boxes, truth, masks, heads = [], [], [], [], []
            for tid, x in _measured_people(prev_rec).items():
                y = now.get(tid)
                if y is None:
                    continue
                kp0, kp1 = points_array(x["keypoints"]), points_array(y["keypoints"])
                if kp0.shape != kp1.shape:
                    raise StreamError(f"{stream}: frame {t}: track {tid} has {len(kp1)} keypoints, "
                                      f"{len(kp0)} in frame {t - step}")
                both = (np.isfinite(kp0).all(1) & np.isfinite(kp1).all(1)
                        & (np.nan_to_num(kp0[:, 2]) >= kp_thr) & (np.nan_to_num(kp1[:, 2]) >= kp_thr))
                head = head_size_proxy(kp1, y.get("bbox"), skeleton, kp_thr)
                if not both.any() or head is None:
                    continue
                q = kp0.copy()
                q[~np.isfinite(kp0).all(1) | (np.nan_to_num(kp0[:, 2]) <= 0)] = np.nan  # as `correspond` queries
                queries.append(q)
                boxes.append(x.get("bbox"))
                truth.append(kp1[:, :2])
                masks.append(both)
                heads.append(head)
            if queries:
                res = estimator.correspond(prev_img, img, queries, boxes)
                count += _score(hits, queries, res, truth, masks, heads, pixels)
    if not tracked:
        from posetool.errors import PosetoolError

        raise PosetoolError(f"{stream}: no tracked people with keypoints (no track_id); the pseudo ground truth "
                            "needs tracks: run `posetool track` on it, or `posetool run VIDEO`")
    return _rates(hits, count)


def is_synth_folder(path: str | Path) -> bool:
    """Whether ``path`` is a ``posetool synth`` folder (``gt.jsonl`` and ``video.mp4``)."""
    return (Path(path) / "gt.jsonl").is_file() and (Path(path) / "video.mp4").is_file()


def evaluate_inputs(inputs: Sequence[str | Path], estimator: Any, pixels: float = 5.0, step: int = 1,
                    kp_thr: float = 0.5, video: str | None = None) -> dict[str, Any]:
    """:func:`evaluate_synth` on synth folders and :func:`evaluate_stream` on stream files, pooled
    (rates weighted by their keypoint counts). ``video`` applies to a single stream."""
    from posetool.errors import UsageError

    streams = [p for p in inputs if not Path(p).is_dir()]
    if video is not None and len(streams) != 1:
        raise UsageError(f"--video goes with exactly one pose stream, got {len(streams)}")
    hits = _new_hits()
    count = 0
    for path in inputs:
        if Path(path).is_dir():
            if not is_synth_folder(path):
                raise UsageError(f"{path}: not a posetool synth folder (needs gt.jsonl and video.mp4)")
            r = evaluate_synth(path, estimator, pixels, step)
        else:
            r = evaluate_stream(path, estimator, video, pixels, step, kp_thr)
        for key in hits:
            hits[key] += round(r[key] * r["keypoints"])
        count += r["keypoints"]
    return _rates(hits, count)
