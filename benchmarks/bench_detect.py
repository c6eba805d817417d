"""Detection speed: frames/second of each backend at 640×480 and 1280×720 on this CPU.

Reference in the same run: OpenCV decoding of the same frames (the floor every backend pays),
so the ratio column is backend fps / decode fps. Frames come from a `posetool synth` clip.
Run: python benchmarks/bench_detect.py [--frames N] [--backends hog,centernet_r18_synth,gt,blazepose]
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time

import torch

from posetool.detect.backends import build_detector
from posetool.errors import PosetoolError
from posetool.synth import SynthConfig, generate
from posetool.video.sources import open_video


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=40)
    ap.add_argument("--backends", default="hog,centernet_r18_synth,gt,blazepose")
    ap.add_argument("--batch-size", type=int, default=8)
    args = ap.parse_args()
    print(f"detection speed, {args.frames} frames of a 4-person synth clip; {platform.machine()}, "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads\n")
    print("| backend | resolution | frames/s | decode frames/s | ratio |")
    print("|---|---|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for w, h in ((640, 480), (1280, 720)):
            out = os.path.join(tmp, f"{w}x{h}")
            generate(out, SynthConfig(people=4, frames=args.frames, width=w, height=h, seed=7))
            video = os.path.join(out, "video.mp4")
            t0 = time.perf_counter()
            frames = list(open_video(video))
            decode_fps = len(frames) / (time.perf_counter() - t0)
            for name in args.backends.split(","):
                try:
                    det = build_detector(name, device="cpu", gt=os.path.join(out, "gt.jsonl") if name == "gt" else None,
                                         batch_size=args.batch_size)
                except PosetoolError as exc:
                    print(f"| {name} | {w}×{h} | unavailable: {exc} | | |")
                    continue
                det.detect(frames[:2])  # warm-up
                t0 = time.perf_counter()
                for i in range(0, len(frames), args.batch_size):
                    det.detect(frames[i:i + args.batch_size])
                fps = len(frames) / (time.perf_counter() - t0)
                print(f"| {name} | {w}×{h} | {fps:,.1f} | {decode_fps:,.1f} | {fps / decode_fps:.3f} |")


if __name__ == "__main__":
    main()
