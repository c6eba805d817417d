"""Two correspondence models on the same keypoints of a real clip: paired errors and the margin's interval.

    python scripts/correspond_compare.py chain.msgpack --a correspond_real --b dis [--step 1] [--video V]
        [--boot 2000] [--seed 0] [--a-options decode=centroid,query_offset=off]

Both models answer the queries of ``posetool eval correspond STREAM`` (the stream's tracked
keypoints, confident in both frames, as pseudo ground truth; the models' default options unless
``--a-options`` / ``--b-options`` set a network's ``decode``, ``blur_kernel`` or ``query_offset``). Prints
each model's PCKh@0.5 and within-5-px rates, their median errors, where one hits and the other
misses (and how far the misses land, in PCKh radii), and the difference A − B with a 95 % interval
from a bootstrap over frame pairs (frames resampled with replacement: keypoints of one frame pair
share the frame's difficulty, so they are not resampled one by one). Figures: docs/correspond.md.
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np


def options(text: str) -> dict[str, Any]:
    """``decode=centroid,query_offset=off,blur_kernel=7`` → keyword arguments of ``build_estimator``."""
    out: dict[str, Any] = {}
    for item in filter(None, text.split(",")):
        key, _, value = item.partition("=")
        if key == "query_offset":
            out[key] = value in ("on", "true", "1")
        elif key == "blur_kernel":
            out[key] = int(value)
        elif key == "decode":
            out[key] = value
        else:
            raise SystemExit(f"correspond_compare: unknown option {key!r} (decode, blur_kernel, query_offset)")
    return out


def collect(stream: str, model: str, step: int, video: str | None, kwargs: dict[str, Any]) -> np.ndarray:
    """(N, 4) per scored keypoint: frame pair index, error px, PCKh radius px (0.5 × head), motion px
    (from the query to its pseudo ground truth)."""
    import posetool.correspond.evaluate as evaluate
    from posetool.correspond.backends import build_estimator

    rows: list[tuple[int, float, float]] = []
    pairs = [0]
    score = evaluate._score

    def record(hits: dict, queries: list, results: list, truth: list, masks: list, heads: list, pixels: float) -> int:
        pairs[0] += 1
        for q, r, t, v, h in zip(queries, results, truth, masks, heads):
            err = np.linalg.norm(r.keypoints[:, :2] - t, axis=1)[v]
            motion = np.linalg.norm(q[:, :2] - t, axis=1)[v]
            rows.extend((pairs[0], float(e) if np.isfinite(e) else np.inf, 0.5 * h, float(m)) for e, m in zip(err, motion))
        return score(hits, queries, results, truth, masks, heads, pixels)

    evaluate._score = record  # the evaluator's own pairing and scoring, with each keypoint kept
    try:
        est, _ = build_estimator(model, device="cpu", **kwargs)
        evaluate.evaluate_inputs([stream], est, pixels=5.0, step=step, video=video)
    finally:
        evaluate._score = score
    return np.array(rows, dtype=np.float64)


def interval(diff: np.ndarray, pair: np.ndarray, boot: int, rng: np.random.Generator) -> tuple[float, float]:
    """95 % bootstrap interval of mean(diff), resampling frame pairs."""
    ids, inverse = np.unique(pair, return_inverse=True)
    sums, counts = np.bincount(inverse, diff), np.bincount(inverse)
    draws = rng.integers(0, len(ids), (boot, len(ids)))
    means = sums[draws].sum(1) / counts[draws].sum(1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return float(lo), float(hi)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("stream")
    ap.add_argument("--a", required=True, help="model A (e.g. correspond_real)")
    ap.add_argument("--b", required=True, help="model B (e.g. dis)")
    ap.add_argument("--step", type=int, default=1)
    ap.add_argument("--video", default=None)
    ap.add_argument("--boot", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--a-options", default="", help="network decoding of A: decode=dark|centroid,blur_kernel=K,query_offset=on|off")
    ap.add_argument("--b-options", default="", help="the same for B")
    args = ap.parse_args()

    a = collect(args.stream, args.a, args.step, args.video, options(args.a_options))
    b = collect(args.stream, args.b, args.step, args.video, options(args.b_options))
    if a.shape != b.shape or not np.array_equal(a[:, 0], b[:, 0]) or not np.allclose(a[:, 2:], b[:, 2:]):
        raise SystemExit("correspond_compare: the two models were not scored on the same keypoints")
    rng = np.random.default_rng(args.seed)
    hit_a, hit_b = a[:, 1] <= a[:, 2], b[:, 1] <= b[:, 2]
    px_a, px_b = a[:, 1] <= 5.0, b[:, 1] <= 5.0
    out: dict[str, Any] = {"keypoints": len(a), "frame_pairs": len(np.unique(a[:, 0]))}
    for name, ha, hb in (("pckh", hit_a, hit_b), ("px5", px_a, px_b)):
        lo, hi = interval(ha.astype(float) - hb.astype(float), a[:, 0], args.boot, rng)
        out[name] = {args.a: round(float(ha.mean()), 4), args.b: round(float(hb.mean()), 4),
                     "a_minus_b": round(float(ha.mean() - hb.mean()), 4), "ci95": [round(lo, 4), round(hi, 4)]}
    only_b = ~hit_a & hit_b
    out["median_error_px"] = {args.a: round(float(np.median(a[:, 1])), 2), args.b: round(float(np.median(b[:, 1])), 2)}
    out["a_misses_b_hits"] = int(only_b.sum())
    out["a_hits_b_misses"] = int((hit_a & ~hit_b).sum())
    if only_b.any():
        out["a_error_over_radius_where_only_b_hits"] = np.round(
            np.percentile(a[only_b, 1] / a[only_b, 2], [10, 50, 90]), 2).tolist()
    bins = ((0, 2), (2, 4), (4, 8), (8, np.inf))  # how far the keypoint moved, px
    out["pckh_by_motion_px"] = {
        f"{lo}-{hi}": {"keypoints": int(sel.sum()), args.a: round(float(hit_a[sel].mean()), 3),
                       args.b: round(float(hit_b[sel].mean()), 3)}
        for lo, hi in bins if (sel := (a[:, 3] >= lo) & (a[:, 3] < hi)).any()}
    import json

    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
