"""Measure MoveNet's boxes on the hand-labelled vtest frames over input sizes and score thresholds.

    python scripts/measure_movenet.py [--sizes 256,384,512,640,768] [--thresholds 0.1,0.15,0.2,0.25,0.3]
        [--max-people 20] [--labels tests/data/vtest_boxes.txt]

Runs the detect backend exactly as ``posetool detect --model movenet`` does (same post-processing:
clip, score threshold, NMS 0.5, at most --max-people boxes) on the labelled frames of vtest.avi
(fetched into the cache by posetool.data.real_videos) and prints precision and recall at IoU 0.5,
for the considered people and for everyone labelled. Needs ``posetool weights pull movenet``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="256,384,512,640,768")
    ap.add_argument("--thresholds", default="0.1,0.15,0.2,0.25,0.3")
    ap.add_argument("--max-people", type=int, default=20)
    ap.add_argument("--labels", default="tests/data/vtest_boxes.txt")
    args = ap.parse_args()

    from posetool.data.real_videos import fetch_vtest
    from posetool.detect.backends import build_detector
    from posetool.detect.boxes import postprocess
    from posetool.eval.labelled import LabelledFrames, box_scores
    from posetool.stream import make_frame
    from posetool.video.sources import open_video

    labels = LabelledFrames.read(args.labels)
    wanted = set(labels.frames)
    with open_video(str(fetch_vtest())) as source:
        frames = [f for f in source if f.index in wanted]
    width, height = frames[0].image.shape[1], frames[0].image.shape[0]
    print(f"{len(frames)} labelled frames, {sum(len(b) for b in labels.boxes.values())} people "
          f"({sum(int(c.sum()) for c in labels.consider.values())} considered)")
    for size in (int(s) for s in args.sizes.split(",")):
        backend = build_detector("movenet", device="cpu", input_size=size, max_people=args.max_people)
        t0 = time.perf_counter()
        dets = backend.detect(frames)
        ms = (time.perf_counter() - t0) / len(frames) * 1000
        for thr in (float(t) for t in args.thresholds.split(",")):
            records = [make_frame(f.index, f.t, postprocess(d, thr, 0.5, args.max_people, width, height).to_instances())
                       for f, d in zip(frames, dets)]
            s, a = box_scores(records, labels), box_scores(records, labels, all_people=True)
            print(f"size {size:4d}  thr {thr:.2f}  considered: P {s['precision']:.3f} R {s['recall']:.3f} "
                  f"(tp {s['tp']} fp {s['fp']} fn {s['fn']})  all: P {a['precision']:.3f} R {a['recall']:.3f}  "
                  f"{ms:.0f} ms/frame")
        np.set_printoptions(precision=2)


if __name__ == "__main__":
    main()
