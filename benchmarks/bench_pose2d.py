"""pose2d throughput on this machine: crops per second, batch 1 and 16.

Models: SimpleBaselines ResNet-50 and HRNet-W32 at 256×192 (the official architectures, random
weights: speed does not depend on the values) and the shipped ``simplebaseline_r18_synth``.
The reference is ResNet-50 in the same run; ratios are crops/s over ResNet-50's at the same
batch size. Two rows per model and batch: the network alone (one forward) and the whole
top-down pipeline (affine crops from a 640×480 frame, flip test, decoding, back-projection,
rescoring and OKS-NMS) through :class:`~posetool.pose2d.estimator.TopDownEstimator`.

Run: ``flock /tmp/posetool-cpu.lock python benchmarks/bench_pose2d.py [--seconds 3] [--threads N]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from posetool.hub.registry import get_model_spec
from posetool.pose2d.estimator import TopDownEstimator, TopDownOptions
from posetool.skeletons import COCO17

MODELS = ("simplebaseline_r50_256x192", "hrnet_w32_256x192", "simplebaseline_r18_synth")


def rate(fn, crops_per_call: int, seconds: float) -> float:
    """Crops per second of ``fn`` (after one warm-up call), timed for at least ``seconds``."""
    fn()
    n, start = 0, time.perf_counter()
    while True:
        fn()
        n += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds and n >= 2:
            return n * crops_per_call / elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=3.0, help="timing per measurement")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 255, (480, 640, 3), dtype=np.uint8)
    rows = []
    for name in MODELS:
        spec = get_model_spec(name)
        model = spec.build().eval()
        w, h = spec.input.width, spec.input.height
        est = TopDownEstimator(model, spec.input, COCO17, "cpu", TopDownOptions(), batch_size=16)
        for batch in (1, 16):
            x = torch.randn(batch, 3, h, w)

            def forward() -> None:
                with torch.inference_mode():
                    model(x)

            boxes = np.array([[40 + 30 * i, 60 + 10 * (i % 3), 160 + 30 * i, 400] for i in range(batch)], dtype=float)
            est.batch_size = batch

            def pipeline() -> None:
                est.estimate(frame, boxes)

            rows.append((name, batch, "network", rate(forward, batch, args.seconds)))
            rows.append((name, batch, "pipeline (flip test)", rate(pipeline, batch, args.seconds)))
    ref = {(b, kind): r for n, b, kind, r in rows if n == MODELS[0]}
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads\n")
    print("| model | input | batch | measured | crops/s | vs ResNet-50 |")
    print("|---|---|---:|---|---:|---:|")
    for name, batch, kind, r in rows:
        inp = get_model_spec(name).input
        print(f"| {name} | {inp.height}x{inp.width} | {batch} | {kind} | {r:.1f} | {r / ref[(batch, kind)]:.2f}x |")


if __name__ == "__main__":
    main()
