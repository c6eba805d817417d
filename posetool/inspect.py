"""Summary statistics of a pose stream, gathered frame by frame in bounded memory.

Memory grows with the number of distinct tracks, not with the number of frames.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

CONF_BINS = np.linspace(0.0, 1.0, 11)


@dataclass
class TrackStats:
    frames: int = 0
    first: int = 0
    last: int = 0


class StreamSummary:
    """Accumulates what ``posetool inspect`` reports. Call :meth:`add` per frame, then :meth:`finish`."""

    def __init__(self, header: dict[str, Any]) -> None:
        self.header = header
        self.frames = 0
        self.first_frame: int | None = None
        self.last_frame: int | None = None
        self.instances = 0
        self.people_min: int | None = None
        self.people_max = 0
        self.empty_frames = 0
        self.tracks: dict[int, TrackStats] = {}
        self.untracked = 0
        self.conf_hist = np.zeros(len(CONF_BINS) - 1, dtype=np.int64)
        self.conf_missing = 0
        self.conf_sum = 0.0
        self.conf_count = 0
        self.with_keypoints = 0
        self.with_3d = 0
        self.with_root = 0
        self.with_bbox = 0
        self.origins: Counter[str] = Counter()
        self.end: dict[str, Any] | None = None
        self.truncated = False

    def add(self, frame: dict[str, Any]) -> None:
        idx = frame["frame"]
        insts = frame.get("instances") or []
        n = len(insts)
        self.frames += 1
        self.first_frame = idx if self.first_frame is None else self.first_frame
        self.last_frame = idx
        self.instances += n
        self.people_min = n if self.people_min is None else min(self.people_min, n)
        self.people_max = max(self.people_max, n)
        self.empty_frames += n == 0
        for inst in insts:
            tid = inst.get("track_id")
            if tid is None:
                self.untracked += 1
            else:
                t = self.tracks.get(tid)
                if t is None:
                    self.tracks[tid] = TrackStats(1, idx, idx)
                else:
                    t.frames += 1
                    t.last = idx
            kps = inst.get("keypoints")
            if kps:
                self.with_keypoints += 1
                conf = np.array([p[2] if p[2] is not None else np.nan for p in kps], dtype=np.float64)
                ok = np.isfinite(conf)
                self.conf_missing += int((~ok).sum())
                vals = np.clip(conf[ok], 0.0, 1.0)
                self.conf_hist += np.histogram(vals, bins=CONF_BINS)[0]
                self.conf_sum += float(vals.sum())
                self.conf_count += int(vals.size)
            self.with_3d += inst.get("keypoints_3d") is not None
            self.with_root += inst.get("root_3d") is not None
            self.with_bbox += inst.get("bbox") is not None
            self.origins[str(inst.get("origin", "detected"))] += 1

    def finish(self, end: dict[str, Any] | None, truncated: bool) -> None:
        self.end = end
        self.truncated = truncated

    @property
    def people_mean(self) -> float:
        return self.instances / self.frames if self.frames else 0.0

    def to_dict(self, top_tracks: int = 10) -> dict[str, Any]:
        lengths = sorted(self.tracks.items(), key=lambda kv: (-kv[1].frames, kv[0]))
        src = self.header.get("source") or {}
        return {
            "source": src,
            "skeleton": self.header.get("skeleton"),
            "skeleton_3d": self.header.get("skeleton_3d"),
            "frames": self.frames,
            "frame_range": [self.first_frame, self.last_frame],
            "instances": self.instances,
            "people_per_frame": {"min": self.people_min or 0, "mean": self.people_mean, "max": self.people_max},
            "empty_frames": self.empty_frames,
            "tracks": {
                "count": len(self.tracks),
                "untracked_instances": self.untracked,
                "mean_length": float(np.mean([t.frames for t in self.tracks.values()])) if self.tracks else 0.0,
                "longest": [
                    {"track_id": tid, "frames": t.frames, "first": t.first, "last": t.last}
                    for tid, t in lengths[:top_tracks]
                ],
            },
            "keypoint_confidence": {
                "mean": self.conf_sum / self.conf_count if self.conf_count else None,
                "histogram": {f"{CONF_BINS[i]:.1f}-{CONF_BINS[i + 1]:.1f}": int(c) for i, c in enumerate(self.conf_hist)},
                "missing": self.conf_missing,
            },
            "instances_with": {
                "bbox": self.with_bbox, "keypoints": self.with_keypoints,
                "keypoints_3d": self.with_3d, "root_3d": self.with_root,
            },
            "origins": dict(self.origins),
            "stages": self.header.get("stages") or [],
            "end": self.end,
            "truncated": self.truncated,
        }


def _provenance_cell(stage: dict[str, Any]) -> str:
    """A stage's model, weights digest, posetool version and parameters as wrapping text (no cut)."""
    sha = stage.get("weights_sha256")
    about = ", ".join(x for x in (f"weights {sha[:12]}" if sha else "", f"posetool {stage.get('posetool', '?')}") if x)
    params = ", ".join(f"{k}={v}" for k, v in (stage.get("params") or {}).items())
    return f"{stage.get('model') or '-'} ({about})" + (f"\n{params}" if params else "")


