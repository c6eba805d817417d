"""The README's trust table: identity across absences, left/right swaps, jitter, keypoint AP and 3D,
with and without each tracking option, on `posetool synth --scene` clips no shipped model saw.

    python scripts/trust_figures.py --out runs/trust                 # GT boxes, seeds 6000-6002 (+ reenter 6003-6005)
    python scripts/trust_figures.py --out runs/trust --chain default --seeds 6000 --reenter-seeds ""
                                                                     # detector + pose2d + correspond + recover

Every command it runs is printed. GT boxes: ``detect --model gt`` then the shipped pose model,
so the measures see the tracker and the pose model, not the detector. ``--chain default``
runs the synth preset's detector, pose model, correspondences and recovery instead (as
``posetool run``). Seeds 6000-6005: no shipped model was trained or validated on them, and the
tracker's options were tuned on seeds 5000-5013 (tests/test_track_trust.py), not on these. Figures pool the clips of a scene: re-entries and
swaps are summed, accelerations and AP averaged over clips.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
from pathlib import Path

from posetool.engine.presets import SYNTH

SCENES = ("reenter", "crossing", "turn", "run")
VARIANTS: dict[str, list[str]] = {
    "all off (`--smooth none`, the old default)": ["--smooth", "none", "--no-lr-repair", "--lr-consistency", "none", "--reid", "none"],
    "`--smooth offline`": ["--smooth", "offline", "--no-lr-repair", "--lr-consistency", "none", "--reid", "none"],
    "`--smooth online` (One-Euro)": ["--smooth", "online", "--no-lr-repair", "--lr-consistency", "none", "--reid", "none"],
    "`--smooth offline --lr-repair`": ["--smooth", "offline", "--lr-repair", "--lr-consistency", "none", "--reid", "none"],
    "`--smooth offline --reid appearance`": ["--smooth", "offline", "--no-lr-repair", "--lr-consistency", "none", "--reid", "appearance"],
    "`--smooth offline --lr-repair --reid appearance`": ["--smooth", "offline", "--lr-repair", "--lr-consistency", "none", "--reid", "appearance"],
    "`--smooth offline --reid features`": ["--smooth", "offline", "--no-lr-repair", "--lr-consistency", "none", "--reid", "features"],
    "`--smooth offline --lr-repair --reid features`": ["--smooth", "offline", "--lr-repair", "--lr-consistency", "none", "--reid", "features"],
    "`--smooth offline --smooth-fit 0` (fixed window)": ["--smooth", "offline", "--smooth-fit", "0", "--no-lr-repair", "--lr-consistency", "none",
                                                         "--reid", "none"],
    # left/right consistency (track --lr-consistency offline, the default since it was measured)
    "`--smooth offline --lr-consistency offline`": ["--smooth", "offline", "--no-lr-repair", "--lr-consistency", "offline",
                                                    "--reid", "none"],
    "`--smooth offline --lr-consistency offline --reid appearance` (the default until 2026-12-07 afternoon)": [
        "--smooth", "offline", "--no-lr-repair", "--lr-consistency", "offline", "--reid", "appearance"],
    "`--smooth none --lr-consistency offline`": ["--smooth", "none", "--no-lr-repair", "--lr-consistency", "offline",
                                                 "--reid", "none"],
    # the learned smoother (SmoothNet, track --smooth smoothnet)
    "`--smooth smoothnet --lr-consistency offline`": ["--smooth", "smoothnet", "--no-lr-repair", "--lr-consistency", "offline",
                                                      "--reid", "none"],
    "`--smooth smoothnet --lr-consistency offline --reid appearance`": [
        "--smooth", "smoothnet", "--no-lr-repair", "--lr-consistency", "offline", "--reid", "appearance"],
    # left/right consistency judged by acceleration (--lr-order 2), with a constant price or priced
    # by the pose model's lr_doubt; 14 spells the default out
    "`--smooth offline --lr-order 1 --lr-cost 0.1 --lr-doubt 0` (the default, spelt out)": [
        "--smooth", "offline", "--no-lr-repair", "--lr-consistency", "offline", "--lr-order", "1", "--lr-cost", "0.1",
        "--lr-doubt", "0", "--reid", "none"],
    "`--smooth offline --lr-order 2 --lr-cost 0.2`": [
        "--smooth", "offline", "--no-lr-repair", "--lr-consistency", "offline", "--lr-order", "2", "--lr-cost", "0.2",
        "--lr-doubt", "0", "--reid", "none"],
    "`--smooth offline --lr-order 2 --lr-doubt 0.1`": [
        "--smooth", "offline", "--no-lr-repair", "--lr-consistency", "offline", "--lr-order", "2", "--lr-cost", "0.2",
        "--lr-doubt", "0.1", "--reid", "none"],
    "`--smooth offline --lr-order 2 --lr-doubt 0.1 --reid appearance`": [
        "--smooth", "offline", "--no-lr-repair", "--lr-consistency", "offline", "--lr-order", "2", "--lr-cost", "0.2",
        "--lr-doubt", "0.1", "--reid", "appearance"],
    "`--smooth smoothnet --lr-order 2 --lr-doubt 0.1`": [
        "--smooth", "smoothnet", "--no-lr-repair", "--lr-consistency", "offline", "--lr-order", "2", "--lr-cost", "0.2",
        "--lr-doubt", "0.1", "--reid", "none"],
    "`--smooth smoothnet --lr-order 2 --lr-doubt 0.1 --reid appearance`": [
        "--smooth", "smoothnet", "--no-lr-repair", "--lr-consistency", "offline", "--lr-order", "2", "--lr-cost", "0.2",
        "--lr-doubt", "0.1", "--reid", "appearance"],
    # the learned left/right labeller (track --lr-consistency learned)
    "`--smooth offline --lr-consistency learned`": ["--smooth", "offline", "--no-lr-repair", "--lr-consistency", "learned",
                                                    "--reid", "none"],
    "`--smooth smoothnet --lr-consistency learned`": ["--smooth", "smoothnet", "--no-lr-repair", "--lr-consistency", "learned",
                                                      "--reid", "none"],
    "`--smooth smoothnet --lr-consistency learned --reid appearance`": [
        "--smooth", "smoothnet", "--no-lr-repair", "--lr-consistency", "learned", "--reid", "appearance"],
    # 22 spells out the default since 2026-12-07 evening (--lr-consistency auto = learned on COCO-17); it without smoothing
    "`--smooth none --lr-consistency learned --reid appearance`": [
        "--smooth", "none", "--no-lr-repair", "--lr-consistency", "learned", "--reid", "appearance"],
}
# extra `posetool track` options for every variant that uses the learned smoother (e.g. --smooth-weights FILE)
SMOOTHNET_EXTRA: list[str] = []
# extra `posetool track` options for every variant that uses the learned labeller (e.g. --lr-weights FILE)
LEARNED_EXTRA: list[str] = []


def sh(*args: str, stdout: Path | None = None) -> None:
    """Run a posetool command (printed first); stdout to a file when given."""
    cmd = ["posetool", *args]
    print("+ " + shlex.join(cmd) + (f" > {stdout}" if stdout else ""), flush=True)
    with open(stdout, "w") if stdout else open("/dev/null", "w") as out:
        subprocess.run(cmd, check=True, stdout=out if stdout else None)


def prepare(clip: Path, scene: str, seed: int, chain: str) -> Path:
    """Synth clip and its untracked 2D stream; returns the stream."""
    pre = clip / f"pre_{chain}.msgpack"
    if pre.exists():
        return pre
    if not (clip / "gt.jsonl").exists():
        sh("synth", str(clip), "--people", "3", "--frames", "375", "--seed", str(seed), "--scene", scene, "--quiet")
    det = clip / f"det_{chain}.msgpack"
    if chain == "gt":
        sh("detect", str(clip / "video.mp4"), "--model", "gt", "--gt", str(clip / "gt.jsonl"), "-o", str(det),
           "--quiet")
        sh("pose2d", str(det), "-o", str(pre), "--quiet")
    else:
        sh("detect", str(clip / "video.mp4"), "--model", SYNTH.detect, "-o", str(det), "--quiet")
        p2d, corr = clip / "p2d_default.msgpack", clip / "corr_default.msgpack"
        sh("pose2d", str(det), "-o", str(p2d), "--quiet")
        sh("correspond", str(p2d), "-o", str(corr), "--quiet")
        sh("recover", str(corr), "-o", str(pre), "--quiet")
    return pre


def measure(clip: Path, pre: Path, name: str, opts: list[str], lift: bool) -> dict:
    """Track with ``opts``; trust, keypoint AP and (with ``lift``) 3D figures of the result."""
    trk = clip / f"trk_{name}.msgpack"
    out = clip / f"trust_{name}.json"
    ap = clip / f"ap_{name}.json"
    if not (out.exists() and ap.exists()):  # a rerun reuses what an earlier run measured
        video = ["--video", str(clip / "video.mp4")] if "--reid" in opts else []
        extra = (SMOOTHNET_EXTRA if "smoothnet" in opts else []) + (LEARNED_EXTRA if "learned" in opts else [])
        sh("track", str(pre), "-o", str(trk), "--quiet", *opts, *extra, *video)
        sh("eval", "trust", str(trk), "--gt", str(clip / "gt.jsonl"), "--json", stdout=out)
        sh("eval", "pose", str(trk), "--gt", str(clip / "gt_coco.json"), "--json", "--quiet", stdout=ap)
    res = json.loads(out.read_text())
    res["ap"] = json.loads(ap.read_text())["stats"][0]
    if lift and not (clip / f"trust3d_{name}.json").exists():
        l3 = clip / f"l3_{name}.msgpack"
        # the chain's stream knows no camera: give lift3d the synth camera's height and pitch
        cam = json.loads((clip / "gt.jsonl").read_text().split("\n", 1)[0])["camera"]
        sh("lift3d", str(trk), "--camera-height", str(cam["height_m"]), "--camera-pitch", str(cam["pitch_deg"]),
           "-o", str(l3), "--quiet")
        sh("eval", "trust", str(l3), "--gt", str(clip / "gt.jsonl"), "--json", stdout=clip / f"trust3d_{name}.json")
    if lift:
        res["lift3d"] = json.loads((clip / f"trust3d_{name}.json").read_text())
    return res


def pooled(results: list[dict]) -> dict:
    """One scene's clips pooled (sums of counts, means of the per-clip means)."""
    def mean(get) -> float:
        vals = [v for v in (get(r) for r in results) if v is not None and v == v]
        return sum(vals) / len(vals) if vals else float("nan")

    items = [i for r in results for i in r["reentry"]["items"]]
    r25 = [i for i in items if 2 <= i["gap_s"] < 5]
    swaps = sum(r["lr"]["swaps"] for r in results)
    frames = sum(r["lr"]["person_frames"] for r in results)
    out = {
        "clips": len(results), "mota": mean(lambda r: r["mot"]["mota"]), "idf1": mean(lambda r: r["mot"]["idf1"]),
        "id_switches": sum(r["mot"]["id_switches"] for r in results),
        "reentries": len(items), "kept": sum(i["kept"] for i in items),
        "reentries_2_5": len(r25), "kept_2_5": sum(i["kept"] for i in r25),
        "swaps_per_1000": 1000 * swaps / frames if frames else float("nan"),
        "swapped_share": mean(lambda r: r["lr"]["swapped_share"]),
        "accel_error_px": mean(lambda r: r["jitter"]["accel_error_px"]), "ap": mean(lambda r: r["ap"]),
    }
    if all("lift3d" in r for r in results):
        out.update({
            "mpjpe_mm": mean(lambda r: r["lift3d"]["lift"]["mpjpe_mm"]),
            "root_error_mm": mean(lambda r: r["lift3d"]["lift"]["root_error_mm"]),
            "abs_mpjpe_mm": mean(lambda r: r["lift3d"]["lift"]["abs_mpjpe_mm"]),
            "accel_error_mm": mean(lambda r: r["lift3d"]["jitter"]["accel_error_mm"]),
        })
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="runs/trust")
    ap.add_argument("--chain", choices=("gt", "default"), default="gt")
    ap.add_argument("--variants", default=",".join(str(i) for i in range(len(VARIANTS))),
                    help="indices of the variants to run")
    ap.add_argument("--lift", default="0,1,5", help="indices of the variants also lifted to 3D")
    ap.add_argument("--seeds", default="6000,6001,6002", help="synth seeds of every scene (no model saw them)")
    ap.add_argument("--reenter-seeds", default="6003,6004,6005", help="more seeds of the reenter scene")
    ap.add_argument("--scenes", default=",".join(SCENES))
    ap.add_argument("--smooth-weights", help="weights file for the smoothnet variants (default: the shipped smoothnet_synth)")
    ap.add_argument("--smooth-extra", default="", help="more `posetool track` options for the smoothnet variants, e.g. '--smooth-max-move 0.05'")
    ap.add_argument("--lr-weights", help="weights file for the learned-labeller variants (default: the shipped leftright_synth)")
    ap.add_argument("--lr-extra", default="", help="more `posetool track` options for the learned-labeller variants, e.g. '--lr-motion 2'")
    ap.add_argument("--tag", default="", help="suffix of the result files (measure other weights without overwriting)")
    args = ap.parse_args()
    if args.smooth_weights:
        SMOOTHNET_EXTRA[:] = ["--smooth-weights", args.smooth_weights]
    SMOOTHNET_EXTRA.extend(shlex.split(args.smooth_extra))
    if args.lr_weights:
        LEARNED_EXTRA[:] = ["--lr-weights", args.lr_weights]
    LEARNED_EXTRA.extend(shlex.split(args.lr_extra))
    root = Path(args.out)
    names = list(VARIANTS)
    chosen = [names[int(i)] for i in args.variants.split(",") if i]
    lifted = {names[int(i)] for i in args.lift.split(",") if i}
    base = [int(s) for s in args.seeds.split(",") if s]
    seeds = {s: base + ([int(x) for x in args.reenter_seeds.split(",") if x] if s == "reenter" else [])
             for s in args.scenes.split(",")}
    table_file = root / f"table_{args.chain}{args.tag}.json"
    # a run of some variants or scenes adds to the table an earlier run wrote instead of replacing it
    table: dict[str, dict[str, dict]] = json.loads(table_file.read_text()) if table_file.exists() else {}
    for scene in seeds:
        for variant in chosen:
            key = f"v{names.index(variant)}"
            results = []
            for seed in seeds[scene]:
                clip = root / f"{scene}-{seed}"
                pre = prepare(clip, scene, seed, args.chain)
                results.append(measure(clip, pre, f"{args.chain}_{key}{args.tag}", VARIANTS[variant], variant in lifted))
            table.setdefault(variant, {})[scene] = pooled(results)
    table_file.write_text(json.dumps(table, indent=2))
    print(json.dumps(table, indent=2))


if __name__ == "__main__":
    sys.exit(main())
