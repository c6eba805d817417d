"""Recovery on real video: drop the detector's people, run correspond + recover, count who comes back.

    python scripts/recovery_drop.py TRACKED_STREAM [--video V] [--models correspond_r18_synth,lk,dis]
        [--schemes random,runs[,none]] [--max-carry 0,5] [--fraction 0.2] [--seed 0] [--pose-model blazepose_full]
        [--device cpu] [--kp-thr 0.5] [--oks-thr 0.5] [--workdir DIR] [--json]

TRACKED_STREAM is a stream with ``track_id`` (``posetool run VIDEO --no-correspond --smooth none``: the
real preset without correspondences, so that no correspondence model made the tracks it is scored on);
its header names the video (``--video`` overrides). Procedure (docs/correspond.md, "Recovery on real video"):

1. **Ground truth** is the chain's own poses: per frame, the instances the detector found
   (``origin`` absent or ``detected``; interpolated and recovered people are not measurements) with a
   ``track_id``. A person-frame is *droppable* when the same track was detected in the previous frame
   (recovery needs the person in frame t−1: never a track's first frame or the first after a gap)
   and it has at least one keypoint with confidence ≥ ``--kp-thr``.
2. **Pre-correspond stream**: each frame's detected instances with only the fields ``detect`` and
   ``pose2d`` write (``bbox``, ``score``, ``box_score``, ``keypoints``); no ``track_id`` and nothing
   that ``track`` or ``lift3d`` added; the header keeps the source (the video) and only the
   ``detect`` / ``pose2d`` provenance entries, as ``posetool correspond`` sees it after ``pose2d``.
3. **Drop schemes** (seeded by ``--seed``), each until ``--fraction`` (20 %) of all person-frames:
   ``random`` drops droppable person-frames uniformly at random; ``runs`` drops whole runs of 3–5
   consecutive frames of one track (length uniform in 3..5, start uniform among the track's frames
   whose previous frame is detected and whose next L−1 frames are detected, never the track's first
   frame): passes over the tracks with ≥ 15 detected frames in random order, one run per track per
   pass, runs never overlapping or touching, until the target is reached (the last run may overshoot).
   ``none`` drops nobody: what recover adds to the chain's own stream (every recovered person there
   is either a person the chain missed or covers nobody), the baseline of the other two.
4. For each correspondence model: ``posetool correspond --model M`` on the dropped stream, then
   ``posetool recover --model POSE_MODEL`` (the real chain's pose model re-estimates) with the default
   thresholds and each ``--max-carry`` value (0: the authors' unlimited carrying).
5. **Counting**, per frame: the dropped poses and the instances with ``origin: "recovered"`` are
   matched one-to-one by the Hungarian method (maximum total OKS; COCO sigmas, the ground truth's box
   area, its keypoints with confidence ≥ ``--kp-thr``; ``posetool.pose2d.oks.oks_iou``); a
   dropped person *comes back* when its match has OKS ≥ ``--oks-thr`` (0.5). A recovered instance
   *covers nobody* when its OKS against every chain pose of its frame (dropped or kept) is < 0.5
   and, with ``--missed FILE``, its box overlaps (IoU ≥ 0.5) none of the hand-labelled people the chain
   did not find in that frame (tests/data/vtest_missed.txt: those count as "on people the chain missed");
   one covering a kept (not dropped) person is counted as a duplicate. "back %" is of the dropped,
   "nobody %" and "dup %" of the recovered instances (all frames).

Prints a markdown table (``--json``: the rows as JSON). Streams go to ``--workdir`` (a temporary
directory by default). Run on a 2-core machine with ``POSETOOL_THREADS=1``.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from posetool.detect.boxes import box_iou  # (N, 4) × (M, 4) → (N, M)

Record = dict[str, Any]
KEEP_FIELDS = ("bbox", "score", "box_score", "keypoints")
PRE_CORRESPOND_STAGES = ("detect", "pose2d")
MEASURED = (None, "detected")


# --- ground truth and dropping -------------------------------------------------------------------
def ground_truth(frames: list[Record]) -> dict[int, list[Record]]:
    """Frame number → the chain's detected instances with a track id (interpolated/recovered left out)."""
    gt: dict[int, list[Record]] = {}
    for rec in frames:
        gt[int(rec["frame"])] = [x for x in rec.get("instances") or []
                                 if x.get("origin") in MEASURED and x.get("track_id") is not None]
    return gt