def render_summary(summary: StreamSummary, top_tracks: int = 10) -> None:
    """Print the summary as rich tables on stdout, each readable at 80 columns (long text wraps)."""
    from rich.table import Table

    from posetool.tables import print_fitted, stdout_console

    d = summary.to_dict(top_tracks)
    out = stdout_console()
    src = d["source"]
    overview = Table(title="pose stream", show_header=False, title_justify="left")
    overview.add_column(style="bold", no_wrap=True)
    overview.add_column(overflow="fold")
    overview.add_row("source", f"{src.get('path', '?')}  {src.get('width', '?')}x{src.get('height', '?')} @ {src.get('fps', '?')} fps")
    overview.add_row("skeleton", f"{d['skeleton']}" + (f"  (3D: {d['skeleton_3d']})" if d["skeleton_3d"] else ""))
    overview.add_row("frames", f"{d['frames']} (frames {d['frame_range'][0]}–{d['frame_range'][1]}), {d['empty_frames']} empty")
    ppf = d["people_per_frame"]
    overview.add_row("people/frame", f"min {ppf['min']}  mean {ppf['mean']:.2f}  max {ppf['max']}")
    overview.add_row("instances", f"{d['instances']}  " + "  ".join(f"{k}: {v}" for k, v in d["instances_with"].items()))
    overview.add_row("origins", "  ".join(f"{k}: {v}" for k, v in d["origins"].items()) or "-")
    tracks = d["tracks"]
    overview.add_row("tracks", f"{tracks['count']}, mean length {tracks['mean_length']:.1f} frames; "
                               f"{tracks['untracked_instances']} untracked instances")
    kc = d["keypoint_confidence"]
    if summary.conf_count or kc["missing"]:
        mean = "-" if kc["mean"] is None else f"{kc['mean']:.3f}"
        overview.add_row("keypoint conf.", f"mean {mean}, {kc['missing']} missing")
    status = "complete" if d["end"] and not d["truncated"] else "TRUNCATED (no end record)"
    if d["end"] and not d["end"].get("finished", True):
        status = "ended early (writer did not finish)"
    overview.add_row("status", status)
    tables = [overview]

    if tracks["count"]:
        tt = Table(title="longest tracks", title_justify="left")
        for col in ("track_id", "frames", "first", "last"):
            tt.add_column(col, justify="right")
        for t in tracks["longest"]:
            tt.add_row(str(t["track_id"]), str(t["frames"]), str(t["first"]), str(t["last"]))
        tables.append(tt)

    if summary.conf_count or kc["missing"]:
        ct = Table(title="keypoint confidence", title_justify="left")
        ct.add_column("range")
        ct.add_column("count", justify="right")
        ct.add_column("")
        total = max(1, sum(kc["histogram"].values()))
        for rng, c in kc["histogram"].items():
            ct.add_row(rng, str(c), "█" * int(round(30 * c / total)))
        tables.append(ct)

    st = Table(title="provenance", title_justify="left")
    st.add_column("stage", no_wrap=True)
    st.add_column("model (weights, version) and parameters", overflow="fold")
    for s in d["stages"]:
        st.add_row(str(s.get("stage")), _provenance_cell(s))
    tables.append(st)
    print_fitted(*tables, console=out)
