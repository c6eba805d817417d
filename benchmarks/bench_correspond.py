"""Correspondence inference throughput: frame pairs per second with 1, 4 and 10 people, both backbones.

For each backbone (the shipped light ResNet-18-style network at 128×128 person windows; the
paper's BN-Inception at 256×256 windows) and each region mode (``person`` windows, ``frame``
letterboxed to 256 / 512), the full :class:`CorrespondenceEstimator` call (crops, backbone,
correlation, refinement, decoding, reading the maps at the people of frame t) is timed on random
640×480 frames with random weights (speed does not depend on the weights). The reference measured
in the same run is the backbone alone on the same crops (what any Siamese method pays); the ratio
column says how much the correlation, refinement and decoding add.

Run: ``flock /tmp/posetool-cpu.lock python benchmarks/bench_correspond.py [--min-time S]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from posetool.correspond.infer import CorrespondenceEstimator
from posetool.nn.correspondence import CorrespondenceNet

CONFIGS = (
    ("resnet (shipped, 128 px)", dict(backbone="resnet", width=16, norm="l2", temperature=10.0, refine_width=32,
                                      refine_prior=True), 128, 256),
    ("bninception (paper, 256 px)", dict(backbone="bninception", norm="sumsq", refine_width=64), 256, 512),
)


def timed(fn, min_time: float) -> float:
    """Calls per second of ``fn`` (one warm-up call, then at least ``min_time`` seconds)."""
    fn()
    n, start = 0, time.perf_counter()
    while True:
        fn()
        n += 1
        el = time.perf_counter() - start
        if el >= min_time:
            return n / el


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--min-time", type=float, default=2.0, help="seconds per measurement")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    a = rng.integers(0, 255, (480, 640, 3), dtype=np.uint8)
    b = rng.integers(0, 255, (480, 640, 3), dtype=np.uint8)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, 640x480 frames, random weights\n")
    print("| backbone | region | people | pairs/s | backbone-only pairs/s | ratio (full / backbone) |")
    print("|---|---|---:|---:|---:|---:|")
    for name, kw, size, frame_size in CONFIGS:
        torch.manual_seed(0)
        net = CorrespondenceNet(num_keypoints=17, **kw).eval()
        for region in ("person", "frame"):
            est = CorrespondenceEstimator(net, size, (0.485, 0.456, 0.406), (0.229, 0.224, 0.225), region=region,
                                          frame_size=frame_size, batch_size=16)
            for people in (1, 4, 10):
                centres = rng.uniform([80, 120], [560, 360], (people, 2))
                queries = [np.column_stack([c[0] + rng.uniform(-25, 25, 17), c[1] + rng.uniform(-90, 90, 17),
                                            np.ones(17)]) for c in centres]
                boxes = [[c[0] - 30, c[1] - 100, c[0] + 30, c[1] + 100] for c in centres]
                targets = np.stack(queries) + [4.0, 0.0, 0.0]
                ids = iter(range(10 ** 9))

                def full() -> None:
                    # fresh frame ids: frame mode recomputes both frames' features, as the first pair of a stream
                    i = next(ids)
                    est.correspond(a, b, queries, boxes, targets, frame_ids=(2 * i, 2 * i + 1))

                if region == "person":
                    s = size
                    crops = np.zeros((2 * people, s, s, 3), np.uint8)
                else:
                    s = frame_size
                    crops = np.zeros((2, s, s, 3), np.uint8)

                @torch.inference_mode()
                def backbone() -> None:
                    net.features(est.to_input(crops))

                f, r = timed(full, args.min_time), timed(backbone, args.min_time)
                label = f"{region} ({size} px)" if region == "person" else f"frame ({frame_size} px)"
                print(f"| {name} | {label} | {people} | {f:.2f} | {r:.2f} | {f / r:.2f} |", flush=True)


if __name__ == "__main__":
    main()