def _confident(inst: Record, kp_thr: float) -> bool:
    kp = inst.get("keypoints")
    if not kp:
        return False
    c = np.array([np.nan if p is None or p[2] is None else p[2] for p in kp], dtype=np.float64)
    return bool((np.nan_to_num(c) >= kp_thr).any())


def track_frames(gt: dict[int, list[Record]]) -> dict[Any, list[int]]:
    """Track id → its sorted detected frames."""
    out: dict[Any, list[int]] = {}
    for f in sorted(gt):
        for x in gt[f]:
            out.setdefault(x["track_id"], []).append(f)
    return out


def droppable(gt: dict[int, list[Record]], kp_thr: float = 0.5) -> list[tuple[int, Any]]:
    """(frame, track id) pairs that may be dropped: the track was detected in frame − 1."""
    present = {(f, x["track_id"]) for f, xs in gt.items() for x in xs}
    return sorted(((f, x["track_id"]) for f, xs in gt.items() for x in xs
                   if (f - 1, x["track_id"]) in present and _confident(x, kp_thr)), key=lambda p: (p[0], str(p[1])))


def drop_random(gt: dict[int, list[Record]], fraction: float, seed: int, kp_thr: float = 0.5) -> set[tuple[int, Any]]:
    """``fraction`` of all person-frames, drawn uniformly from the droppable ones."""
    cand = droppable(gt, kp_thr)
    total = sum(len(xs) for xs in gt.values())
    n = min(len(cand), int(round(fraction * total)))
    rng = np.random.default_rng(seed)
    return {cand[i] for i in rng.choice(len(cand), size=n, replace=False)}


def drop_runs(gt: dict[int, list[Record]], fraction: float, seed: int, kp_thr: float = 0.5, min_track: int = 15,
              lengths: tuple[int, int] = (3, 5), max_passes: int = 50) -> set[tuple[int, Any]]:
    """Runs of 3–5 consecutive frames of tracks with ≥ ``min_track`` frames until ``fraction`` of person-frames."""
    ok = set(droppable(gt, kp_thr))
    present = {(f, x["track_id"]) for f, xs in gt.items() for x in xs}
    total = sum(len(xs) for xs in gt.values())
    target = int(round(fraction * total))
    tracks = {t: fs for t, fs in track_frames(gt).items() if len(fs) >= min_track}
    order = sorted(tracks, key=str)
    rng = np.random.default_rng(seed)
    dropped: set[tuple[int, Any]] = set()
    for _ in range(max_passes):
        if len(dropped) >= target:
            break
        grew = False
        for i in rng.permutation(len(order)):
            if len(dropped) >= target:
                break
            t = order[int(i)]
            length = int(rng.integers(lengths[0], lengths[1] + 1))
            starts = [f for f in tracks[t]
                      if all((g, t) in ok and (g, t) not in dropped for g in range(f, f + length))
                      and (f - 1, t) not in dropped and (f + length, t) not in dropped]
            starts = [f for f in starts if (f - 1, t) in present]
            if not starts:
                continue
            f0 = starts[int(rng.integers(len(starts)))]
            dropped |= {(g, t) for g in range(f0, f0 + length)}
            grew = True
        if not grew:
            break
    return dropped


def pre_correspond(header: Record, frames: list[Record], dropped: set[tuple[int, Any]]) -> tuple[Record, list[Record]]:
    """The stream ``correspond`` would read after ``pose2d``, without the dropped people."""
    h = {k: v for k, v in header.items() if k not in ("stages", "skeleton_3d")}
    h["stages"] = [s for s in header.get("stages") or [] if s.get("stage") in PRE_CORRESPOND_STAGES]
    out = []
    for rec in frames:
        f = int(rec["frame"])
        insts = [{k: x[k] for k in KEEP_FIELDS if k in x} for x in rec.get("instances") or []
                 if x.get("origin") in MEASURED and (f, x.get("track_id")) not in dropped]
        out.append({"type": "frame", "frame": f, "t": rec.get("t"), "instances": insts})
    return h, out


# --- counting ------------------------------------------------------------------------------------
def _points(inst: Record) -> np.ndarray:
    from posetool.stream.encoding import points_array

    return points_array(inst["keypoints"])


def _box_area(inst: Record) -> float:
    b = inst["bbox"]
    return max(1.0, float((b[2] - b[0]) * (b[3] - b[1])))


