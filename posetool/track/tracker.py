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
from dataclasses import dataclass
from typing import Any

import numpy as np

from posetool.errors import OptionError
from posetool.stream.encoding import points_array
from posetool.track.assignment import MATCHERS
from posetool.track.similarity import MatchInputs, SimilarityWeights, similarity_matrix
from posetool.track.smoothing import OneEuroFilter

# The smallest allowed value of each integer option.
_MINIMUM = {"patience": 0, "min_length": 1, "interpolate": 0, "min_keypoints": 0}


@dataclass(frozen=True)
class TrackerOptions:
    """Tracker settings; checked on construction (:class:`OptionError` naming the field)."""

    similarity: str = "oks"          # corr | oks | iou | a weighted mix such as corr:0.5,oks:0.5
    gate: float = 0.3                # minimum similarity of an accepted match
    matcher: str = "hungarian"       # hungarian | greedy
    kp_thr: float = 0.1              # keypoint confidence counted as present
    corr_thr: float = 0.1            # correspondence value counted as a hit
    min_keypoints: int = 3           # confident keypoints needed to start a track
    patience: int = 10               # frames a lost track stays re-identifiable
    min_length: int = 1              # detections a track needs to keep its id
    interpolate: int = 0             # fill gaps of at most this many frames (0: off)
    smooth: bool = False             # One-Euro smoothing of keypoints
    smooth_min_cutoff: float = 1.0   # One-Euro minimum cutoff (Hz)
    smooth_beta: float = 0.007       # One-Euro speed coefficient

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise :class:`OptionError` naming the first field with a bad value."""
        SimilarityWeights.parse(self.similarity)
        if self.matcher not in MATCHERS:
            raise OptionError("matcher", f"must be one of {', '.join(MATCHERS)}, got {self.matcher!r}")
        for name, least in _MINIMUM.items():
            if getattr(self, name) < least:
                raise OptionError(name, f"must be ≥ {least}")


@dataclass
class Track:
    """A live track: id and its last instance (with that instance's frame and index in the frame)."""

    track_id: int
    last: dict[str, Any]
    last_frame: int
    last_index: int


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
        self.opt = options  # valid: TrackerOptions checks itself when built
        self.weights = SimilarityWeights.parse(options.similarity)
        self.match = MATCHERS[options.matcher]
        self.skeleton = skeleton or "coco17"
        self.tracks: dict[int, Track] = {}
        self.next_id = 0
        # Track id → detections so far. Kept by id, not on Track, because a track removed after
        # `patience` may still have frames in the buffer whose output needs its count.
        self.hits: dict[int, int] = {}
        self.buffer: deque[dict] = deque()
        self.lag = max(options.min_length - 1, options.interpolate)
        self.filters: dict[int, OneEuroFilter] = {}

    # --- per-frame assignment -----------------------------------------------------------------
    def _assign(self, frame: dict) -> None:
        t = frame["frame"]
        people = frame["instances"]
        corr = {c["source"]: c for c in frame.get("correspondences") or [] if "source" in c}
        live = sorted(self.tracks.values(), key=lambda tr: tr.track_id)
        inputs = MatchInputs(
            tracks=[tr.last for tr in live], people=people,
            sources=[tr.last_index if tr.last_frame == t - 1 else None for tr in live],
            correspondences=corr, skeleton=self.skeleton, kp_thr=self.opt.kp_thr, corr_thr=self.opt.corr_thr)
        sim = similarity_matrix(inputs, self.weights)
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
                self.hits[track.track_id] += 1
                inst["track_id"] = track.track_id
                inst["track_score"] = round(score, 6)
            else:
                n = _confident(inst, self.opt.kp_thr)
                if n == -1 or n >= self.opt.min_keypoints:
                    track = Track(self.next_id, inst, t, j)
                    self.tracks[track.track_id] = track
                    self.hits[track.track_id] = 1
                    self.next_id += 1
                    inst["track_id"] = track.track_id
                    inst["track_score"] = None
                else:
                    inst["track_id"] = None
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
        if len(self.hits) > 2 * len(self.tracks) + 64:  # prune now and then, not every frame
            self._forget_hits()

    def flush(self) -> Iterator[dict]:
        """Yield the buffered frames at the end of the stream."""
        while self.buffer:
            yield self._finalise(self.buffer.popleft())
        self._forget_hits()  # the buffer is empty: only live tracks keep their counts

    def _forget_hits(self) -> None:
        """Drop hit counts of ended tracks that no buffered frame refers to (bounded memory)."""
        referenced = {i.get("track_id") for f in self.buffer for i in f["instances"]}
        for tid in [tid for tid in self.hits if tid not in self.tracks and tid not in referenced]:
            del self.hits[tid]
