"""Pose-stream I/O speed: posetool's checked reader/writer against bare msgpack/json in the same run.

Run: python benchmarks/bench_stream.py [--frames N] [--people P]
Prints a markdown table: records/second for each path and the ratio posetool / bare library.
The bare reference decodes the same bytes without checks, so the ratio is the price of validation.
Read records are consumed one by one, as a stage does: collecting thousands of them in a list made
the garbage collector the main cost of both sides (issue #18).
"""

from __future__ import annotations

import argparse
import io
import json
import platform
import time
from collections import deque

import msgpack
import numpy as np

from posetool.stream import StreamReader, StreamWriter, make_frame, make_header


def make_records(frames: int, people: int) -> list[dict]:
    rng = np.random.default_rng(0)
    recs = [make_header({"path": "x.mp4", "width": 1280, "height": 720, "fps": 30.0, "frames": frames}, "coco17")]
    for f in range(frames):
        insts = [{"bbox": rng.uniform(0, 700, 4).tolist(), "score": 0.9, "keypoints": rng.uniform(0, 700, (17, 3)),
                  "track_id": p} for p in range(people)]
        recs.append(make_frame(f, f / 30, insts))
    recs.append({"type": "end", "frames": frames, "instances": frames * people, "finished": True})
    return recs


def drain(records) -> None:
    """Consume ``records`` one by one, keeping none."""
    deque(records, maxlen=0)


def best_of(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=2000)
    ap.add_argument("--people", type=int, default=10)
    args = ap.parse_args()
    recs = make_records(args.frames, args.people)
    n = len(recs)
    rows = []
    for fmt in ("msgpack", "jsonl"):
        buf = io.BytesIO()
        w = StreamWriter(buf, fmt)
        t_write = best_of(lambda: [w.write(r) for r in recs])
        buf2 = io.BytesIO()  # one clean copy of the stream to read back
        w2 = StreamWriter(buf2, fmt)
        for r in recs:
            w2.write(r)
        data = buf2.getvalue()
        plain = [json.loads(json.dumps(r, default=lambda a: a.tolist())) for r in recs]
        if fmt == "msgpack":
            t_ref_write = best_of(lambda: [msgpack.packb(r) for r in plain])
            t_ref_read = best_of(lambda: drain(msgpack.Unpacker(io.BytesIO(data), raw=False)))
        else:
            t_ref_write = best_of(lambda: [json.dumps(r) for r in plain])
            t_ref_read = best_of(lambda: drain(json.loads(line) for line in data.splitlines()))
        t_read = best_of(lambda: drain(StreamReader(io.BytesIO(data)).records()))
        rows.append((fmt, "write", n / t_write, n / t_ref_write))
        rows.append((fmt, "read+check", n / t_read, n / t_ref_read))
    print(f"stream I/O, {args.frames} frames × {args.people} people × 17 keypoints; {platform.processor() or platform.machine()}, "
          f"Python {platform.python_version()}\n")
    print("| encoding | op | posetool records/s | bare library records/s | ratio |")
    print("|---|---|---:|---:|---:|")
    for fmt, op, ours, ref in rows:
        print(f"| {fmt} | {op} | {ours:,.0f} | {ref:,.0f} | {ours / ref:.2f} |")


if __name__ == "__main__":
    main()
