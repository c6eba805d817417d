"""Identity switches of each tracking similarity on a real clip, against identities labelled by hand.

The clip is run once through the real chain's detector and landmarks (MoveNet -> BlazePose), then
tracked with every similarity on the same poses: ``oks``, ``iou``, and ``corr`` from each
correspondence model (the synth network and the OpenCV optical-flow baselines lk and dis). Tracks
are scored with the MOT measures on the labelled frames only (``frame,id,x1,y1,x2,y2`` lines, e.g.
every 5th frame, drawn and checked with ``scripts/draw_id_labels.py``): an identity switch is a
labelled person whose matched track id changes between two labelled frames.

    python scripts/id_switch_segment.py VIDEO tests/data/vtest_ids.txt --out runs/ids [--iou 0.5]

Needs the real chain's weights (``posetool weights pull movenet``, ``posetool weights pull blazepose``).
Prints a markdown table (``--json`` for the numbers).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from draw_id_labels import read_labels  # noqa: E402

from posetool.eval.mot import MotSequence, evaluate_mot, stream_boxes  # noqa: E402

POSETOOL = f"{shlex.quote(sys.executable)} -m posetool"
# name -> the stages between the landmarks and the tracker (" | " between two), and the tracker's similarity
VARIANTS = {
    "oks": ("", "oks"),
    "iou": ("", "iou"),
    "corr (correspond_r18_synth)": ("correspond --model correspond_r18_synth", "corr"),
    "corr (lk)": ("correspond --model lk", "corr"),
    "corr (dis)": ("correspond --model dis", "corr"),
    "corr:0.5,oks:0.5 (dis)": ("correspond --model dis", "corr:0.5,oks:0.5"),
    "corr:0.5,oks:0.5 (dis) + recover": ("correspond --model dis | recover --model blazepose_full", "corr:0.5,oks:0.5"),
    "corr:0.5,oks:0.5 (correspond_r18_synth) + recover":
        ("correspond --model correspond_r18_synth | recover --model blazepose_full", "corr:0.5,oks:0.5"),
    "corr (correspond_real)": ("correspond --model correspond_real", "corr"),
    "corr (correspond_real) + recover": ("correspond --model correspond_real | recover --model blazepose_full", "corr"),
    "corr:0.5,oks:0.5 (correspond_real)": ("correspond --model correspond_real", "corr:0.5,oks:0.5"),
    "corr:0.5,oks:0.5 (correspond_real) + recover":
        ("correspond --model correspond_real | recover --model blazepose_full", "corr:0.5,oks:0.5"),
}


def sh(command: str) -> None:
    """Run a shell pipeline (pipefail), one thread per stage; stop with its stderr if it fails."""
    env = dict(os.environ, POSETOOL_THREADS=os.environ.get("POSETOOL_THREADS", "1"))
    proc = subprocess.run(["bash", "-o", "pipefail", "-c", command], env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"failed: {command}\n{proc.stderr[-2000:]}")


def labelled_sequence(name: str, labels: dict, stream: str) -> MotSequence:
    """The tracks of ``stream`` against the labels, restricted to the labelled frames (MOT frames are 1-based)."""
    frames = sorted(labels)
    gt = [(f + 1, ident, (x1, y1, x2 - x1, y2 - y1)) for f in frames for ident, (x1, y1, x2, y2) in labels[f]]
    pf, pi, pb, _ = stream_boxes(stream)
    keep = np.isin(pf, np.asarray(frames) + 1)
    return MotSequence(name, np.array([g[0] for g in gt]), np.array([g[1] for g in gt]),
                       np.array([g[2] for g in gt], dtype=np.float64).reshape(-1, 4),
                       pf[keep], pi[keep], pb[keep], all_frames=np.asarray(frames) + 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("video")
    ap.add_argument("labels")
    ap.add_argument("--out", required=True)
    ap.add_argument("--iou", type=float, default=0.5, help="IoU a track's box needs to match a labelled box")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--reid", default="auto", help="posetool track --reid (auto: appearance, the video is readable)")
    ap.add_argument("--only", default=None, help="run only the variants whose name contains this text")
    args = ap.parse_args()
    labels = read_labels(args.labels)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    poses = out / "poses.msgpack"
    if not poses.exists():
        sh(f"{POSETOOL} detect {shlex.quote(args.video)} --model movenet -q | {POSETOOL} pose2d --model blazepose_full -q "
           f"-o {shlex.quote(str(poses))}")
    rows = {}
    for i, (name, (middle, similarity)) in enumerate(VARIANTS.items()):
        if args.only and args.only not in name:
            continue
        tracked = out / f"tracked_{i}_{args.reid}.msgpack"
        between = [f"{POSETOOL} {stage} -q" for stage in middle.split(" | ")] if middle else []
        first, *rest = between + [f"{POSETOOL} track -q"]
        stages = " | ".join([f"{first} {shlex.quote(str(poses))}", *rest])
        sh(f"{stages} --similarity {similarity} --reid {args.reid} -o {shlex.quote(str(tracked))}")
        res = evaluate_mot([labelled_sequence(name, labels, str(tracked))], args.iou, hota=False)["overall"]
        rows[name] = {k: res[k] for k in ("num_switches", "idf1", "mota", "recall", "precision", "num_fragmentations")}
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    people = len({ident for boxes in labels.values() for ident, _ in boxes})
    print(f"{args.video}: {len(labels)} labelled frames ({min(labels)}-{max(labels)}), {people} people, "
          f"{sum(map(len, labels.values()))} boxes; IoU {args.iou}; track --reid {args.reid}\n")
    print("| similarity | ID switches | IDF1 | MOTA | recall | precision |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, r in rows.items():
        print(f"| {name} | {r['num_switches']} | {100 * r['idf1']:.1f} | {100 * r['mota']:.1f} | "
              f"{100 * r['recall']:.1f} | {100 * r['precision']:.1f} |")


if __name__ == "__main__":
    main()
