#!/usr/bin/env python3
"""Snapshot every stage's output on two fixed synth clips, or compare two snapshots.

A refactor that must not change behaviour is checked by taking a snapshot before it and one after,
then comparing them record for record:

    python scripts/behaviour_snapshot.py take runs/before
    ... refactor ...
    python scripts/behaviour_snapshot.py take runs/after
    python scripts/behaviour_snapshot.py compare runs/before runs/after

Every command goes through the installed ``posetool`` CLI (as a user runs it). Streams are stored
as JSON Lines, with the provenance fields that legitimately change between versions (posetool
version, wall-clock timings) removed; everything else, including every float, must be equal.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shlex
import subprocess
import sys

# Two fixed clips: a crowded one and a smaller one with another camera and motion mix.
CLIPS = {
    "a": "--people 4 --frames 24 --width 320 --height 240 --seed 4101",
    "b": "--people 2 --frames 20 --width 320 --height 240 --seed 4102 --motion walk,run",
}

# Keys whose values depend on the run, not on behaviour.
VOLATILE = {"posetool_version", "version_posetool", "elapsed_s", "seconds", "timing", "timings", "fps_measured"}


def commands(clip: str) -> list[tuple[str, str]]:
    """(name, shell command) pairs run inside the snapshot folder for one clip folder ``clip``."""
    c = clip
    return [
        (f"{c}.det_centernet", f"posetool detect {c}/video.mp4 --model centernet_r18_synth -o {c}.det_centernet.jsonl"),
        (f"{c}.det_hog", f"posetool detect {c}/video.mp4 --model hog -o {c}.det_hog.jsonl"),
        (f"{c}.det_gt", f"posetool detect {c}/video.mp4 --model gt --gt {c}/gt_mot.txt -o {c}.det_gt.jsonl"),
        (f"{c}.pose", f"posetool pose2d {c}.det_centernet.jsonl -o {c}.pose.jsonl"),
        (f"{c}.pose_gt", f"posetool pose2d {c}.det_gt.jsonl -o {c}.pose_gt.jsonl"),
        (f"{c}.corr", f"posetool correspond {c}.pose.jsonl -o {c}.corr.jsonl"),
        (f"{c}.rec", f"posetool recover {c}.corr.jsonl -o {c}.rec.jsonl"),
        (f"{c}.trk_corr", f"posetool track {c}.rec.jsonl --similarity corr -o {c}.trk_corr.jsonl"),
        (f"{c}.trk_oks", f"posetool track {c}.pose.jsonl --similarity oks --interpolate 3 --smooth online -o {c}.trk_oks.jsonl"),
        (f"{c}.trk_iou", f"posetool track {c}.pose.jsonl --similarity iou -o {c}.trk_iou.jsonl"),
        (f"{c}.lift", f"posetool lift3d {c}.trk_corr.jsonl -o {c}.lift.jsonl"),
        (f"{c}.run", f"posetool run {c}/video.mp4 --preset synth -o {c}.run.jsonl"),
        (f"{c}.cat", f"posetool cat {c}.lift.jsonl --to msgpack -o {c}.cat.msgpack && "
                     f"posetool cat {c}.cat.msgpack --to jsonl -o {c}.cat.jsonl"),
        (f"{c}.eval_pose", f"posetool eval pose {c}.lift.jsonl --gt {c}/gt_coco.json"),
        (f"{c}.eval_boxes", f"posetool eval boxes {c}.det_centernet.jsonl --gt {c}/gt_coco.json"),
        (f"{c}.eval_track", f"posetool eval track {c}.lift.jsonl --gt {c}/gt_posetrack18.json"),
        (f"{c}.eval_mot", f"posetool eval mot {c}.lift.jsonl --gt {c}/gt_mot.txt"),
        (f"{c}.eval_lift", f"posetool eval lift {c}.lift.jsonl --gt {c}/gt.jsonl"),
        (f"{c}.eval_corr", f"posetool eval correspond {c}"),
        (f"{c}.inspect", f"posetool inspect {c}.lift.jsonl"),
        (f"{c}.exp_coco", f"posetool export {c}.lift.jsonl --to coco --gt {c}/gt_coco.json -o {c}.exp_coco.json"),
        (f"{c}.exp_pt", f"posetool export {c}.lift.jsonl --to posetrack18 -o {c}.exp_pt.json"),
        (f"{c}.exp_mot", f"posetool export {c}.lift.jsonl --to mot -o {c}.exp_mot.txt"),
        (f"{c}.exp_csv", f"posetool export {c}.lift.jsonl --to csv -o {c}.exp_csv.csv"),
        (f"{c}.exp_vp3d", f"posetool export {c}.lift.jsonl --to videopose3d -o {c}.exp_vp3d.npz"),
        (f"{c}.render", f"posetool render {c}.lift.jsonl --video {c}/video.mp4 --frames 5 --png {c}.render.d && "
                        f"cp {c}.render.d/*.png {c}.render.png"),
    ]


def _scrub(obj):
    """Drop volatile keys recursively."""
    if isinstance(obj, dict):
        return {k: _scrub(v) for k, v in obj.items() if k not in VOLATILE}
    if isinstance(obj, list):
        return [_scrub(v) for v in obj]
    return obj


def _normalise_file(path: str) -> str:
    """A comparable text form of one output file (JSON scrubbed; binary files hashed)."""
    if path.endswith(".jsonl"):
        with open(path, encoding="utf-8") as fh:
            return "\n".join(json.dumps(_scrub(json.loads(line)), sort_keys=True) for line in fh if line.strip())
    if path.endswith(".json"):
        with open(path, encoding="utf-8") as fh:
            return json.dumps(_scrub(json.load(fh)), sort_keys=True)
    if path.endswith((".txt", ".csv")):
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    if path.endswith(".npz"):
        import numpy as np

        with np.load(path, allow_pickle=True) as z:
            return json.dumps({k: hashlib.sha256(repr(z[k].tolist()).encode()).hexdigest() for k in sorted(z.files)})
    if path.endswith(".png"):
        import cv2

        return hashlib.sha256(cv2.imread(path).tobytes()).hexdigest()
    with open(path, "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


def take(out: str) -> int:
    """Run every command into ``out``; write ``snapshot.json`` (name -> rc, stdout, files)."""
    os.makedirs(out, exist_ok=True)
    env = {**os.environ, "COLUMNS": "200", "POSETOOL_DEVICE": "cpu"}
    snapshot: dict[str, dict] = {}
    for clip, args in CLIPS.items():
        subprocess.run(f"posetool synth {clip} {args} -q", shell=True, cwd=out, check=True, env=env)
        for name, cmd in commands(clip):
            proc = subprocess.run(cmd, shell=True, cwd=out, capture_output=True, text=True, env=env)
            files = sorted(f for f in os.listdir(out) if f.startswith(name + ".") and os.path.isfile(os.path.join(out, f)))
            snapshot[name] = {
                "command": cmd, "rc": proc.returncode, "stdout": proc.stdout,
                "files": {f: _normalise_file(os.path.join(out, f)) for f in files},
            }
            print(f"{name:18s} rc={proc.returncode} files={len(files)}", file=sys.stderr)
            if proc.returncode:
                print(proc.stderr.strip().splitlines()[-1:], file=sys.stderr)
    demo = subprocess.run("posetool demo --out demo --frames 20 --people 3 --no-render", shell=True, cwd=out,
                          capture_output=True, text=True, env=env)
    snapshot["demo"] = {"command": "posetool demo", "rc": demo.returncode, "stdout": demo.stdout,
                        "files": {"demo/stream.jsonl": _normalise_file(_demo_stream(out))} if demo.returncode == 0 else {}}
    print(f"{'demo':18s} rc={demo.returncode}", file=sys.stderr)
    with open(os.path.join(out, "snapshot.json"), "w", encoding="utf-8") as fh:
        json.dump(snapshot, fh, indent=1, sort_keys=True)
    return 0


def _demo_stream(out: str) -> str:
    """The demo's stream file, converted to JSON Lines for comparison."""
    folder = os.path.join(out, "demo")
    stream = next(os.path.join(folder, f) for f in sorted(os.listdir(folder)) if f.startswith("poses."))
    target = os.path.join(out, "demo.stream.jsonl")
    subprocess.run(["posetool", "cat", stream, "--to", "jsonl", "-o", target], check=True)
    return target


