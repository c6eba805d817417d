"""``posetool align REFERENCE QUERY``: which reference frame every query frame corresponds to.

Both streams are read whole (an alignment needs both performances from start to end). The
reference track (``ref_track``) and each query track (``tracks``) are embedded, by default the
performer of each stream (:func:`posetool.align.sequences.pick_track`); every query frame where
the track is present gets its match among
the reference frames where the reference person is present: the nearest neighbour, or with
``dtw`` the monotonic DTW alignment (the nearest neighbour is then kept as ``nn_frame``).

The query stream is written on unchanged except for an ``align`` map on the aligned instances:
``{"ref_frame": int, "confidence": float}`` (plus ``nn_frame`` with DTW), and a provenance
entry in the header. ``csv`` writes the same as rows ``frame,t,track_id,ref_frame,ref_t,confidence``
(``nn_frame`` last, with DTW).
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from posetool.align.embedder import Embedder
from posetool.align.match import confidence, distances, dtw, nearest
from posetool.align.sequences import Performance, performance, pick_track, track_frames
from posetool.errors import OutputError
from posetool.stream import StreamReader, StreamWriter, make_stage, write_stream

Record = dict[str, Any]
CONFIDENCE_WINDOW_S = 0.1  # matches within this much time of the chosen frame count as agreeing


@dataclass
class TrackAlignment:
    """The matches of one query track: per present query frame, the reference frame and confidence."""

    track_id: int | str
    frames: np.ndarray  # (N,) query stream frame indices
    ref_frames: np.ndarray  # (N,) matched reference stream frame indices
    confidence: np.ndarray  # (N,)
    nn_frames: np.ndarray | None  # (N,) the nearest neighbours when ref_frames come from DTW


def align_performances(query: Performance, q_emb: np.ndarray, ref: Performance, r_emb: np.ndarray,
                       use_dtw: bool) -> TrackAlignment:
    """Match the present frames of ``query`` to those of ``ref`` from their (T, D) embeddings."""
    qi, ri = np.flatnonzero(query.present), np.flatnonzero(ref.present)
    dist = distances(q_emb[qi], r_emb[ri])
    nn = nearest(dist)
    match = dtw(dist) if use_dtw else nn
    window = max(1, int(round(CONFIDENCE_WINDOW_S * ref.fps)))
    # the window counts reference rows; absent reference frames are not candidates at all
    conf = confidence(dist, match, q_emb.shape[1], window)
    return TrackAlignment(query.track_id, query.frames[qi], ref.frames[ri][match], conf,
                          ref.frames[ri][nn] if use_dtw else None)


def _annotated(frames: list[Record], field_tracks: dict[int | str, dict[int, int]],
               results: list[TrackAlignment]) -> Iterator[Record]:
    """The query's frame records with ``align`` added to every aligned instance."""
    by_key: dict[tuple[int, int], dict[str, Any]] = {}
    for res in results:
        rows = field_tracks[res.track_id]
        for k, f in enumerate(res.frames.tolist()):
            entry: dict[str, Any] = {"ref_frame": int(res.ref_frames[k]),
                                     "confidence": round(float(res.confidence[k]), 4)}
            if res.nn_frames is not None:
                entry["nn_frame"] = int(res.nn_frames[k])
            by_key[(f, rows[f])] = entry
    for rec in frames:
        for i, inst in enumerate(rec.get("instances") or []):
            entry = by_key.get((rec["frame"], i))
            if entry is not None:
                inst["align"] = entry
        yield rec


def write_csv(path: str, results: list[TrackAlignment], query_fps: float, ref_fps: float) -> None:
    """One row per aligned query frame (see the module docstring)."""
    with_nn = any(r.nn_frames is not None for r in results)
    try:
        with open(path, "w", newline="", encoding="utf-8") as fh:
            out = csv.writer(fh)
            head = ["frame", "t", "track_id", "ref_frame", "ref_t", "confidence"]
            out.writerow(head + (["nn_frame"] if with_nn else []))
            for res in results:
                for k, f in enumerate(res.frames.tolist()):
                    row = [f, round(f / query_fps, 6), res.track_id, int(res.ref_frames[k]),
                           round(int(res.ref_frames[k]) / ref_fps, 6), round(float(res.confidence[k]), 4)]
                    out.writerow(row + ([int(res.nn_frames[k])] if res.nn_frames is not None else []))
    except OSError as exc:
        raise OutputError(f"{path}: cannot write the CSV: {exc.strerror or exc}") from None


def run_align(reference: StreamReader, ref_name: str, query: StreamReader, query_name: str,
              open_output: Callable[[], StreamWriter], embedder: Embedder, *, tracks: list[int] | None = None,
              ref_track: int | None = None, use_dtw: bool = False, csv_path: str | None = None) -> list[TrackAlignment]:
    """Align the query's tracks to the reference's and write the annotated query stream."""
    field = "keypoints" if embedder.dims == 2 else "keypoints_3d"
    ref_header, ref_frames = reference.header, list(reference.frames())
    ref_key = pick_track(track_frames(ref_frames, field), ref_track, ref_name, ref_frames, field)
    ref = performance(ref_header, ref_frames, ref_key, embedder.dims, ref_name)
    r_emb = embedder.embed(ref)

    header, frames = dict(query.header), list(query.frames())
    q_tracks = track_frames(frames, field)
    if tracks:
        keys = [pick_track(q_tracks, t, query_name, field=field) for t in tracks]
    else:
        keys = [pick_track(q_tracks, None, query_name, frames, field)]
    results = []
    for key in dict.fromkeys(keys):
        perf = performance(header, frames, key, embedder.dims, query_name)
        results.append(align_performances(perf, embedder.embed(perf), ref, r_emb, use_dtw))

    params = {"reference": ref_name, "ref_track": ref_key, "tracks": [r.track_id for r in results],
              "method": "dtw" if use_dtw else "nearest", "input": field}
    header["stages"] = list(header.get("stages") or []) + [
        make_stage("align", model=embedder.name, weights_sha256=embedder.weights_sha256, params=params)]
    with open_output() as writer:
        write_stream(writer, header, _annotated(frames, q_tracks, results), upstream=query)
    if csv_path:
        write_csv(csv_path, results, performance_fps(header), ref.fps)
    return results


def performance_fps(header: Record) -> float:
    return float((header.get("source") or {}).get("fps") or 25.0)