def oks_gt(gt: Record, preds: list[Record], kp_thr: float = 0.5) -> np.ndarray:
    """(M,) OKS of predicted instances against one ground-truth instance: COCO sigmas, the ground
    truth's box area, its keypoints with confidence ≥ ``kp_thr`` (every predicted keypoint counts)."""
    from posetool.pose2d.oks import oks_iou

    if not preds:
        return np.zeros(0)
    g = _points(gt).copy()
    vis = np.isfinite(g).all(1) & (np.nan_to_num(g[:, 2]) >= kp_thr)
    g[~vis] = (0.0, 0.0, 0.0)
    g[vis, 2] = 1.0
    d = np.stack([_points(p) for p in preds]).copy()
    bad = ~np.isfinite(d[..., :2]).all(-1)
    d[..., 2] = 1.0
    d[bad] = (-1e6, -1e6, 1.0)
    area = _box_area(gt)
    return oks_iou(g, d, area, np.full(len(preds), area), in_vis_thre=0.5)


def read_missed(path: str | None) -> dict[int, list[list[float]]]:
    """Frame → hand-labelled boxes of people the chain did not find (``frame x1 y1 x2 y2`` per line, ``#``
    comments; tests/data/vtest_missed.txt)."""
    out: dict[int, list[list[float]]] = {}
    if not path:
        return out
    try:
        for n, line in enumerate(Path(path).read_text().splitlines(), 1):
            fields = line.split("#", 1)[0].split()
            if fields:
                if len(fields) != 5:
                    raise ValueError(f"line {n}: expected frame x1 y1 x2 y2")
                out.setdefault(int(fields[0]), []).append([float(v) for v in fields[1:5]])
    except (OSError, ValueError) as exc:
        raise SystemExit(f"recovery_drop: --missed {path}: {exc}") from None
    return out


def count_frame(dropped: list[Record], kept: list[Record], recovered: list[Record], kp_thr: float = 0.5,
                oks_thr: float = 0.5, missed: list[list[float]] | None = None) -> dict[str, int]:
    """Counts of one frame: dropped, back (Hungarian on OKS, ≥ ``oks_thr``), recovered, covering
    nobody (best OKS against every chain pose < ``oks_thr``, and no box of ``missed`` — people the chain
    did not find, labelled by hand — overlapping with IoU ≥ 0.5), on a missed person (``missed_found``),
    duplicates (best on a kept person)."""
    from scipy.optimize import linear_sum_assignment

    back = 0
    if dropped and recovered:
        m = np.stack([oks_gt(g, recovered, kp_thr) for g in dropped])
        rows, cols = linear_sum_assignment(-m)
        back = int((m[rows, cols] >= oks_thr).sum())
    nobody = dup = found = 0
    people = dropped + kept
    for r in recovered:
        s = np.array([oks_gt(g, [r], kp_thr)[0] for g in people]) if people else np.zeros(0)
        if not len(s) or s.max() < oks_thr:
            if r.get("bbox") is not None and missed and box_iou(r["bbox"], missed).max() >= 0.5:
                found += 1
            else:
                nobody += 1
        elif int(s.argmax()) >= len(dropped):
            dup += 1
    return {"dropped": len(dropped), "back": back, "recovered": len(recovered), "nobody": nobody, "dup": dup,
            "missed_found": found}


def count(gt: dict[int, list[Record]], dropped: set[tuple[int, Any]], out_frames: list[Record], kp_thr: float = 0.5,
          oks_thr: float = 0.5, missed: dict[int, list[list[float]]] | None = None) -> dict[str, Any]:
    """Totals over a recovered stream (see :func:`count_frame`), with back %, nobody %, dup %."""
    tot = {"dropped": 0, "back": 0, "recovered": 0, "nobody": 0, "dup": 0, "missed_found": 0}
    for rec in out_frames:
        f = int(rec["frame"])
        people = gt.get(f, [])
        d = [x for x in people if (f, x["track_id"]) in dropped]
        k = [x for x in people if (f, x["track_id"]) not in dropped]
        r = [x for x in rec.get("instances") or [] if x.get("origin") == "recovered" and x.get("keypoints")]
        for key, v in count_frame(d, k, r, kp_thr, oks_thr, (missed or {}).get(f)).items():
            tot[key] += v
    tot["back_pct"] = 100.0 * tot["back"] / max(1, tot["dropped"])
    tot["nobody_pct"] = 100.0 * tot["nobody"] / max(1, tot["recovered"])
    tot["dup_pct"] = 100.0 * tot["dup"] / max(1, tot["recovered"])
    return tot


# --- the runs ------------------------------------------------------------------------------------
def _frames_of(records: list[Record]) -> tuple[Record, list[Record]]:
    header = next(r for r in records if r.get("type") == "header")
    return header, [r for r in records if r.get("type") == "frame"]


