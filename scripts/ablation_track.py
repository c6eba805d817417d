#!/usr/bin/env python3
"""The tracking ablation of README: similarity corr vs oks vs iou, with and without recover.

Held-out synth sequences (crowded, so people cross and occlude each other) go through the shipped
chain once — ``detect | pose2d | correspond`` and ``recover`` — and then ``track`` runs on the
correspondence stream (no recover) and on the recovered stream with each similarity. Every tracked
stream is exported to PoseTrack18 JSON and MOTChallenge txt, one file per sequence, and scored with
``posetool eval track`` (keypoint mAP, MOTA over the 15 PoseTrack joints) and ``posetool eval mot``
(box MOTA, IDF1, ID switches) over all sequences together.

    python scripts/ablation_track.py --out runs/ablation      # prints every command, then the table

Every command it runs is printed on stderr first, so the table can be reproduced by hand.
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from posetool.engine.presets import SYNTH

SEEDS = (931, 932, 933)
SIMILARITIES = ("corr", "oks", "iou", "corr:0.5,oks:0.5")


def sh(cmd: str) -> str:
    """Run a shell command (pipes allowed), echo it on stderr, return its stdout."""
    print(f"$ {cmd}", file=sys.stderr, flush=True)
    done = subprocess.run(cmd, shell=True, capture_output=True, text=True, executable="/bin/bash")
    if done.returncode != 0:  # the failing stage's own one-line error, then stop
        sys.exit(f"ablation_track: command failed (exit {done.returncode}): {done.stderr.strip() or cmd}")
    return done.stdout


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="runs/ablation", help="Working folder (reused: finished steps are kept).")
    ap.add_argument("--people", type=int, default=6)
    ap.add_argument("--frames", type=int, default=80)
    ap.add_argument("--seeds", default=",".join(map(str, SEEDS)))
    ap.add_argument("--max-carry", default="", help="Also run recover --max-carry N for these N (comma-separated).")
    ap.add_argument("--similarities", default=";".join(SIMILARITIES),
                    help="Similarities to compare, separated by ';'.")
    ap.add_argument("--kp-thr", default="0", help="eval track --kp-thr (keypoints dropped before PoseTrack AP/MOTA).")
    ap.add_argument("--pose-model", default=SYNTH.pose, help="pose2d and recover --model (default: the synth preset's).")
    ap.add_argument("--reid", default="auto", help="track --reid (auto: appearance, the clips' videos are readable).")
    args = ap.parse_args()
    out = Path(args.out)
    seeds = [int(s) for s in args.seeds.split(",")]
    carries = [int(c) for c in args.max_carry.split(",") if c.strip()]
    similarities = [x for x in args.similarities.split(";") if x]
    pt = "posetool"
    gt_pt, gt_mot = out / "gt_posetrack", out / "gt_mot"
    for d in (gt_pt, gt_mot):
        d.mkdir(parents=True, exist_ok=True)
    for seed in seeds:
        seq = f"{seed:06d}_mpii_synth"
        s = out / f"s{seed}"
        if not (s / "gt.jsonl").is_file():
            sh(f"{pt} synth {s} --people {args.people} --frames {args.frames} --seed {seed} -q")
        shutil.copy(s / "gt_posetrack18.json", gt_pt / f"{seq}.json")
        (gt_mot / seq).mkdir(exist_ok=True)
        shutil.copy(s / "gt_mot.txt", gt_mot / seq / "gt.txt")
        if not (s / "corr.msgpack").is_file():
            sh(f"{pt} detect {s}/video.mp4 --model {SYNTH.detect} -q | {pt} pose2d --model {args.pose_model} -q "
               f"| {pt} correspond -o {s}/corr.msgpack -q")
        if not (s / "rec.msgpack").is_file():
            sh(f"{pt} recover {s}/corr.msgpack --model {args.pose_model} -o {s}/rec.msgpack -q")
        for c in carries:
            if not (s / f"rec_carry{c}.msgpack").is_file():
                sh(f"{pt} recover {s}/corr.msgpack --model {args.pose_model} --max-carry {c} -o {s}/rec_carry{c}.msgpack -q")

    rows = []
    variants = [("no", "corr"), ("yes", "rec")] + [(f"yes, --max-carry {c}", f"rec_carry{c}") for c in carries]
    for recover, stem in variants:
        for sim in similarities:
            tag = f"{sim.replace(':', '').replace(',', '_')}_{stem}_reid{args.reid}"
            pred_pt, pred_mot = out / f"pred_{tag}_pt", out / f"pred_{tag}_mot"
            for d in (pred_pt, pred_mot):
                d.mkdir(exist_ok=True)
            for seed in seeds:
                seq = f"{seed:06d}_mpii_synth"
                s = out / f"s{seed}"
                src = s / f"{stem}.msgpack"
                tracked = s / f"track_{tag}.msgpack"
                sh(f"{pt} track {src} --similarity {shlex.quote(sim)} --reid {args.reid} -o {tracked} -q")
                sh(f"{pt} export {tracked} --to posetrack18 --sequence {seq} -o {pred_pt}/{seq}.json -q")
                sh(f"{pt} export {tracked} --to mot -o {pred_mot}/{seq}.txt -q")
            track = json.loads(sh(f"{pt} eval track {pred_pt} --gt {gt_pt} --kp-thr {shlex.quote(args.kp_thr)} --json -q"))
            mot = json.loads(sh(f"{pt} eval mot {pred_mot} --gt {gt_mot} --json -q"))
            rows.append((sim, recover, track, mot))

    print(f"Held-out synth seeds {', '.join(map(str, seeds))} ({args.people} people, {args.frames} frames each; "
          f"detect {SYNTH.detect} → pose2d → correspond → [recover] → track --reid {args.reid}; "
          f"eval track --kp-thr {args.kp_thr}):\n")
    print("| similarity | recover | PoseTrack mAP | PoseTrack MOTA | box MOTA | IDF1 | ID switches |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for sim, recover, track, mot in rows:
        tot = mot.get("overall", mot)
        print(f"| `{sim}` | {recover} | {track['ap']['total']:.1f} | {track['mota']['total']:.1f} "
              f"| {100 * tot['mota']:.1f} | {100 * tot['idf1']:.1f} | {int(tot['num_switches'])} |")


if __name__ == "__main__":
    main()
