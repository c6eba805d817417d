"""``posetool demo``: a synthetic clip through the whole chain, evaluated against its ground truth.

Everything it needs ships with posetool (the synth world and the synth-trained models), so it
runs on a fresh machine with no downloads. The clip uses a seed that no shipped model trained on.
"""

from __future__ import annotations

import contextlib
import io
import os
from dataclasses import dataclass
from typing import Any

from posetool import console

DEMO_SEED = 7200  # held out: no shipped model trained or was validated on it (docs/synth.md lists the seeds in use)
# Keypoints at or under this confidence are dropped before PoseTrack mAP/MOTA, as trackers report
# them. Chosen on validation seeds 2950-2952 (never the demo clip) by
# `python scripts/choose_kp_thr.py --seeds 2950 2951 2952`: the best MOTA of a 0.05 grid with the
# synth preset's models (centernet_r18_synth_ft, simplebaseline_r18_synth_ft); rerun it when a
# preset model changes. 2026-12-07, with DARK decoding and left/right consistency: 0.55 (validation
# MOTA 63.0, mAP 74.5; 0.5: 62.8, 75.5). Before them: 0.5. Re-chosen the same evening with the learned
# left/right labeller the default (--lr-consistency auto): 0.55 again (validation MOTA 63.0, mAP 74.0;
# 0.5: 62.9, 74.8); and with --lr-motion 16 the default: 0.55 (MOTA 63.2, mAP 74.1; 0.5: 63.1, 75.0).
DEMO_KP_THR = 0.55


@dataclass
class DemoOptions:
    out: str = "posetool_demo"
    people: int = 4
    frames: int = 75
    width: int = 640
    height: int = 480
    seed: int = DEMO_SEED
    kp_thr: float = DEMO_KP_THR
    render: bool = True
    correspond: bool = True
    device: str = "auto"


def _quietly(fn, *args: Any) -> Any:
    """Run an evaluator without its own chatter (pycocotools prints to stdout/stderr)."""
    was = console.is_quiet()
    console.set_quiet(True)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            return fn(*args)
    finally:
        console.set_quiet(was)


def evaluate_demo(out: str, stream: str, kp_thr: float = DEMO_KP_THR) -> dict[str, float | None]:
    """Box AP, keypoint AP, PoseTrack mAP and MOTA (keypoints ≤ ``kp_thr`` dropped), box MOTA, IDF1,
    ID switches, MPJPE and P-MPJPE of ``stream`` against ``out``'s ground truth."""
    from posetool.eval.coco import evaluate_coco_boxes, evaluate_coco_keypoints, load_coco_box_predictions, load_coco_predictions
    from posetool.eval.kp_sweep import sweep_kp_thresholds
    from posetool.eval.lift import evaluate_lift_inputs
    from posetool.eval.mot import evaluate_mot, load_mot_inputs
    from posetool.eval.posetrack_inputs import load_track_inputs

    coco = os.path.join(out, "gt_coco.json")
    boxes = _quietly(lambda: evaluate_coco_boxes(coco, load_coco_box_predictions(stream, coco)))
    kps = _quietly(lambda: evaluate_coco_keypoints(coco, load_coco_predictions(stream, coco)))
    posetrack = _quietly(lambda: sweep_kp_thresholds(load_track_inputs(stream, os.path.join(out, "gt_posetrack18.json")), [kp_thr]))[0]
    mot = _quietly(lambda: evaluate_mot(load_mot_inputs(stream, os.path.join(out, "gt_mot.txt"))))["overall"]
    lift = _quietly(lambda: evaluate_lift_inputs(stream, os.path.join(out, "gt.jsonl")))["average"]
    return {
        "box AP": 100 * boxes["stats"][0], "keypoint AP": 100 * kps["stats"][0], "keypoint AP50": 100 * kps["stats"][1],
        "PoseTrack mAP": posetrack.ap, "PoseTrack MOTA": posetrack.mota,
        "box MOTA": 100 * mot["mota"], "box IDF1": 100 * mot["idf1"], "ID switches": mot["num_switches"],
        "MPJPE (mm)": lift["mpjpe"], "P-MPJPE (mm)": lift["p_mpjpe"],
    }


def run_demo(o: DemoOptions) -> dict[str, Any]:
    """Generate, run, evaluate, render; returns the metrics and the paths written."""
    from posetool.engine.presets import SYNTH
    from posetool.engine.run import ChainOptions, run_video
    from posetool.stream import StreamWriter
    from posetool.synth import SynthConfig, generate

    os.makedirs(o.out, exist_ok=True)
    console.info(f"demo: rendering a synthetic clip ({o.people} people, {o.frames} frames, seed {o.seed}) in {o.out}/")
    generate(o.out, SynthConfig(people=o.people, frames=o.frames, width=o.width, height=o.height, seed=o.seed))
    video = os.path.join(o.out, "video.mp4")
    stream = os.path.join(o.out, "poses.msgpack")
    chain = ChainOptions(correspond_model=SYNTH.correspond if o.correspond else None, device=o.device)
    console.info("demo: detect → pose2d → " + ("correspond → recover → " if o.correspond else "") + "track → lift3d")
    clock = run_video(video, lambda: StreamWriter(stream, "msgpack"), chain)
    metrics = evaluate_demo(o.out, stream, o.kp_thr)
    paths = {"video": video, "stream": stream}
    if o.render:
        from posetool.render.overlay import OverlayStyle
        from posetool.render.video import render_stream
        from posetool.stream import StreamReader
        from posetool.video.sources import open_video

        overlay = os.path.join(o.out, "overlay.mp4")
        with open_video(video) as src:
            render_stream(StreamReader(stream), src, overlay, OverlayStyle(boxes=True))
        paths["overlay"] = overlay
    return {"metrics": metrics, "paths": paths, "timing": clock.exclusive(), "kp_thr": o.kp_thr, "seed": o.seed}


def print_demo(result: dict[str, Any]) -> None:
    """One rich table of the metrics (stdout) and where the files are."""
    from rich.table import Table

    from posetool.tables import print_fitted, stdout_console

    out = stdout_console()
    title = "posetool demo: synth clip, held-out seed"
    # As wide as its title (when the terminal allows), so the title stays on one line.
    table = Table(title=title, title_justify="left", min_width=min(len(title), out.width))
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in result["metrics"].items():
        table.add_row(name, "–" if value is None else (f"{value:.0f}" if name == "ID switches" else f"{value:.1f}"))
    print_fitted(table, console=out)
    out.print(f"PoseTrack numbers after dropping keypoints of confidence ≤ {result['kp_thr']:g} "
              "(chosen on validation seeds, never this clip)", markup=False, overflow="fold")
    for name, path in result["paths"].items():
        out.print(f"{name}: {path}", markup=False, overflow="fold")
