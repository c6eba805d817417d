"""Choosing the keypoint confidence cut of PoseTrack evaluation on validation data.

poseval counts every listed joint as a claim, so trackers report PoseTrack mAP and MOTA after
dropping keypoints under a confidence threshold T, and pick T on validation sequences. This
module evaluates a grid of thresholds on (GT, prediction) sequence pairs and names the one with
the best MOTA; the chosen T is then applied, unchanged, to the test sequences.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from posetool.data.posetrack import PoseTrackFrame, drop_low_confidence
from posetool.errors import OptionError
from posetool.eval.posetrack import evaluate_posetrack, prepare_sequence

TrackPair = tuple[str, list[PoseTrackFrame], list[PoseTrackFrame]]  # (sequence name, GT frames, predicted frames)


@dataclass(frozen=True)
class SweepRow:
    """PoseTrack totals (mean over the 15 joints, percent) at one threshold."""

    kp_thr: float
    ap: float
    mota: float
    precision: float
    recall: float


def parse_threshold_grid(text: str) -> list[float]:
    """Thresholds from ``"0,0.2,0.5"`` or ``"start:stop:step"`` (stop included), each in [0, 1).

    Raises:
        OptionError(``sweep_kp_thr``): bad numbers, an empty grid or values outside [0, 1).
    """
    try:
        if ":" in text:
            start, stop, step = (float(x) for x in text.split(":"))
            if step <= 0:
                raise ValueError
            # Rounded so 0.1 steps print as 0.3, not 0.30000000000000004; stop included despite float error.
            values = [round(start + i * step, 6) for i in range(int(np.floor((stop - start) / step + 1e-9)) + 1)]
        else:
            values = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise OptionError("sweep_kp_thr", f"takes comma-separated thresholds or start:stop:step with step > 0; got {text!r}") from None
    if not values or any(not 0.0 <= v < 1.0 for v in values):
        raise OptionError("sweep_kp_thr", f"needs thresholds in [0, 1); got {text!r}")
    return sorted(set(values))


def sweep_kp_thresholds(pairs: Sequence[TrackPair], thresholds: Sequence[float], compat: bool = False) -> list[SweepRow]:
    """PoseTrack AP and MOTA of ``pairs`` with keypoints at or under each threshold dropped (one value for every joint)."""
    rows = []
    for t in thresholds:
        thr = np.full(17, float(t))
        seqs = [prepare_sequence(name, gt, drop_low_confidence(pred, thr)) for name, gt, pred in pairs]
        r = evaluate_posetrack(seqs, tracking=True, compat=compat)
        rows.append(SweepRow(float(t), r.total("ap"), r.total("mota"), r.total("precision"), r.total("recall")))
    return rows


def best_kp_threshold(rows: Sequence[SweepRow]) -> float:
    """The threshold of the highest MOTA; ties go to the lowest threshold (fewest keypoints dropped)."""
    finite = [r for r in rows if np.isfinite(r.mota)]
    if not finite:
        raise OptionError("sweep_kp_thr", "MOTA is undefined at every threshold (no labelled keypoints?)")
    return min(finite, key=lambda r: (-round(r.mota, 9), r.kp_thr)).kp_thr
