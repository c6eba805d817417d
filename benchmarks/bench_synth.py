"""Speed of ``posetool synth`` on one core: ground truth, rendering, and the whole run.

Run: ``flock /tmp/posetool-cpu.lock python benchmarks/bench_synth.py [--frames 200]``

Reference measured in the same run: writing the same frames to mp4 with OpenCV (the cost every
video-producing tool pays), so ratios stay meaningful across machines. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import cv2

from posetool.synth import SynthConfig, generate, simulate
from posetool.synth.render import Renderer

TARGET_FPS = 50.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--people", type=int, default=4)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    args = parser.parse_args()
    cv2.setNumThreads(1)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    n = args.frames
    rows = []
    totals = {"gt": 0.0, "bg": 0.0, "render": 0.0, "encode": 0.0, "generate": 0.0}
    for seed in args.seeds:
        cfg = SynthConfig(people=args.people, frames=n, width=640, height=480, seed=seed)
        t0 = time.perf_counter()
        seq = simulate(cfg)
        t1 = time.perf_counter()
        renderer = Renderer(seq)
        t2 = time.perf_counter()
        frames = [renderer.render(t) for t in range(n)]
        t3 = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            writer = cv2.VideoWriter(os.path.join(tmp, "ref.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 25.0, (640, 480))
            for f in frames:
                writer.write(f)
            writer.release()
            t4 = time.perf_counter()
            generate(os.path.join(tmp, "full"), cfg)
            t5 = time.perf_counter()
        for k, v in zip(totals, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4)):
            totals[k] += v
        rows.append((seed, n / (t1 - t0), n / (t3 - t2), n / (t4 - t3), n / (t5 - t4)))
    frames_all = n * len(args.seeds)
    render_fps = frames_all / totals["render"]
    encode_fps = frames_all / totals["encode"]
    print(f"### posetool synth speed, 640x480, {args.people} people, {n} frames x {len(args.seeds)} seeds, "
          f"cv2.setNumThreads(1)\n")
    print("| seed | ground truth only (fps) | render (fps) | mp4 encode, reference (fps) | full run incl. files (fps) |")
    print("|---|---|---|---|---|")
    for seed, g, r, e, full in rows:
        print(f"| {seed} | {g:.0f} | {r:.0f} | {e:.0f} | {full:.0f} |")
    print(f"| all | {frames_all / totals['gt']:.0f} | {render_fps:.0f} | {encode_fps:.0f} | "
          f"{frames_all / totals['generate']:.0f} |")
    print()
    print(f"- render / target ({TARGET_FPS:.0f} fps): {render_fps / TARGET_FPS:.2f}x")
    print(f"- render / mp4 encode (reference): {render_fps / encode_fps:.2f}x")
    print(f"- background synthesis (once per video): {totals['bg'] / len(args.seeds) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
