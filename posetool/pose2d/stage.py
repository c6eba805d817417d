"""The pose2d stage over a pose stream: boxes of each frame → keypoints, frame by frame.

Reads the frames of a detection stream (any stream whose instances carry ``bbox``), pulls the
matching video frames, runs :class:`~posetool.pose2d.estimator.TopDownEstimator` with crops batched
across people and frames, and writes each frame on as soon as its batch is done.

Per estimated instance: ``keypoints`` (K×3 x, y, confidence in pixels), ``score`` (rescored when
rescoring is on) and ``box_score`` (the detector's score). Instances suppressed by OKS-NMS or
below ``min_box_score`` are removed; instances without a ``bbox`` pass through untouched.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from posetool.errors import StreamError, VideoError
from posetool.pose2d.estimator import PoseResult, TopDownEstimator
from posetool.stream import StreamReader, to_plain

Record = dict[str, Any]


def _frame_boxes(rec: Record) -> tuple[list[int], np.ndarray, np.ndarray]:
    """Indices of instances with a bbox, their boxes (N, 4) and scores (N,) (1.0 when absent)."""
    sel, boxes, scores = [], [], []
    for i, inst in enumerate(rec.get("instances") or []):
        if inst.get("bbox") is None:
            continue
        sel.append(i)
        boxes.append(inst["bbox"])
        s = inst.get("score")
        scores.append(1.0 if s is None else float(s))
    return sel, np.asarray(boxes, dtype=np.float64).reshape(-1, 4), np.asarray(scores, dtype=np.float64)


def apply_result(rec: Record, sel: list[int], result: PoseResult) -> Record:
    """Write ``result`` into the frame record ``rec`` (in place; also returned)."""
    instances = list(rec.get("instances") or [])
    drop = {sel[i] for i in range(len(sel))}  # every boxed instance not kept below is dropped
    kept = set(result.keep)
    for n, idx in enumerate(result.indices):
        pos = sel[int(idx)]
        if n not in kept:
            continue
        drop.discard(pos)
        inst = dict(instances[pos])
        inst["keypoints"] = to_plain(np.round(result.keypoints[n], 4))
        inst["box_score"] = float(result.box_scores[n])
        inst["score"] = float(result.scores[n])
        instances[pos] = inst
    rec["instances"] = [inst for i, inst in enumerate(instances) if i not in drop]
    return rec


def pose_frames(reader: StreamReader, video: Any, estimator: TopDownEstimator, progress: Any = None) -> Iterator[Record]:
    """Frame records of ``reader`` with keypoints added (see module docstring)."""
    frames = iter(video)
    current = None

    def image_for(index: int) -> np.ndarray:
        nonlocal current
        while current is None or current.index < index:
            try:
                current = next(frames)
            except StopIteration:
                raise VideoError(
                    f"{video.path}: video ended at frame {current.index if current else -1} but the stream has "
                    f"frame {index}; pass the video the stream was made from (--video)"
                ) from None
        if current.index != index:
            raise StreamError(f"stream frame {index} comes after video frame {current.index}; frames must increase")
        return current.image

    def items() -> Iterator[tuple[Any, np.ndarray, np.ndarray, np.ndarray]]:
        for rec in reader.frames():
            sel, boxes, scores = _frame_boxes(rec)
            image = image_for(int(rec["frame"]))
            yield (rec, sel), image, boxes, scores

    for (rec, sel), result in estimator.estimate_many(items()):
        if progress is not None:
            progress()
        yield apply_result(rec, sel, result)
