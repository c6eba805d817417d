"""Correspondence accuracy on synth sequences, next to the naive baseline (the previous position).

For every pair of frames t−step, t (consecutive by default) and every person present in both, the ground-truth keypoints
of frame t−1 that are visible (synth visibility 2) in both frames are queried; a correspondence is
correct when it lands within 0.5 head sizes of the true frame-t position (PCKh@0.5, head size =
0.6 × the head box diagonal as in PoseTrack's evaluation) or within 5 px. The baseline predicts
that the keypoint did not move.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from posetool.correspond.infer import CorrespondenceEstimator


def evaluate_synth(folder: str | Path, estimator: CorrespondenceEstimator, pixels: float = 5.0,
                   step: int = 1) -> dict[str, Any]:
    """PCKh@0.5 and within-``pixels`` accuracy of ``estimator`` and of the baseline on one synth folder.

    ``step`` > 1 pairs frame t−step with frame t (larger motion than consecutive frames at 25 fps).
    """
    from posetool.stream import StreamReader
    from posetool.video.sources import open_video

    folder = Path(folder)
    with open(folder / "gt.jsonl", "rb") as fh:
        frames = list(StreamReader(fh).frames())
    hits = {"model_pckh": 0, "model_px": 0, "base_pckh": 0, "base_px": 0}
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
                    for q, r, t, v, hs in zip(queries, res, truth, vis, heads):
                        d_model = np.linalg.norm(r.keypoints[:, :2] - t, axis=1)[v]
                        d_base = np.linalg.norm(q[:, :2] - t, axis=1)[v]
                        hits["model_pckh"] += int((d_model <= 0.5 * hs).sum())
                        hits["model_px"] += int((d_model <= pixels).sum())
                        hits["base_pckh"] += int((d_base <= 0.5 * hs).sum())
                        hits["base_px"] += int((d_base <= pixels).sum())
                        count += int(v.sum())
    out: dict[str, Any] = {k: v / max(count, 1) for k, v in hits.items()}
    out["keypoints"] = count
    return out


def evaluate_synth_folders(folders: Sequence[str | Path], estimator: CorrespondenceEstimator, pixels: float = 5.0,
                           step: int = 1) -> dict[str, Any]:
    """:func:`evaluate_synth` pooled over several folders (rates weighted by their keypoint counts)."""
    sums: dict[str, float] = {}
    count = 0
    for folder in folders:
        if not (Path(folder) / "gt.jsonl").is_file() or not (Path(folder) / "video.mp4").is_file():
            from posetool.errors import UsageError

            raise UsageError(f"{folder}: not a posetool synth folder (needs gt.jsonl and video.mp4)")
        r = evaluate_synth(folder, estimator, pixels, step)
        for key, value in r.items():
            if key != "keypoints":
                sums[key] = sums.get(key, 0.0) + value * r["keypoints"]
        count += r["keypoints"]
    out: dict[str, Any] = {k: v / max(count, 1) for k, v in sums.items()}
    out["keypoints"] = count
    return out
