"""One person's performance read off a pose stream: a track's keypoints frame by frame.

A :class:`Performance` covers the frames from the track's first to its last appearance; frames
in between where the person has no instance (or no keypoints) are all NaN and ``present`` is
False there. Streams written by ``posetool synth --action`` also carry the ground-truth
``phase`` and ``phase_class`` of every frame, and their action (what a training batch groups by).

Which track: the one asked for (``track_id``), else the performer: the largest in the image of
the tracks about as long as the longest (a bystander standing through the whole take is usually
farther away). Instances without a ``track_id`` (an untracked single-person stream) count as one
track, the best-scoring instance of each frame.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from posetool.errors import PosetoolError
from posetool.stream import StreamReader, points_array

Record = dict[str, Any]
UNTRACKED = "untracked"


@dataclass
class Performance:
    """A track over frames ``first_frame .. first_frame + T - 1``.

    Attributes:
        points: (T, K, 3) 2D [x, y, confidence] in pixels, or 3D [x, y, z] in metres; NaN where missing.
        present: (T,) the track has keypoints in this frame.
        phase: (T,) ground-truth phase in [0, 1] (NaN where unknown), or None.
        phase_class: (T,) ground-truth phase class (-1 where unknown), or None.
        group: the action of a synth take, else ``"stream"``: training batches hold one group.
        num_classes: phase classes of the action (synth takes), else 0.
    """

    points: np.ndarray
    present: np.ndarray
    first_frame: int
    fps: float
    skeleton: str
    dims: int
    track_id: int | str
    source: str
    group: str = "stream"
    phase: np.ndarray | None = None
    phase_class: np.ndarray | None = None
    num_classes: int = 0

    def __len__(self) -> int:
        return len(self.points)

    @property
    def frames(self) -> np.ndarray:
        """(T,) the stream frame index of every row."""
        return self.first_frame + np.arange(len(self.points))


def take_of(header: Record) -> dict[str, Any] | None:
    """The take parameters a ``posetool synth --action`` header records, if any."""
    for stage in header.get("stages") or []:
        params = stage.get("params") if isinstance(stage, dict) else None
        if stage.get("stage") == "synth" and isinstance(params, dict) and isinstance(params.get("take"), dict):
            return params["take"]
    return None


def track_frames(frames: Iterable[Record], field: str) -> dict[int | str, dict[int, int]]:
    """Track key -> {frame index: instance index} over instances that have ``field``.

    Untracked instances form the track :data:`UNTRACKED` (the best-scoring one of each frame).
    """
    tracks: dict[int | str, dict[int, int]] = {}
    best: dict[int, float] = {}
    for rec in frames:
        for i, inst in enumerate(rec.get("instances") or []):
            if inst.get(field) is None:
                continue
            tid = inst.get("track_id")
            if tid is None:
                score = inst.get("score")
                score = float(score) if isinstance(score, (int, float)) else 0.0
                if rec["frame"] in best and best[rec["frame"]] >= score:
                    continue
                best[rec["frame"]] = score
                tracks.setdefault(UNTRACKED, {})[rec["frame"]] = i
            else:
                tracks.setdefault(int(tid), {})[rec["frame"]] = i
    return tracks


def _size(inst: Record) -> float:
    """Area of an instance's box, else of its keypoints' extent (pixels^2), else 0."""
    box = inst.get("bbox")
    if box is not None and len(box) == 4 and all(isinstance(v, (int, float)) for v in box):
        return max(0.0, (box[2] - box[0]) * (box[3] - box[1]))
    kps = inst.get("keypoints")
    if not kps:
        return 0.0
    xy = points_array(kps)[:, :2]
    xy = xy[np.isfinite(xy).all(axis=1)]
    return float(np.prod(xy.max(0) - xy.min(0))) if len(xy) > 1 else 0.0


def pick_track(tracks: dict[int | str, dict[int, int]], wanted: int | None, source: str,
               frames: list[Record] | None = None, field: str = "keypoints") -> int | str:
    """The track ``wanted``, else the performer: among the tracks at least 80 % as long as the
    longest, the one largest in the image (median box area; a bystander is usually farther away),
    ties to the smallest id. Errors name ``source`` and the ``field`` the tracks were read from."""
    if not tracks:
        hint = "; this embedder aligns lifted 3D joints: run posetool lift3d first" if field == "keypoints_3d" else ""
        raise PosetoolError(f"{source}: no instance with {field}; align needs a tracked person{hint}")
    if wanted is not None:
        if wanted not in tracks:
            known = ", ".join(str(t) for t in sorted(k for k in tracks if k != UNTRACKED)) or "none (untracked stream)"
            raise PosetoolError(f"{source}: no track {wanted}; tracks: {known}")
        return wanted
    longest = max(len(rows) for rows in tracks.values())
    candidates = [k for k, rows in tracks.items() if len(rows) >= 0.8 * longest]
    by_frame = {rec["frame"]: rec for rec in frames or []}

    def size(key: int | str) -> float:
        rows = tracks[key]
        return float(np.median([_size(by_frame[f]["instances"][i]) for f, i in rows.items()])) if by_frame else 0.0

    return max(candidates, key=lambda k: (size(k), len(tracks[k]), -k if isinstance(k, int) else 0))


def performance(header: Record, frames: list[Record], track: int | str, dims: int, source: str) -> Performance:
    """The :class:`Performance` of ``track`` in a stream read into memory (``frames``)."""
    field = "keypoints" if dims == 2 else "keypoints_3d"
    skeleton = header.get("skeleton") if dims == 2 else header.get("skeleton_3d")
    if not skeleton:
        raise PosetoolError(f"{source}: the header names no {'skeleton' if dims == 2 else 'skeleton_3d'}")
    rows = track_frames(frames, field)[track]
    by_frame = {rec["frame"]: rec for rec in frames}
    first, last = min(rows), max(rows)
    n = last - first + 1
    points = None
    present = np.zeros(n, dtype=bool)
    take = take_of(header)
    phase = np.full(n, np.nan) if take else None
    phase_class = np.full(n, -1) if take else None
    for f, i in rows.items():
        inst = by_frame[f]["instances"][i]
        pts = points_array(inst[field])
        if pts.shape[-1] == 2:  # 2D keypoints without confidence: known points count as confident
            pts = np.concatenate([pts, np.where(np.isfinite(pts[:, :1]), 1.0, np.nan)], -1)
        if points is None:
            points = np.full((n,) + pts.shape, np.nan)
        points[f - first] = pts
        present[f - first] = True
        if take is not None and inst.get("phase") is not None:
            phase[f - first] = float(inst["phase"])
            phase_class[f - first] = int(inst.get("phase_class", -1))
    fps = float((header.get("source") or {}).get("fps") or 25.0)
    return Performance(points, present, first, fps, str(skeleton), dims, track, source,
                       group=str(take["action"]) if take else "stream", phase=phase, phase_class=phase_class,
                       num_classes=len(take["key_events"]) - 1 if take else 0)


def read_records(path: str) -> tuple[Record, list[Record], StreamReader]:
    """A whole stream: header, frame records, and the reader (for its end record)."""
    reader = StreamReader(path)
    header = reader.header
    frames = list(reader.frames())
    return header, frames, reader


STREAM_SUFFIXES = (".jsonl", ".msgpack")


def stream_paths(path: str) -> list[str]:
    """The streams ``path`` names: a stream file; a synth folder (its ``gt.jsonl``); or a folder
    holding synth folders at any depth (every ``gt.jsonl`` below it, in path order), else the
    stream files directly in it."""
    if not os.path.exists(path):
        raise PosetoolError(f"{path}: no such stream file or folder")
    if not os.path.isdir(path):
        return [path]
    found = sorted(os.path.join(root, "gt.jsonl") for root, _, files in os.walk(path) if "gt.jsonl" in files)
    if not found:
        found = sorted(os.path.join(path, n) for n in os.listdir(path)
                       if n.endswith(STREAM_SUFFIXES) and os.path.isfile(os.path.join(path, n)))
    if not found:
        raise PosetoolError(f"{path}: a folder with no gt.jsonl, synth folders or stream files in it")
    return found


def load_performances(paths: Iterable[str], dims: int, min_frames: int = 8) -> list[Performance]:
    """Every track of at least ``min_frames`` frames in the given streams, synth folders or
    folders of them (see :func:`stream_paths`)."""
    out: list[Performance] = []
    for src in (s for path in paths for s in stream_paths(path)):
        header, frames, _ = read_records(src)
        field = "keypoints" if dims == 2 else "keypoints_3d"
        for track, rows in sorted(track_frames(frames, field).items(), key=lambda kv: str(kv[0])):
            if len(rows) >= min_frames:
                out.append(performance(header, frames, track, dims, src))
    return out


def time_warped(perf: Performance, frames: int, power: float) -> tuple[Performance, np.ndarray]:
    """A copy of ``perf`` played back unevenly, and (frames,) the source time of each of its rows.

    Row k shows time ``(T - 1) (k / (frames - 1))^power`` of the original (slow at first, fast at
    the end for power > 1): points interpolated linearly between the two source rows around it
    (2D confidence: the smaller of the two); a point missing in either is missing. The alignment
    checks (tests, scripts/align_warp_check.py) know the right match of every row: its time.
    """
    last = len(perf) - 1
    times = last * (np.arange(frames) / (frames - 1)) ** power
    lo = np.floor(times).astype(int)
    hi = np.minimum(lo + 1, last)
    frac = (times - lo)[:, None, None]
    a, b = perf.points[lo], perf.points[hi]
    points = (1 - frac) * a + frac * b
    if perf.dims == 2:
        points[..., 2] = np.minimum(a[..., 2], b[..., 2])
    present = perf.present[lo] & perf.present[hi]
    points[~present] = np.nan
    return dataclasses.replace(perf, points=points, present=present, phase=None, phase_class=None), times

