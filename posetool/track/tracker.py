"""The online tracker: assignment per frame, track lifecycle, delayed output for the filters.

Per frame t: similarities between every live track's last pose and each person of t
(:mod:`similarity`), assignment (Hungarian by default) with a gate, new tracks for unmatched
people that have enough confident keypoints, and removal of tracks unseen for more than
``patience`` frames (until then they stay candidates, so a person who reappears gets the old id).

Output is delayed by a fixed number of frames (``lag``) so that
- ids of tracks that never reach ``min_length`` detections are cleared (``track_id: null``;
  the instance itself is kept),
- short gaps (≤ ``max_gap`` frames) can be filled by linear interpolation,
and then optional One-Euro smoothing runs in frame order. Memory is bounded by the live tracks
and ``lag`` frames.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from posetool.stream.encoding import points_array
from posetool.track.assignment import MATCHERS
from posetool.track.similarity import SimilarityWeights, similarity_matrix
from posetool.track.smoothing import OneEuroFilter


@dataclass(frozen=True)
class TrackerOptions:
    """Tracker settings (CLI flags in brackets)."""

    similarity: str = "oks"          # [--similarity] corr | oks | iou | weighted mix
    gate: float = 0.3                # [--gate] minimum similarity of an accepted match
    matcher: str = "hungarian"       # [--matcher] hungarian | greedy
    kp_thr: float = 0.1              # [--kp-thr] keypoint confidence counted as present
    corr_thr: float = 0.1            # [--corr-thr] correspondence value counted as a hit
    min_keypoints: int = 3           # [--min-keypoints] confident keypoints needed to start a track
    patience: int = 10               # [--patience] frames a lost track stays re-identifiable
    min_length: int = 1              # [--min-length] detections a track needs to keep its id
    interpolate: int = 0             # [--interpolate N] fill gaps of at most N frames (0: off)
    smooth: bool = False             # [--smooth] One-Euro smoothing of keypoints
    smooth_min_cutoff: float = 1.0   # [--smooth-min-cutoff]
    smooth_beta: float = 0.007       # [--smooth-beta]

    def validate(self) -> None:
        SimilarityWeights.parse(self.similarity)
        if self.matcher not in MATCHERS:
            raise ValueError(f"--matcher must be one of {', '.join(MATCHERS)}, got {self.matcher!r}")
        for name in ("patience", "min_length", "interpolate", "min_keypoints"):
            if getattr(self, name) < (1 if name == "min_length" else 0):
                raise ValueError(f"--{name.replace('_', '-')} must be ≥ {1 if name == 'min_length' else 0}")


@dataclass
class Track:
    """A live track: id, its last instance (and that instance's index in its frame), counts."""

    track_id: int
    last: dict[str, Any]
    last_frame: int
    last_index: int
    hits: int = 1
    filter: OneEuroFilter | None = None
    history: list[int] = field(default_factory=list)


def _confident(inst: dict, kp_thr: float) -> int:
    kps = inst.get("keypoints")
    if kps is None:
        return -1  # a box-only person
    return sum(1 for p in kps if p[2] is not None and p[2] > kp_thr)


def _lerp_instance(a: dict, b: dict, w: float) -> dict:
    """An instance between ``a`` (w = 0) and ``b`` (w = 1): boxes and keypoints interpolated."""
    out: dict[str, Any] = {"origin": "interpolated", "score": min(a.get("score") or 0.0, b.get("score") or 0.0)}
    if a.get("bbox") is not None and b.get("bbox") is not None:
        out["bbox"] = ((1 - w) * np.asarray(a["bbox"], float) + w * np.asarray(b["bbox"], float)).tolist()
    for key in ("keypoints", "keypoints_3d"):
        if a.get(key) is not None and b.get(key) is not None and len(a[key]) == len(b[key]):
            pa = points_array(a[key])
            pb = points_array(b[key])
            mix = (1 - w) * pa + w * pb
            if key == "keypoints":
                mix[:, 2] = np.minimum(pa[:, 2], pb[:, 2])
            out[key] = mix
    return out


class Tracker:
    """Online multi-person tracker; feed frames with :meth:`push`, drain with :meth:`flush`."""

    def __init__(self, options: TrackerOptions, skeleton: str | None) -> None:
        options.validate()
        self.opt = options
        self.weights = SimilarityWeights.parse(options.similarity)
        self.match = MATCHERS[options.matcher]
        self.skeleton = skeleton or "coco17"
        self.tracks: dict[int, Track] = {}
        self.next_id = 0
        self.hits: dict[int, int] = {}  # track id → detections so far (kept while its frames are buffered)
        self.buffer: deque[dict] = deque()
        self.lag = max(options.min_length - 1, options.interpolate)
        self.filters: dict[int, OneEuroFilter] = {}

    # --- per-frame assignment -----------------------------------------------------------------
    def _assign(self, frame: dict) -> None:
        t = frame["frame"]
        people = frame["instances"]
        corr = {c["source"]: c for c in frame.get("correspondences") or [] if "source" in c}
        live = sorted(self.tracks.values(), key=lambda tr: tr.track_id)
        queries = [dict(tr.last, _source=tr.last_index if tr.last_frame == t - 1 else None) for tr in live]
        sim = similarity_matrix(queries, people, self.weights, skeleton=self.skeleton, correspondences=corr,
                                kp_thr=self.opt.kp_thr, corr_thr=self.opt.corr_thr)
        assigned: dict[int, tuple[Track, float]] = {}
        for r, c in self.match(sim, self.opt.gate):
            assigned[c] = (live[r], float(sim[r, c]))
        for j, inst in enumerate(people):
            if j in assigned:
                track, score = assigned[j]
                gap = t - track.last_frame - 1
                if 0 < gap <= self.opt.interpolate:
                    self._fill_gap(track, inst, t)
                track.last, track.last_frame, track.last_index = inst, t, j
                track.hits += 1
                inst["track_id"] = track.track_id
                inst["track_score"] = round(score, 6)
            else:
                n = _confident(inst, self.opt.kp_thr)
                if n == -1 or n >= self.opt.min_keypoints:
                    track = Track(self.next_id, inst, t, j)
                    self.tracks[track.track_id] = track
                    self.next_id += 1
                    inst["track_id"] = track.track_id
                    inst["track_score"] = None
                else:
                    inst["track_id"] = None
            tid = inst.get("track_id")
            if tid is not None:
                self.hits[tid] = self.tracks[tid].hits
        for tid in [tid for tid, tr in self.tracks.items() if t - tr.last_frame > self.opt.patience]:
            del self.tracks[tid]

    def _fill_gap(self, track: Track, inst: dict, t: int) -> None:
        """Interpolate ``track`` into the buffered frames between its last detection and ``t``."""
        start = track.last_frame
        for frame in self.buffer:
            f = frame["frame"]
            if start < f < t:
                new = _lerp_instance(track.last, inst, (f - start) / (t - start))
                new["track_id"] = track.track_id
                frame["instances"].append(new)

    # --- delayed output -------------------------------------------------------------------------
    def _finalise(self, frame: dict) -> dict:
        for inst in frame["instances"]:
            tid = inst.get("track_id")
            if tid is None:
                continue
            if self.hits.get(tid, 0) < self.opt.min_length:
                inst["track_id"] = None
                inst["track_score"] = None
                continue
            if self.opt.smooth and inst.get("keypoints") is not None:
                filt = self.filters.setdefault(tid, OneEuroFilter(self.opt.smooth_min_cutoff, self.opt.smooth_beta))
                kps = points_array(inst["keypoints"])
                t = frame.get("t")
                t = float(t) if t is not None else float(frame["frame"])
                kps[:, :2] = filt(kps[:, :2], t)
                inst["keypoints"] = kps
        live = set(self.tracks)
        for tid in [tid for tid in self.filters if tid not in live]:
            del self.filters[tid]
        return frame

    def push(self, frame: dict) -> Iterator[dict]:
        """Track one frame (edits its instances in place); yields frames whose output is final."""
        self._assign(frame)
        self.buffer.append(frame)
        while len(self.buffer) > self.lag:
            yield self._finalise(self.buffer.popleft())
        self._forget_hits()

    def flush(self) -> Iterator[dict]:
        """Yield the buffered frames at the end of the stream."""
        while self.buffer:
            yield self._finalise(self.buffer.popleft())
        self.hits.clear()

    def _forget_hits(self) -> None:
        """Drop hit counts of ended tracks that no buffered frame refers to (bounded memory)."""
        if len(self.hits) <= 2 * len(self.tracks) + 64:
            return
        referenced = {i.get("track_id") for f in self.buffer for i in f["instances"]}
        for tid in [tid for tid in self.hits if tid not in self.tracks and tid not in referenced]:
            del self.hits[tid]