def compare(a: str, b: str) -> int:
    """Print every difference between two snapshots; exit 1 if any."""
    with open(os.path.join(a, "snapshot.json"), encoding="utf-8") as fh:
        sa = json.load(fh)
    with open(os.path.join(b, "snapshot.json"), encoding="utf-8") as fh:
        sb = json.load(fh)
    diffs = 0
    for name in sorted(set(sa) | set(sb)):
        x, y = sa.get(name), sb.get(name)
        if x is None or y is None:
            print(f"{name}: only in {'after' if x is None else 'before'}")
            diffs += 1
            continue
        for field in ("rc", "stdout"):
            if x[field] != y[field]:
                print(f"{name}: {field} differs ({shlex.quote(x['command'])})")
                diffs += 1
        for f in sorted(set(x["files"]) | set(y["files"])):
            if x["files"].get(f) != y["files"].get(f):
                print(f"{name}: file {f} differs")
                diffs += 1
    total = sum(len(v["files"]) for v in sa.values())
    print(f"{len(sa)} commands, {total} output files compared: {diffs} difference(s)")
    return 1 if diffs else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("take").add_argument("out")
    cmp_ = sub.add_parser("compare")
    cmp_.add_argument("before")
    cmp_.add_argument("after")
    args = parser.parse_args()
    return take(args.out) if args.cmd == "take" else compare(args.before, args.after)


if __name__ == "__main__":
    sys.exit(main())
