"""Training clips for the learned track smoother (``posetool train smooth``).

    python scripts/smoothnet_data.py --out runs/smooth-data            # 4 scenes x seeds 7600-7605, 2 mixed, 8 more runs
    posetool train smooth runs/smooth-data/* --keypoints trk_raw.msgpack -o runs/smooth

Per clip: ``posetool synth --scene S`` (3 people, 375 frames), ``detect --model gt | pose2d`` with the
synth preset's pose model, then ``track --smooth none`` with every other option at its default
except re-identification (``--reid none``: identities do not change the keypoints the smoother
learns from) and ``--lr-consistency offline``, the default when the shipped ``smoothnet_synth`` was
trained (the learned labeller is the default since; this keeps the regenerating command exact). The
tracked, unsmoothed stream ``trk_raw.msgpack`` is what the smoother sees inside
``posetool track`` (labels already decided by the left/right consistency pass), so it learns to
map exactly that to the ground truth. Seeds 7600-7615 are used by nothing else: the trust table's
test clips are 6000-6008 and the tracker's development clips 5000-5013. Every command is printed.
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
from pathlib import Path


def sh(*args: str) -> None:
    """Run one posetool command, printed first."""
    cmd = ["posetool", *args]
    print("+ " + shlex.join(cmd), flush=True)
    subprocess.run(cmd, check=True)


def make_clip(clip: Path, scene: str, seed: int) -> None:
    """Synth clip, its GT-box 2D stream and the tracked unsmoothed stream (skips what exists)."""
    if not (clip / "gt.jsonl").exists():
        sh("synth", str(clip), "--people", "3", "--frames", "375", "--seed", str(seed), "--scene", scene, "--quiet")
    det, pre, trk = clip / "det_gt.msgpack", clip / "pre_gt.msgpack", clip / "trk_raw.msgpack"
    if not pre.exists():
        sh("detect", str(clip / "video.mp4"), "--model", "gt", "--gt", str(clip / "gt.jsonl"), "-o", str(det), "--quiet")
        sh("pose2d", str(det), "-o", str(pre), "--quiet")
        det.unlink()
    if not trk.exists():
        sh("track", str(pre), "--smooth", "none", "--reid", "none", "--lr-consistency", "offline", "-o", str(trk), "--quiet")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="runs/smooth-data")
    ap.add_argument("--scenes", default="run,crossing,reenter,turn")
    ap.add_argument("--seeds", default="7600,7601,7602,7603,7604,7605")
    ap.add_argument("--mix-seeds", default="7610,7611", help="seeds of the mixed-action scene")
    ap.add_argument("--run-seeds", default="7606,7607,7608,7609,7612,7613,7614,7615",
                    help="more seeds of the run scene (fast limbs, where smoothing costs the most accuracy)")
    args = ap.parse_args()
    out = Path(args.out)
    seeds = [int(s) for s in args.seeds.split(",") if s]
    jobs = [(scene, seed) for seed in seeds for scene in args.scenes.split(",") if scene]
    jobs += [("mix", int(s)) for s in args.mix_seeds.split(",") if s]
    jobs += [("run", int(s)) for s in args.run_seeds.split(",") if s]
    for scene, seed in jobs:
        make_clip(out / f"{scene}-{seed}", scene, seed)


if __name__ == "__main__":
    main()
