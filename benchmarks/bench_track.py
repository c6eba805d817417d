"""Tracking throughput (frames/s) with 10, 50 and 200 people per frame, networks excluded.

Reference in the same run: the frames/s of the plain stream loop alone (decode + encode, as
``posetool cat``), so the ratio shows what tracking adds on top of I/O.
Run: python benchmarks/bench_track.py [--frames N]
"""

from __future__ import annotations

import argparse
import io
import time
from contextlib import nullcontext

import numpy as np

from posetool.engine.chain import run_step
from posetool.stream import StreamReader, StreamWriter, make_frame, make_header, write_stream
from posetool.track.stage import TrackStep
from posetool.track.tracker import TrackerOptions


def scene(frames: int, people: int, seed: int = 0) -> bytes:
    """People on random walks with coco17 poses; encoded as a msgpack stream."""
    rng = np.random.default_rng(seed)
    template = rng.uniform(-40, 40, (17, 2)) * [1, 2.5]
    pos = rng.uniform(100, 1800, (people, 2))
    vel = rng.normal(0, 3, (people, 2))
    buf = io.BytesIO()
    w = StreamWriter(buf, "msgpack")
    w.write(make_header({"width": 1920, "height": 1080, "fps": 25.0, "frames": frames}, "coco17"))
    for f in range(frames):
        pos += vel
        insts = []
        for p in range(people):
            kps = np.concatenate([template + pos[p] + rng.normal(0, 1.5, (17, 2)), rng.uniform(0.3, 1, (17, 1))], 1)
            lo, hi = kps[:, :2].min(0), kps[:, :2].max(0)
            insts.append({"bbox": [*lo, *hi], "score": 0.9, "keypoints": kps})
        w.write(make_frame(f, f / 25, insts))
    w.write_end()
    return buf.getvalue()


def fps(fn, data: bytes, frames: int) -> float:
    t0 = time.perf_counter()
    fn(StreamReader(io.BytesIO(data)), StreamWriter(io.BytesIO(), "msgpack"))
    return frames / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=200)
    args = ap.parse_args()
    print(f"tracking throughput, {args.frames} frames, networks excluded\n")
    print("| people/frame | similarity | track frames/s | stream loop frames/s | ratio |")
    print("|---:|---|---:|---:|---:|")
    for people in (10, 50, 200):
        frames = args.frames if people < 200 else max(20, args.frames // 4)
        data = scene(frames, people)
        ref = fps(lambda r, w: write_stream(w, r.header, r.frames(), r), data, frames)
        for sim in ("oks", "iou"):
            ours = fps(lambda r, w: run_step(r, lambda: nullcontext(w), TrackStep(TrackerOptions(similarity=sim))),
                       data, frames)
            print(f"| {people} | {sim} | {ours:,.1f} | {ref:,.1f} | {ours / ref:.2f} |")


if __name__ == "__main__":
    main()
