#!/usr/bin/env python
"""Choose the demo's PoseTrack keypoint threshold on validation seeds (never the demo clip).

Runs `posetool demo`'s chain (shipped synth models, correspondences and recovery) on synth clips
of the given seeds, then sweeps the threshold on all of them together and prints the table and
the best-MOTA value, which goes into ``posetool/demo.py`` as ``DEMO_KP_THR``:

    python scripts/choose_kp_thr.py --seeds 2950 2951 2952 --out runs/kp_thr
"""

from __future__ import annotations

import argparse
import json
import os

from posetool.demo import DemoOptions, run_demo
from posetool.eval.kp_sweep import best_kp_threshold, parse_threshold_grid, sweep_kp_thresholds
from posetool.eval.posetrack_inputs import load_track_inputs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[2950, 2951, 2952], help="Validation synth seeds.")
    ap.add_argument("--out", default="runs/kp_thr", help="Folder for one demo folder per seed.")
    ap.add_argument("--grid", default="0:0.9:0.05", help="Thresholds (as eval track --sweep-kp-thr).")
    ap.add_argument("--people", type=int, default=DemoOptions.people)
    ap.add_argument("--frames", type=int, default=DemoOptions.frames)
    args = ap.parse_args()

    pairs = []
    for seed in args.seeds:
        folder = os.path.join(args.out, f"val_{seed}")
        stream = os.path.join(folder, "poses.msgpack")
        if not os.path.exists(stream):  # the chain is the slow part; a rerun reuses it
            run_demo(DemoOptions(out=folder, people=args.people, frames=args.frames, seed=seed, render=False))
        pairs += load_track_inputs(stream, os.path.join(folder, "gt_posetrack18.json"))
    rows = sweep_kp_thresholds(pairs, parse_threshold_grid(args.grid))
    best = best_kp_threshold(rows)
    print(f"{'kp_thr':>6} {'mAP':>6} {'MOTA':>6} {'Prec':>6} {'Rec':>6}")
    for r in rows:
        print(f"{r.kp_thr:6.2f} {r.ap:6.1f} {r.mota:6.1f} {r.precision:6.1f} {r.recall:6.1f}" + ("  *" if r.kp_thr == best else ""))
    print(json.dumps({"seeds": args.seeds, "best_kp_thr": best}))


if __name__ == "__main__":
    main()
