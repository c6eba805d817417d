"""Training and validation clips for the learned left/right labeller (``posetool train leftright``).

    python scripts/leftright_data.py --out runs/lr-data --chain      # ~1 min per clip with --chain (88 clips)
    scripts/train_leftright_synth.sh runs/lr-data runs/leftright_synth

Per clip: ``posetool synth --scene S`` (3 people, 375 frames) and ``detect --model gt | pose2d``
with the synth preset's pose model, which writes ``pre_gt.msgpack``: the pose model's own labels
and its ``lr_doubt`` per left/right pair, the track id of each pose being its ground-truth person.
That is what the labeller sees inside ``posetool track`` (labels as the pose model gave them).
With ``--chain`` each clip also gets ``chain.msgpack``: the synth preset's whole chain (detector,
pose model, correspondences, recovery, tracker with re-identification) with the labels left alone
(``run --lr-consistency none --smooth none --no-lift``), so the labeller also learns from detected
boxes and ``recover``'s re-estimates, which the GT-box stream never shows.
Seeds: 7600-7605, 7620-7624, 7640-7644 and 7655 of each scene, 7606-7609, 7612-7615 and 7645-7652
of ``run``, 7610-7611 and 7653-7654 of the mixed scene; 7605 and 7655 are validation (7640-7655 were
added on 2026-12-08 for the model shipped since). None of them is a test or development seed of the
tracker (6000-6008, 5000-5013). Every command is printed; what exists is skipped.
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


def make_clip(clip: Path, scene: str, seed: int, chain: bool) -> None:
    """Synth clip, its GT-box 2D stream ``pre_gt.msgpack`` and with ``chain`` the chain's tracked
    stream ``chain.msgpack`` (the video is deleted afterwards; synth re-renders it when needed)."""
    pre, tracked = clip / "pre_gt.msgpack", clip / "chain.msgpack"
    if pre.exists() and (tracked.exists() or not chain):
        return
    video = clip / "video.mp4"
    if not (clip / "gt.jsonl").exists() or not video.exists():
        sh("synth", str(clip), "--people", "3", "--frames", "375", "--seed", str(seed), "--scene", scene, "--quiet")
    if not pre.exists():
        det = clip / "det_gt.msgpack"
        sh("detect", str(video), "--model", "gt", "--gt", str(clip / "gt.jsonl"), "-o", str(det), "--quiet")
        sh("pose2d", str(det), "-o", str(pre) + ".part", "--quiet")
        Path(str(pre) + ".part").rename(pre)
        det.unlink()
    if chain and not tracked.exists():
        sh("run", str(video), "--preset", "synth", "--lr-consistency", "none", "--smooth", "none", "--no-lift",
           "-o", str(tracked) + ".part", "--format", "msgpack", "--quiet")
        Path(str(tracked) + ".part").rename(tracked)
    video.unlink()  # 2D and ground truth are all the labeller reads


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="runs/lr-data")
    ap.add_argument("--scenes", default="run,crossing,reenter,turn")
    ap.add_argument("--seeds", default="7600,7601,7602,7603,7604,7605,7620,7621,7622,7623,7624,7640,7641,7642,7643,7644,7655")
    ap.add_argument("--mix-seeds", default="7610,7611,7653,7654", help="seeds of the mixed-action scene")
    ap.add_argument("--run-seeds", default="7606,7607,7608,7609,7612,7613,7614,7615,7645,7646,7647,7648,7649,7650,7651,7652", help="more seeds of the run scene")
    ap.add_argument("--chain", action="store_true", help="also write chain.msgpack (the synth chain's tracked stream)")
    args = ap.parse_args()
    out = Path(args.out)
    seeds = [int(s) for s in args.seeds.split(",") if s]
    jobs = [(scene, seed) for seed in seeds for scene in args.scenes.split(",") if scene]
    jobs += [("mix", int(s)) for s in args.mix_seeds.split(",") if s]
    jobs += [("run", int(s)) for s in args.run_seeds.split(",") if s]
    for scene, seed in jobs:
        make_clip(out / f"{scene}-{seed}", scene, seed, args.chain)


if __name__ == "__main__":
    main()
