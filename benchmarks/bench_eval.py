"""Benchmark ``posetool eval track`` on 1,000 frames × 10 people × 17 joints.

Writes a PoseTrack18 GT file and a prediction stream (JSON Lines) with jitter, drop-outs and
id swaps to a temporary folder, then times, in the same run:

- ``posetool``: loading both + preparing + evaluating (AP and MOT) with our CLEAR-MOT accumulator;
- ``reference``: the same evaluation fed through ``motmetrics.MOTAccumulator`` (the engine
  poseval uses, pandas event tables included), on the same prepared frames.

Both must give the same MOTA; the table prints seconds and the ratio. Run:
``flock /tmp/posetool-cpu.lock python benchmarks/bench_eval.py``
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import numpy as np

NAMES = ["nose", "head_bottom", "head_top", "left_ear", "right_ear", "left_shoulder", "right_shoulder", "left_elbow",
         "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle",
         "right_ankle"]


def make_data(folder: Path, frames: int = 1000, people: int = 10, seed: int = 0) -> tuple[Path, Path]:
    from posetool.stream import StreamWriter, make_end, make_frame, make_header

    rng = np.random.default_rng(seed)
    base = rng.uniform(0, 1, (people, 17, 2)) * [60, 200] + np.c_[np.arange(people) * 120.0, np.full(people, 100.0)][:, None]
    gt = {"images": [], "annotations": [], "categories": [{"id": 1, "name": "person", "keypoints": NAMES}]}
    stream = folder / "pred.jsonl"
    ids = np.arange(people)
    with StreamWriter(str(stream), "jsonl") as w:
        w.write(make_header({"path": "bench.mp4", "frames": frames}, "posetrack18"))
        for f in range(frames):
            iid = 10000000 + f
            gt["images"].append({"id": iid, "file_name": f"images/val/000001_bench/{f:06d}.jpg", "frame_index": f})
            pos = base + f * 0.2
            insts = []
            if rng.random() < 0.02:
                ids = rng.permutation(people)  # occasional identity swaps
            for p in range(people):
                k = np.c_[pos[p], np.full(17, 2.0)]
                k[3:5] = 0
                gt["annotations"].append({"image_id": iid, "track_id": p, "keypoints": k.ravel().tolist(),
                                          "bbox_head": [float(pos[p, 2, 0]) - 15, float(pos[p, 2, 1]) - 20, 30.0, 40.0]})
                if rng.random() < 0.05:
                    continue
                q = k.copy()
                q[:, :2] += rng.normal(0, 4, (17, 2))
                q[:, 2] = rng.uniform(0.1, 1, 17)
                insts.append({"track_id": int(ids[p]), "keypoints": q.tolist()})
            w.write(make_frame(f, f / 25, insts))
        w.write(make_end(frames, frames * people))
    gt_path = folder / "gt.json"
    gt_path.write_text(json.dumps(gt))
    return stream, gt_path


class _MotmetricsAccumulator:
    """motmetrics' accumulator behind our interface (counts read back from its event table)."""

    def __init__(self) -> None:
        import motmetrics as mm

        self.acc = mm.MOTAccumulator(auto_id=True)

    def update(self, oids, hids, dists) -> None:
        self.acc.update(oids, hids, dists)

    @property
    def counts(self):
        import motmetrics as mm

        from posetool.eval.clearmot import ClearMotCounts

        m = mm.metrics.create().compute(
            self.acc, metrics=["num_matches", "num_switches", "num_false_positives", "num_misses", "num_objects"],
            return_dataframe=False,
        )
        ev = self.acc.events
        clear = ev[ev.Type.isin(["MATCH", "SWITCH"])]
        return ClearMotCounts(int(m["num_matches"]), int(m["num_switches"]), int(m["num_false_positives"]),
                              int(m["num_misses"]), int(m["num_objects"]), float(clear.D.sum()), float(ev.D.sum()))


def main() -> None:
    from posetool.eval.posetrack import evaluate_posetrack, prepare_sequence
    from posetool.eval.posetrack_inputs import load_track_inputs

    with tempfile.TemporaryDirectory() as tmp:
        stream, gt = make_data(Path(tmp))
        t0 = time.perf_counter()
        pairs = load_track_inputs(str(stream), str(gt))
        t1 = time.perf_counter()
        seqs = [prepare_sequence(n, g, p) for n, g, p in pairs]
        t2 = time.perf_counter()
        ours = evaluate_posetrack(seqs)
        t3 = time.perf_counter()
        ref = evaluate_posetrack(seqs, accumulator=_MotmetricsAccumulator)
        t4 = time.perf_counter()
    assert np.allclose(ours.mota, ref.mota) and np.allclose(ours.motp, ref.motp)
    total = t3 - t0
    print("| eval track, 1,000 frames × 10 people × 17 joints | seconds |")
    print("|---|---|")
    print(f"| load GT JSON + prediction stream | {t1 - t0:.2f} |")
    print(f"| prepare frames | {t2 - t1:.2f} |")
    print(f"| evaluate AP + MOT (posetool accumulator) | {t3 - t2:.2f} |")
    print(f"| **total (posetool)** | **{total:.2f}** |")
    print(f"| evaluate AP + MOT (motmetrics.MOTAccumulator, poseval's engine) | {t4 - t3:.2f} |")
    print(f"| ratio evaluate: reference / posetool | {(t4 - t3) / (t3 - t2):.1f}× |")
    print(f"\nAP total {ours.total('ap'):.2f}, MOTA total {ours.total('mota'):.2f} (identical with both accumulators)")


if __name__ == "__main__":
    main()