def write(path: Path, header: Record, frames: list[Record]) -> None:
    from posetool.stream import StreamWriter

    with StreamWriter(str(path), "msgpack") as w:
        w.write(header)
        for rec in frames:
            w.write(rec)
        w.write_end()


def posetool(*args: str) -> None:
    cmd = [sys.executable, "-m", "posetool", *args, "-q"]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({res.returncode}):\n{res.stderr}")


def measure(stream: str, models: list[str], schemes: list[str], carries: list[int], fraction: float, seed: int,
            pose_model: str, device: str, kp_thr: float, oks_thr: float, workdir: Path,
            video: str | None = None, recover_args: list[str] | None = None,
            missed: dict[int, list[list[float]]] | None = None) -> list[dict[str, Any]]:
    from posetool.stream import read_stream

    header, frames = _frames_of(read_stream(stream))
    if video:
        header = {**header, "source": {**(header.get("source") or {}), "path": video}}
    gt = ground_truth(frames)
    total = sum(len(xs) for xs in gt.values())
    makers = {"random": drop_random, "runs": drop_runs, "none": lambda *a: set()}
    rows = []
    for scheme in schemes:
        dropped = makers[scheme](gt, fraction, seed, kp_thr)
        h, fr = pre_correspond(header, frames, dropped)
        base = workdir / f"drop_{scheme}.msgpack"
        write(base, h, fr)
        print(f"{scheme}: dropped {len(dropped)} of {total} person-frames", file=sys.stderr)
        for model in models:
            corr = workdir / f"corr_{scheme}_{model}.msgpack"
            posetool("correspond", str(base), "--model", model, "--device", device, "-o", str(corr))
            for carry in carries:
                rec = workdir / f"rec_{scheme}_{model}_{carry}.msgpack"
                posetool("recover", str(corr), "--model", pose_model, "--device", device, "--max-carry", str(carry),
                         *(recover_args or []), "-o", str(rec))
                _, out = _frames_of(read_stream(str(rec)))
                row = {"model": model, "scheme": scheme, "max_carry": carry, "person_frames": total,
                       **count(gt, dropped, out, kp_thr, oks_thr, missed)}
                print(json.dumps(row), file=sys.stderr)
                rows.append(row)
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    lines = ["| model | scheme | max-carry | dropped | back | back % | recovered | on people the chain missed "
             "| covering nobody | nobody % | on kept people | dup % |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        carry = r["max_carry"] or "0 (no cap)"
        lines.append(f"| `{r['model']}` | {r['scheme']} | {carry} | {r['dropped']} | {r['back']} "
                     f"| {r['back_pct']:.1f} | {r['recovered']} | {r.get('missed_found', 0)} | {r['nobody']} "
                     f"| {r['nobody_pct']:.1f} | {r['dup']} | {r['dup_pct']:.1f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("stream", help="tracked stream of the real chain (posetool run VIDEO --no-correspond --smooth none)")
    ap.add_argument("--video", default=None, help="video instead of the header's source")
    ap.add_argument("--models", default="correspond_r18_synth,lk,dis")
    ap.add_argument("--schemes", default="random,runs")
    ap.add_argument("--max-carry", default="0,5", help="comma-separated --max-carry values for recover")
    ap.add_argument("--fraction", type=float, default=0.2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--pose-model", default="blazepose_full")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--kp-thr", type=float, default=0.5)
    ap.add_argument("--oks-thr", type=float, default=0.5)
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--recover-args", default="", help="more options for recover, e.g. \"--joint-thr 0.5\"")
    ap.add_argument("--missed", default=None, help="hand-labelled boxes of people the chain did not find "
                    "(frame x1 y1 x2 y2 per line; tests/data/vtest_missed.txt for vtest frames 0-149): a recovered "
                    "pose on one of them covers somebody")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    split = lambda s: [x for x in s.split(",") if x]  # noqa: E731
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(a.workdir or tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        rows = measure(a.stream, split(a.models), split(a.schemes), [int(c) for c in split(a.max_carry)], a.fraction,
                       a.seed, a.pose_model, a.device, a.kp_thr, a.oks_thr, workdir, a.video, shlex.split(a.recover_args),
                       read_missed(a.missed))
    print(json.dumps(rows, indent=1) if a.json else table(rows))


if __name__ == "__main__":
    os.environ.setdefault("POSETOOL_THREADS", "1")
    main()
