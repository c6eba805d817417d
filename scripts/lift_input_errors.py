"""How the synth chain's 2D keypoints err, in person heights: the sizes behind `train lift3d`'s
`--noise-2d`, `--outliers-2d` and `--clamp-2d` (docs/lift3d.md).

    for s in $(seq 3950 3961); do posetool demo --seed $s --out val/d$s --no-render -q; done
    python scripts/lift_input_errors.py val/d39*

Each folder holds a synth clip's ground truth (`gt.jsonl`) and the chain's stream (`poses.msgpack`,
as `posetool demo` writes them). Predicted and ground-truth people are paired per frame as
`posetool eval lift` pairs them (box IoU ≥ 0.5, Hungarian); a joint's error is its distance from
the ground truth divided by the ground-truth person's 2D height.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

from posetool.eval.lift import _pair_cost
from posetool.skeletons import get_skeleton
from posetool.stream import StreamReader
from posetool.stream.encoding import points_array


def paired_joints(folder: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per paired person-frame: ground-truth (J, 2), predicted (J, 3 with score) and the frame
    size; returns (gt (N, J, 2), pred (N, J, 3), wh (N, 2))."""
    gt_reader, pred_reader = StreamReader(str(folder / "gt.jsonl")), StreamReader(str(folder / "poses.msgpack"))
    source = gt_reader.header["source"]
    wh = (float(source["width"]), float(source["height"]))
    gts, preds = [], []
    for grec, prec in zip(gt_reader.frames(), pred_reader.frames()):
        gis = [i for i in grec.get("instances") or [] if i.get("keypoints")]
        pis = [i for i in prec.get("instances") or [] if i.get("keypoints")]
        if not gis or not pis:
            continue
        cost = np.array([[_pair_cost(g, p) for p in pis] for g in gis])
        for r, c in zip(*linear_sum_assignment(np.where(np.isfinite(cost), cost, 1e9))):
            if np.isfinite(cost[r, c]):
                gts.append(points_array(gis[r]["keypoints"])[:, :2])
                preds.append(points_array(pis[c]["keypoints"])[:, :3])
    n = len(gts)
    return np.array(gts).reshape(n, -1, 2), np.array(preds).reshape(n, -1, 3), np.tile(wh, (n, 1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folders", nargs="+", type=Path)
    args = ap.parse_args()
    parts = [paired_joints(f) for f in args.folders]
    gt = np.concatenate([p[0] for p in parts])
    pred = np.concatenate([p[1] for p in parts])
    wh = np.concatenate([p[2] for p in parts])
    height = gt[..., 1].max(axis=1) - gt[..., 1].min(axis=1)
    err = np.linalg.norm(pred[..., :2] - gt, axis=-1) / height[:, None]  # (N, J)
    names = get_skeleton("coco17").keypoints
    print(f"{len(gt)} person-frames from {len(args.folders)} clips")
    print(f"joint error (person heights): median {np.median(err):.3f}, 90th percentile {np.percentile(err, 90):.3f}; "
          f"beyond 0.1 {100 * (err > 0.1).mean():.1f} %, beyond 0.2 {100 * (err > 0.2).mean():.1f} %")
    print("beyond 0.2 by joint: " + ", ".join(f"{n} {100 * v:.1f} %" for n, v in zip(names, (err > 0.2).mean(axis=0))))
    w, h = wh[:, :1], wh[:, 1:]
    outside = (gt[..., 0] < 0) | (gt[..., 0] >= w) | (gt[..., 1] < 0) | (gt[..., 1] >= h)
    px, py = pred[..., 0][outside], pred[..., 1][outside]
    wo, ho = np.broadcast_to(w, outside.shape)[outside], np.broadcast_to(h, outside.shape)[outside]
    inside = (px >= 0) & (px < wo) & (py >= 0) & (py < ho)
    near = np.minimum.reduce([px, wo - px, py, ho - py]) < 10
    big = err > 0.2
    print(f"joints outside the frame: {100 * outside.mean():.1f} % of all, {100 * (big & outside).sum() / max(big.sum(), 1):.0f} % "
          f"of those beyond 0.2; predicted inside the frame {100 * inside.mean():.0f} %, within 10 px of its border "
          f"{100 * near.mean():.0f} %")
    scores = pred[..., 2]
    for lo, hi in ((0.0, 0.2), (0.2, 0.4), (0.4, 0.55), (0.55, 0.7), (0.7, 0.85), (0.85, 1.01)):
        m = (scores >= lo) & (scores < hi)
        if m.any():
            print(f"score {lo:.2f}-{min(hi, 1):.2f}: {m.sum()} joints, beyond 0.2 {100 * big[m].mean():.1f} %")


if __name__ == "__main__":
    main()
