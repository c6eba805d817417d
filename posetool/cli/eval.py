"""``posetool eval pose|boxes|track|mot|trust|lift|correspond``: the metrics the field trusts.

Each command prints a rich table on stdout, or JSON with ``--json``; logs go to stderr.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from posetool.cli.common import command
from posetool.cli.options import CorrBlurKernel, CorrDecode, CorrInputSize, Debug, Device, QueryOffset, Quiet, Video, Weights
from posetool.engine.presets import SYNTH
from posetool.errors import OptionError

app = typer.Typer(help="Evaluate predictions against ground truth (COCO mAP, PoseTrack, MOT, MPJPE).", no_args_is_help=True)

Pred = Annotated[str, typer.Argument(help="Predictions: a pose stream or the task's file format.")]
Gt = Annotated[str, typer.Option("--gt", help="Ground truth file or folder.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print the metrics as JSON on stdout.")]


def _emit_json(data: Any) -> None:
    from posetool.stream import to_plain  # numpy → lists, NaN → null

    typer.echo(json.dumps(to_plain(data), indent=2, allow_nan=False))


@app.command("pose")
@command("eval pose")
def pose(pred: Pred, gt: Gt, as_json: AsJson = False, quiet: Quiet = False, debug: Debug = False) -> None:
    """COCO keypoint AP/AR, all 10 stats (pycocotools COCOeval, iouType keypoints).

    PRED is a posetool stream or a COCO results JSON; GT a COCO keypoints JSON. Stream frame f
    is the GT image with frame_index f, else whose file name ends in f, else whose id is f + 1.
    """
    from posetool.eval.coco import evaluate_coco_keypoints, load_coco_predictions
    from posetool.eval.report import coco_table, print_tables

    result = evaluate_coco_keypoints(gt, load_coco_predictions(pred, gt))
    if as_json:
        _emit_json(result)
    else:
        print_tables(coco_table(result))


@app.command("boxes")
@command("eval boxes")
def boxes(pred: Pred, gt: Gt, as_json: AsJson = False, quiet: Quiet = False, debug: Debug = False) -> None:
    """COCO person-box AP/AR (pycocotools COCOeval, iouType bbox), e.g. for `posetool detect` output.

    PRED is a pose stream (instance boxes and scores) or a COCO box results JSON; GT a COCO JSON.
    """
    from posetool.eval.coco import evaluate_coco_boxes, load_coco_box_predictions
    from posetool.eval.report import box_table, print_tables

    result = evaluate_coco_boxes(gt, load_coco_box_predictions(pred, gt))
    if as_json:
        _emit_json(result)
    else:
        print_tables(box_table(result))


@app.command("track")
@command("eval track")
def track(
    pred: Pred,
    gt: Gt,
    as_json: AsJson = False,
    poseval_compat: Annotated[
        bool, typer.Option("--poseval-compat", help="Reproduce the official poseval's numbers, quirks included.")
    ] = False,
    kp_thr: Annotated[str, typer.Option("--kp-thr", help="Drop predicted keypoints with confidence <= this before AP and MOTA (as trackers report PoseTrack results): one value, or per joint as 0.4,left_wrist=0.6 (posetrack18 names). 0: keep all (poseval on the raw predictions).")] = "0",
    sweep_kp_thr: Annotated[str | None, typer.Option("--sweep-kp-thr", help="Evaluate each threshold of a grid (0,0.3,0.5 or start:stop:step) and name the one with the best MOTA: run it on validation sequences, then use --kp-thr with that value on test ones.")] = None,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """PoseTrack per-joint AP and MOTA/MOTP/precision/recall (poseval's rules).

    PRED and GT are PoseTrack18/17 JSON (a file, or a folder of one file per sequence) or pose
    streams. Without track ids in the predictions only AP is computed. ``--kp-thr T`` equals
    evaluating ``posetool export --to posetrack18 --kp-thr T`` with poseval.
    """
    from posetool import console
    from posetool.data.posetrack import drop_low_confidence, parse_kp_thresholds
    from posetool.skeletons import POSETRACK18
    from posetool.eval.posetrack import evaluate_posetrack, prepare_sequence
    from posetool.eval.posetrack_inputs import load_track_inputs
    from posetool.eval.report import posetrack_tables, print_tables

    thr = parse_kp_thresholds(kp_thr)
    if sweep_kp_thr is not None:
        if thr.any():
            raise OptionError("sweep_kp_thr", "and --kp-thr exclude each other (the sweep sets the threshold)")
        _sweep_track(pred, gt, sweep_kp_thr, poseval_compat, as_json)
        return
    pairs = load_track_inputs(pred, gt)
    seqs = [prepare_sequence(name, g, drop_low_confidence(p, thr)) for name, g, p in pairs]
    tracking = _all_tracked(pairs)
    if not tracking:
        console.warn("some predicted people have no track_id: computing AP only (run `posetool track` for MOTA)")
    result = evaluate_posetrack(seqs, tracking=tracking, compat=poseval_compat)
    cut = {name: float(t) for name, t in zip(POSETRACK18.keypoints, thr) if t > 0}  # the threshold, printed with the numbers
    if as_json:
        _emit_json({**result.to_dict(), "kp_thr": cut})
    else:
        if cut:
            console.info("keypoints dropped at confidence ≤ " + (f"{thr[0]:g}" if len(set(thr)) == 1 else
                         ", ".join(f"{k}={v:g}" for k, v in cut.items())))
        print_tables(*posetrack_tables(result))


def _all_tracked(pairs: list) -> bool:
    """Whether every predicted person of the (name, GT, prediction) pairs has a track id (MOTA needs them)."""
    return all(pe.track_id is not None for _, _, p in pairs for fr in p for pe in fr.people)


def _sweep_track(pred: str, gt: str, grid: str, compat: bool, as_json: bool) -> None:
    """``eval track --sweep-kp-thr``: AP and MOTA at each threshold, and the best-MOTA one."""
    from posetool import console
    from posetool.eval.kp_sweep import best_kp_threshold, parse_threshold_grid, sweep_kp_thresholds
    from posetool.eval.posetrack_inputs import load_track_inputs
    from posetool.eval.report import metric_table, print_tables

    thresholds = parse_threshold_grid(grid)
    pairs = load_track_inputs(pred, gt)
    if not _all_tracked(pairs):
        raise OptionError("sweep_kp_thr", "needs track ids in the predictions (run `posetool track` first): it chooses by MOTA")
    rows = sweep_kp_thresholds(pairs, thresholds, compat=compat)
    best = best_kp_threshold(rows)
    if as_json:
        _emit_json({"sweep": [vars(r) for r in rows], "best_kp_thr": best, "poseval_compat": compat})
        return
    print_tables(metric_table("PoseTrack totals by keypoint threshold (mean over 15 joints)", ["AP", "MOTA", "Prec", "Rec"],
                              [(f"{r.kp_thr:g}" + (" *" if r.kp_thr == best else ""), [r.ap, r.mota, r.precision, r.recall])
                               for r in rows]))
    console.info(f"best MOTA at --kp-thr {best:g} (*); choose it on validation sequences, report test ones with it")


@app.command("mot")
@command("eval mot")
def mot(
    pred: Pred,
    gt: Gt,
    as_json: AsJson = False,
    iou: Annotated[float, typer.Option("--iou", min=0.0, max=1.0, help="Minimum IoU of a match.")] = 0.5,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Box tracking metrics through py-motmetrics (MOTA, MOTP, IDF1, …) plus HOTA.

    PRED and GT are MOTChallenge txt files (or folders: GT SEQ/gt/gt.txt or SEQ/gt.txt, PRED SEQ.txt)
    or pose streams with boxes and track ids.
    """
    from posetool.eval.mot import evaluate_mot, load_mot_inputs
    from posetool.eval.report import mot_tables, print_tables

    result = evaluate_mot(load_mot_inputs(pred, gt), iou_threshold=iou)
    if as_json:
        _emit_json(result)
    else:
        print_tables(*mot_tables(result))


@app.command("trust")
@command("eval trust")
def trust(
    pred: Pred,
    gt: Gt,
    as_json: AsJson = False,
    iou: Annotated[float, typer.Option("--iou", min=0.0, max=1.0, help="Minimum box IoU of a GT/prediction pair.")] = 0.5,
    min_gap: Annotated[int, typer.Option("--min-gap", min=1, help="Frames a GT person must be unseen to count as a re-entry.")] = 10,
    lr_min_sep: Annotated[float, typer.Option("--lr-min-sep", min=0.0, help="GT left/right points closer than this × box height are not judged.")] = 0.1,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Identity kept across absences, left/right swaps, jitter (acceleration error), 3D root and
    absolute errors, next to MOTA and IDF1 (docs/eval.md).

    PRED is a tracked pose stream; GT a stream with exact ground truth (posetool synth's gt.jsonl).
    """
    from posetool.eval.report import print_tables
    from posetool.eval.trust import TrustOptions, evaluate_trust
    from posetool.eval.trust_report import trust_tables

    result = evaluate_trust(pred, gt, TrustOptions(iou=iou, min_gap=min_gap, lr_min_sep=lr_min_sep))
    if as_json:
        _emit_json(result)
    else:
        print_tables(*trust_tables(result))


@app.command("lift")
@command("eval lift")
def lift(pred: Pred, gt: Gt, as_json: AsJson = False, quiet: Quiet = False, debug: Debug = False) -> None:
    """MPJPE, P-MPJPE, N-MPJPE and mean velocity error in mm (VideoPose3D's protocol).

    PRED and GT are both VideoPose3D-format .npz files (positions_3d[subject][action]) or both
    pose streams with keypoints_3d.
    """
    from posetool.eval.lift import evaluate_lift_inputs
    from posetool.eval.report import lift_table, print_tables

    result = evaluate_lift_inputs(pred, gt)
    if as_json:
        _emit_json(result)
    else:
        print_tables(lift_table(result))


@app.command("correspond")
@command("eval correspond")
def correspond(
    inputs: Annotated[list[str], typer.Argument(help="posetool synth folders (gt.jsonl + video.mp4), or tracked pose streams of real video (pseudo ground truth: the stream's own keypoints, see --kp-thr).")],
    model: Annotated[str, typer.Option("--model", help="Correspondence model: a network, or lk / dis (optical flow).")] = SYNTH.correspond,
    step: Annotated[int, typer.Option("--step", min=1, help="Pair frame t-STEP with frame t.")] = 1,
    maps: Annotated[str, typer.Option("--maps", help="refined (what `correspond` writes) or affinity (the Siamese maps alone); networks only.")] = "refined",
    context: Annotated[float | None, typer.Option("--context", min=1.0, help="Person window side / longer box side (networks; default: the model's: correspond_real 1.25, others 2.0).")] = None,
    decode: CorrDecode = None,
    blur_kernel: CorrBlurKernel = None,
    query_offset: QueryOffset = None,
    input_size: CorrInputSize = None,
    pixels: Annotated[float, typer.Option("--pixels", min=0.0, help="Radius of the second accuracy, image px.")] = 5.0,
    kp_thr: Annotated[float, typer.Option("--kp-thr", min=0.0, max=1.0, help="Pose streams: a keypoint is pseudo ground truth where its confidence is >= this in both frames.")] = 0.5,
    video: Video = None,
    weights: Weights = None,
    device: Device = "auto",
    as_json: AsJson = False,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Correspondence accuracy: PCKh@0.5 and within --pixels px, next to the previous-position
    baseline, on synth sequences (exact ground truth) or on real video (pseudo ground truth).

    Synth folders: ground-truth keypoints of frame t-STEP visible in both frames are scored; head
    size is 0.6 x the head-box diagonal (PoseTrack's convention). Pose streams with track ids (e.g.
    `posetool run VIDEO`; video from the header or --video): the keypoints of frame t-STEP are
    queried and scored against the same track's keypoints in frame t where both have confidence
    >= --kp-thr; head size is 0.365 x the torso length (docs/correspond.md).
    """
    from posetool.correspond.backends import build_estimator, is_flow
    from posetool.correspond.evaluate import evaluate_inputs
    from posetool.correspond.infer import MAPS
    from posetool.errors import UsageError
    from posetool.eval.report import correspond_table, print_tables

    if maps not in MAPS:
        raise UsageError(f"--maps must be one of {', '.join(MAPS)}, got {maps!r}")
    est, _ = build_estimator(model, device=device, weights=weights, region="person", context=context, maps=maps,
                             decode=decode, blur_kernel=blur_kernel, query_offset=query_offset, input_size=input_size)
    result = evaluate_inputs(inputs, est, pixels=pixels, step=step, kp_thr=kp_thr, video=video)
    pseudo = any(not Path(p).is_dir() for p in inputs)
    result.update(step=step, pixels=pixels, model=model, maps=maps)
    if not is_flow(model):
        result.update(decode=est.decoding, blur_kernel=est.blur_kernel, query_offset=est.query_offset,
                      input_size=est.input_size)
    if pseudo:
        result["kp_thr"] = kp_thr
    if as_json:
        _emit_json(result)
    else:
        decoding = f"{est.decoding}{' + query offset' if est.query_offset else ''}" if not is_flow(model) else ""
        label = f"{model} (optical flow)" if is_flow(model) else f"{model} ({maps} maps, {decoding})"
        print_tables(correspond_table(result, label))


@app.command("align")
@command("eval align")
def align(
    takes: Annotated[list[str], typer.Argument(help="posetool synth --action folders (or their gt.jsonl), or folders of them, with known phase.")],
    model: Annotated[str, typer.Option("--model", help="Alignment embedder, or raw / raw3d: normalised 2D keypoints / lifted 3D joints in the performer's frame, without learning.")] = "align_any",
    labelled: Annotated[int, typer.Option("--labelled", min=0, help="Takes per action (the first ones given) labelled for the progression regressions and the classification SVM.")] = 2,
    dtw: Annotated[bool, typer.Option("--dtw/--no-dtw", help="Also align by DTW and report its phase error.")] = True,
    weights: Weights = None,
    device: Device = "auto",
    as_json: AsJson = False,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """TCC's measures on takes with known phase: Kendall's tau of the nearest-neighbour alignment,
    phase progression (R^2), phase classification accuracy with --labelled takes per action, and
    the phase error of the nearest-neighbour and DTW alignments, per action and overall.
    """
    from posetool.align.embedder import open_embedder
    from posetool.align.evaluate import evaluate_performances
    from posetool.align.sequences import load_performances
    from posetool.eval.align_report import align_table
    from posetool.eval.report import print_tables

    embedder = open_embedder(model, weights, device)
    perfs = load_performances(takes, embedder.dims)
    result = evaluate_performances(perfs, embedder, labelled=labelled, use_dtw=dtw)
    if as_json:
        _emit_json(result)
    else:
        print_tables(align_table(result))
