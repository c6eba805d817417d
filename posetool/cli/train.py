"""``posetool train STAGE``: train one stage's model (detect, pose2d, correspond, lift3d)."""

from __future__ import annotations

from typing import Annotated

import typer

from posetool.cli.common import command
from posetool.cli.options import BatchSize, Debug, Device, Quiet
from posetool.engine.presets import SYNTH

app = typer.Typer(help="Train a stage's model. Checkpoints every epoch; --resume continues exactly.", no_args_is_help=True)

Data = Annotated[list[str], typer.Argument(help="Training data: synth output folders or COCO-style datasets.")]
OutDir = Annotated[str, typer.Option("--out", "-o", help="Run folder for checkpoints and logs.")]
Epochs = Annotated[int, typer.Option("--epochs", min=1, help="Number of epochs.")]
Resume = Annotated[str | None, typer.Option("--resume", help="Checkpoint to continue from.")]
Seed = Annotated[int, typer.Option("--seed", help="Random seed.")]
Workers = Annotated[int, typer.Option("--workers", min=0, help="Data-loading worker processes.")]
Threads = Annotated[int | None, typer.Option("--threads", min=1, help="CPU threads for torch.")]

# --- pose2d (issue 6) ------------------------------------------------------------------------
@app.command("pose2d", help="Train a top-down heatmap model (SimpleBaselines / HRNet) on synth folders or COCO keypoint files.")
@command("train pose2d")
def train_pose2d(
    data: Data,
    out: OutDir = "runs/pose2d",
    model: Annotated[str, typer.Option("--model", help="Registered pose2d architecture (posetool weights list).")] = SYNTH.pose,
    val: Annotated[list[str] | None, typer.Option("--val", help="Validation dataset (repeatable); COCO AP with GT boxes each epoch.")] = None,
    epochs: Epochs = 10,
    batch_size: BatchSize = 32,
    lr: Annotated[float, typer.Option("--lr", min=0.0, help="Adam learning rate.")] = 1e-3,
    lr_steps: Annotated[str | None, typer.Option("--lr-steps", help="Epochs of the x0.1 steps, e.g. 170,200 (default: 170/210 and 200/210 of --epochs).")] = None,
    sigma: Annotated[float | None, typer.Option("--sigma", min=0.5, help="Heatmap Gaussian sigma (default 2 at 64x48, 3 at 96x72).")] = None,
    scale_factor: Annotated[float, typer.Option("--scale-factor", min=0.0, max=0.9, help="Scale augmentation.")] = 0.35,
    rot_factor: Annotated[float, typer.Option("--rot-factor", min=0.0, help="Rotation augmentation (degrees; p=0.6).")] = 45.0,
    half_body: Annotated[float, typer.Option("--half-body", min=0.0, max=1.0, help="Half-body augmentation probability.")] = 0.3,
    flip: Annotated[bool, typer.Option("--flip/--no-flip", help="Horizontal flip augmentation.")] = True,
    init: Annotated[str | None, typer.Option("--init", help="Weights to start from (e.g. an official checkpoint).")] = None,
    half: Annotated[bool, typer.Option("--half", help="Store exported weights in float16.")] = False,
    workers: Workers = 0,
    threads: Threads = None,
    resume: Resume = None,
    seed: Seed = 0,
    device: Device = "auto",
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    from posetool.errors import UsageError
    from posetool.pose2d.train import Pose2DTrainConfig, train_pose2d as run

    try:
        steps = [int(s) for s in lr_steps.split(",") if s.strip()] if lr_steps else None
    except ValueError:
        raise UsageError(f"--lr-steps must be comma-separated epochs, got {lr_steps!r}") from None
    cfg = Pose2DTrainConfig(
        data=list(data), val=list(val or []), out=out, model=model, epochs=epochs, batch_size=batch_size, lr=lr,
        lr_steps=steps, seed=seed, device=device, workers=workers, sigma=sigma, scale_factor=scale_factor,
        rot_factor=rot_factor, prob_half_body=half_body, flip=flip, init=init, half=half, threads=threads,
    )
    run(cfg, resume=resume)


# --- lift3d (issue 5) ------------------------------------------------------------------------
@app.command(
    "lift3d",
    help="Train the VideoPose3D lifter (paper recipe) on VideoPose3D .npz files (Human3.6M as is) or synth folders; "
    "add unlabelled 2D streams or subjects for semi-supervised training.",
)
@command("train lift3d")
def train_lift3d(
    data: Annotated[list[str], typer.Argument(help="synth folders (gt_videopose3d.npz) or VideoPose3D .npz files (3D + 2D).")],
    out: OutDir = "runs/lift3d",
    valid: Annotated[list[str] | None, typer.Option("--valid", help="Held-out data (repeatable), evaluated every epoch.")] = None,
    unlabeled: Annotated[list[str] | None, typer.Option("--unlabeled", help="Tracked 2D pose stream without 3D (repeatable): semi-supervised.")] = None,
    keypoints: Annotated[str | None, typer.Option("--keypoints", "-k", help="2D to train and validate on: a pose stream file name inside each synth folder (detect --model gt | pose2d), as VideoPose3D trains on CPN detections; default: the synth ground-truth 2D.")] = None,
    subjects_train: Annotated[str | None, typer.Option("--subjects-train", help="Training subjects, e.g. S1,S5,S6,S7,S8 (default: all).")] = None,
    subjects_test: Annotated[str | None, typer.Option("--subjects-test", help="Validation subjects, e.g. S9,S11.")] = None,
    subjects_unlabeled: Annotated[str | None, typer.Option("--subjects-unlabeled", help="Subjects used without 3D (semi-supervised).")] = None,
    epochs: Epochs = 60,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Output frames per batch.")] = 1024,
    lr: Annotated[float, typer.Option("--lr", min=0.0, help="Initial learning rate (Adam, amsgrad).")] = 1e-3,
    lr_decay: Annotated[float, typer.Option("--lr-decay", min=0.0, help="Learning-rate factor per epoch.")] = 0.95,
    arch: Annotated[str, typer.Option("--arch", help="Filter widths, e.g. 3,3,3,3,3 (receptive field = product).")] = "3,3,3",
    channels: Annotated[int, typer.Option("--channels", min=1, help="Convolution channels.")] = 1024,
    dropout: Annotated[float, typer.Option("--dropout", min=0.0, max=1.0, help="Dropout probability.")] = 0.25,
    causal: Annotated[bool, typer.Option("--causal", help="Causal convolutions (online lifting).")] = False,
    stride: Annotated[int, typer.Option("--stride", min=1, help="Output frames per training chunk (1: strided 1-frame model).")] = 1,
    augment: Annotated[bool, typer.Option("--augment/--no-augment", help="Train-time flip augmentation.")] = True,
    noise_2d: Annotated[str, typer.Option("--noise-2d", help="Beyond the paper: Gaussian scatter added to the training 2D, std in person heights (e.g. 0.03, or one comma-separated value per input joint), so a lifter trained on exact 2D copes with detections.")] = "0",
    noise_2d_frames: Annotated[float, typer.Option("--noise-2d-frames", min=0.0, help="Beyond the paper: temporal correlation of --noise-2d, the sigma in frames of a Gaussian kernel along time (0: independent frames; 1.8 matches the synth chain's tracked 2D).")] = 0.0,
    outliers_2d: Annotated[float, typer.Option("--outliers-2d", min=0.0, max=1.0, help="Beyond the paper: chance per chunk and joint of a run of frames with the joint 0.1-0.5 person heights off.")] = 0.0,
    clamp_2d: Annotated[bool, typer.Option("--clamp-2d", help="Beyond the paper: training 2D joints outside the frame are put on its border, as a top-down pose model places joints it cannot see.")] = False,
    rescale_2d: Annotated[str | None, typer.Option("--rescale-2d", help="Beyond the paper: range LOW,HIGH (e.g. 0.5,2); each training chunk's person moved to 1/s of its depth, s log-uniform in the range (2D scaled by s about the root, trajectory target divided by s), so body size is not read from size in the frame.")] = None,
    trajectory: Annotated[bool, typer.Option("--trajectory", help="Also train the trajectory model (always on when semi-supervised).")] = False,
    warmup: Annotated[int, typer.Option("--warmup", min=0, help="Supervised-only epochs before the semi-supervised terms.")] = 1,
    bone_length: Annotated[bool, typer.Option("--bone-length/--no-bone-length", help="Semi-supervised bone-length term.")] = True,
    projection: Annotated[bool, typer.Option("--projection/--no-projection", help="Semi-supervised 2D reprojection loss.")] = True,
    linear_projection: Annotated[bool, typer.Option("--linear-projection", help="Project without lens distortion.")] = False,
    in_skeleton: Annotated[str | None, typer.Option("--in-skeleton", help="2D layout when the data does not say (default from metadata).")] = None,
    resume: Resume = None,
    seed: Seed = 0,
    device: Device = "auto",
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    from posetool.lift3d.train import Lift3dConfig, train_lift3d as run

    cfg = Lift3dConfig(
        data=list(data), out=out, valid=list(valid or []), unlabeled=list(unlabeled or []), keypoints=keypoints, subjects_train=subjects_train,
        subjects_test=subjects_test, subjects_unlabeled=subjects_unlabeled, epochs=epochs, batch_size=batch_size, lr=lr,
        lr_decay=lr_decay, architecture=arch, channels=channels, dropout=dropout, causal=causal, stride=stride,
        augment=augment, noise_2d=_scatter(noise_2d), noise_2d_frames=noise_2d_frames, outliers_2d=outliers_2d, clamp_2d=clamp_2d,
        rescale_2d=_pair(rescale_2d, "--rescale-2d") if rescale_2d else (1.0, 1.0), trajectory=trajectory, warmup=warmup, bone_length=bone_length, projection=projection,
        linear_projection=linear_projection, in_skeleton=in_skeleton, seed=seed, device=device, resume=resume,
    )
    run(cfg)


# --- detect (issue 7) ------------------------------------------------------------------------
@app.command("detect", help="Train the CenterNet person detector on synth folders or COCO-format box datasets.")
@command("train detect")
def train_detect(
    data: Data,
    out: OutDir = "runs/detect",
    model: Annotated[str, typer.Option("--model", help="Registered CenterNet detector (posetool weights list --task detect).")] = SYNTH.detect,
    val: Annotated[list[str] | None, typer.Option("--val", help="Validation dataset (repeatable); box AP each epoch.")] = None,
    epochs: Epochs = 12,
    batch_size: BatchSize = 16,
    lr: Annotated[float, typer.Option("--lr", min=0.0, help="Adam learning rate (x0.1 at 70 % and 90 % of the run).")] = 5e-4,
    half: Annotated[bool, typer.Option("--half/--no-half", help="Store exported weights in float16.")] = True,
    workers: Workers = 0,
    threads: Threads = None,
    stop_after: Annotated[int | None, typer.Option("--stop-after", min=1, help="End this run after N epochs of the schedule (continue with --resume).")] = None,
    init: Annotated[str | None, typer.Option("--init", help="Start from these weights: a file, or a registered detector's name (centernet_r18_synth) to fine-tune it.")] = None,
    resume: Resume = None,
    seed: Seed = 0,
    device: Device = "auto",
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    from posetool.detect.train import DetectTrainConfig, train_detect as run

    cfg = DetectTrainConfig(data=list(data), val=list(val or []), out=out, model=model, epochs=epochs,
                            batch_size=batch_size, lr=lr, seed=seed, device=device, workers=workers, half=half,
                            threads=threads or 0, stop_after=stop_after, init=init)
    run(cfg, resume=resume)


# --- correspond (issue 9) ----------------------------------------------------------------------
def _floats(text: str, name: str, what: str = "comma-separated numbers") -> tuple[float, ...]:
    """The comma-separated numbers of option ``name`` (``what`` names them in the error)."""
    from posetool.errors import UsageError

    try:
        return tuple(float(v) for v in text.split(","))
    except ValueError:
        raise UsageError(f"{name} must be {what}, got {text!r}") from None


def _scatter(text: str) -> float | tuple[float, ...]:
    """--noise-2d: one standard deviation, or one per input joint."""
    from posetool.errors import UsageError

    values = _floats(text, "--noise-2d", "a number or comma-separated numbers")
    if any(not v >= 0 for v in values):  # also NaN
        raise UsageError(f"--noise-2d must not be negative, got {text!r}")
    return values[0] if len(values) == 1 else values


def _pair(text: str, name: str) -> tuple[float, float]:
    from posetool.errors import UsageError

    values = _floats(text, name, "two comma-separated numbers")
    if len(values) != 2:
        raise UsageError(f"{name} must be two comma-separated numbers, got {text!r}")
    lo, hi = values
    if not 0 < lo <= hi:
        raise UsageError(f"{name} must satisfy 0 < low <= high, got {text!r}")
    return lo, hi


@app.command("correspond", help="Train the keypoint correspondence network self-supervised from single images "
             "(synth folders, COCO keypoint files, STREAM[=VIDEO] pose streams, or unlabelled videos and image "
             "folders that the real chain labels first) and real frame pairs (--frame-gap): Siamese stage, "
             "then refinement.")
@command("train correspond")
def train_correspond(
    data: Annotated[list[str], typer.Argument(help="synth folders, COCO keypoint JSONs (or ANN.json=IMAGES), pose streams STREAM[=VIDEO], or unlabelled videos / image folders (labelled once by the real chain, cached in OUT/pseudo).")],
    out: OutDir = "runs/correspond",
    model: Annotated[str, typer.Option("--model", help="Registered correspondence model (posetool weights list --task correspond).")] = SYNTH.correspond,
    val: Annotated[list[str] | None, typer.Option("--val", help="Validation data (repeatable): fixed pairs, loss and accuracy each epoch.")] = None,
    siamese_epochs: Annotated[int, typer.Option("--siamese-epochs", min=0, help="Epochs of the Siamese stage (paper: 100).")] = 100,
    refine_epochs: Annotated[int, typer.Option("--refine-epochs", min=0, help="Epochs of the refinement stage (paper: 100).")] = 100,
    batch_size: BatchSize = 16,
    lr: Annotated[float, typer.Option("--lr", min=0.0, help="Adam learning rate of each stage, x0.1 halfway (paper: 1e-4).")] = 1e-4,
    max_pairs: Annotated[int | None, typer.Option("--max-pairs", min=1, help="At most this many pairs per epoch.")] = None,
    sigma: Annotated[float, typer.Option("--sigma", min=0.5, help="Gaussian target sigma in heatmap pixels.")] = 1.5,
    context: Annotated[str | None, typer.Option("--context", help="Window side / person box side, range LOW,HIGH (default: 0.8-1.3 x the model's inference window: 1.6,2.6 for correspond_r18_synth, 1.0,1.625 for correspond_real).")] = None,
    scale: Annotated[str, typer.Option("--scale", help="Zoom of the second image, range LOW,HIGH.")] = "0.8,1.25",
    rotation: Annotated[float, typer.Option("--rotation", min=0.0, help="Max rotation of the second image, degrees.")] = 20.0,
    translation: Annotated[float, typer.Option("--translation", min=0.0, help="Max shift of the second image, fraction of the input.")] = 0.15,
    photometric: Annotated[bool, typer.Option("--photometric/--no-photometric", help="Photometric changes on the second image.")] = True,
    flip: Annotated[float, typer.Option("--flip", min=0.0, max=1.0, help="Probability of mirroring a pair (left/right keypoints swapped).")] = 0.0,
    occluders: Annotated[float, typer.Option("--occluders", min=0.0, max=1.0, help="Probability of a synthetic occluder on the second image (covered targets become absent).")] = 0.0,
    frame_gap: Annotated[int, typer.Option("--frame-gap", min=0, help="Also train on real frame pairs t-k -> t (1 <= k <= N) of tracked people in streams and footage; 0: single images only.")] = 0,
    label_thr: Annotated[float, typer.Option("--label-thr", min=0.0, max=1.0, help="Unlabelled footage: keypoints of the real chain at or above this confidence are labels.")] = 0.5,
    cell_targets: Annotated[bool, typer.Option("--cell-targets/--no-cell-targets", help="Gaussian targets, unrounded, where the query's feature cell centre goes (what correspond --query-offset decodes); off: at the keypoint rounded to a cell (the authors').")] = False,
    half: Annotated[bool, typer.Option("--half/--no-half", help="Store exported weights in float16.")] = False,
    workers: Workers = 0,
    threads: Threads = None,
    stop_after: Annotated[int | None, typer.Option("--stop-after", min=1, help="End this run after N epochs (continue with --resume).")] = None,
    init: Annotated[str | None, typer.Option("--init", help="Weights file or registered model (e.g. correspond_real) whose Siamese stage starts this run: fine-tune a shipped model on your footage, or refine a --refine-epochs 0 run.")] = None,
    resume: Resume = None,
    seed: Seed = 0,
    device: Device = "auto",
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    from posetool.correspond.train import CorrespondTrainConfig, train_correspond as run

    cfg = CorrespondTrainConfig(
        data=list(data), val=list(val or []), out=out, model=model, siamese_epochs=siamese_epochs,
        refine_epochs=refine_epochs, batch_size=batch_size, lr=lr, max_pairs=max_pairs, sigma=sigma,
        context=_pair(context, "--context") if context else None, scale=_pair(scale, "--scale"), rotation=rotation, translation=translation,
        photometric=photometric, half=half, workers=workers, threads=threads, seed=seed, device=device,
        stop_after=stop_after, init=init, flip=flip, occluders=occluders, frame_gap=frame_gap, label_thr=label_thr,
        cell_targets=cell_targets,
    )
    run(cfg, resume=resume)


# --- align (issue 22) --------------------------------------------------------------------------
@app.command("align", help="Train the TCC pose-sequence embedder self-supervised (cycle consistency) on pose "
             "streams or posetool synth --action folders; batches hold performances of one action.")
@command("train align")
def train_align(
    data: Annotated[list[str], typer.Argument(help="Pose streams, synth take folders, or folders of them (every track of 8+ frames).")],
    out: OutDir = "runs/align",
    model: Annotated[str, typer.Option("--model", help="Registered embedder whose architecture is trained.")] = "align_synth",
    val: Annotated[list[str] | None, typer.Option("--val", help="Takes with known phase, or a folder of them (repeatable): Kendall's tau and phase error each epoch.")] = None,
    loss: Annotated[str, typer.Option("--loss", help="regression (cycle-back regression, variance-aware; the paper's best), classification (cycle-back classification), or contrastive (baseline without cycles).")] = "regression",
    dims: Annotated[int, typer.Option("--dims", min=2, max=3, help="2: image keypoints (coco17); 3: lifted keypoints_3d (h36m17).")] = 2,
    epochs: Epochs = 40,
    iterations: Annotated[int, typer.Option("--iterations", min=1, help="Batches per epoch.")] = 100,
    batch_size: Annotated[int, typer.Option("--batch-size", min=2, help="Performances per batch (all of one action).")] = 8,
    frames: Annotated[int, typer.Option("--frames", min=2, help="Frames sampled per performance for the loss (at most the shortest one's length).")] = 64,
    lr: Annotated[float, typer.Option("--lr", min=0.0, help="Adam learning rate (cosine decay over the epochs).")] = 1e-3,
    temperature: Annotated[float, typer.Option("--temperature", min=1e-6, help="Softmax temperature of the similarities (paper: 0.1).")] = 0.1,
    variance_lambda: Annotated[float, typer.Option("--variance-lambda", min=0.0, help="Weight of log sigma in the regression loss (paper: 0.001).")] = 0.001,
    augment: Annotated[bool, typer.Option("--augment/--no-augment", help="Mirror, rotation, noise and dropped keypoints.")] = True,
    flip: Annotated[bool, typer.Option("--flip/--no-flip", help="Mirror augmentation; --no-flip for movements whose two halves mirror each other (a walk mirrored is the same walk half a cycle later).")] = True,
    threads: Threads = None,
    stop_after: Annotated[int | None, typer.Option("--stop-after", min=1, help="End this run after N epochs (continue with --resume).")] = None,
    init: Annotated[str | None, typer.Option("--init", help="Start from these weights: a trained embedder file, or a registered embedder's name (align_synth) to adapt it to takes of another movement.")] = None,
    resume: Resume = None,
    seed: Seed = 0,
    device: Device = "cpu",
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    from posetool.align.train import AlignTrainConfig, train_align as run

    cfg = AlignTrainConfig(data=list(data), val=list(val or []), out=out, model=model, loss=loss, dims=dims,
                           epochs=epochs, iterations=iterations, batch_size=batch_size, frames=frames, lr=lr,
                           temperature=temperature, variance_lambda=variance_lambda, augment=augment, flip=flip, seed=seed,
                           device=device, threads=threads or 0, stop_after=stop_after, init=init)
    run(cfg, resume=resume)


# --- smooth (issue 21) -----------------------------------------------------------------------
@app.command(
    "smooth",
    help="Train SmoothNet (the learned track smoother, track --smooth smoothnet) on folders holding a tracked, unsmoothed "
    "stream and gt.jsonl of the same video (scripts/smoothnet_data.py makes them).",
)
@command("train smooth")
def train_smooth(
    data: Annotated[list[str], typer.Argument(help="Folders with gt.jsonl and the tracked stream --keypoints.")],
    out: OutDir = "runs/smooth",
    keypoints: Annotated[str, typer.Option("--keypoints", "-k", help="Tracked stream's file name inside each folder (track --smooth none).")] = "trk_raw.msgpack",
    val: Annotated[list[str] | None, typer.Option("--val", help="Validation folder (repeatable): point and acceleration error each epoch; best.safetensors keeps the best.")] = None,
    window: Annotated[int, typer.Option("--window", min=3, help="SmoothNet's window T (frames); track's output delay is T - 1.")] = 32,
    stride: Annotated[int, typer.Option("--stride", min=1, help="Frames between training windows.")] = 1,
    epochs: Epochs = 70,
    batch_size: BatchSize = 1024,
    lr: Annotated[float, typer.Option("--lr", min=0.0, help="Adam learning rate (decayed x0.95 per epoch).")] = 1e-3,
    threads: Threads = None,
    resume: Resume = None,
    seed: Seed = 0,
    device: Device = "auto",
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    from posetool.track.train import SmoothTrainConfig, train_smooth as run

    cfg = SmoothTrainConfig(data=list(data), keypoints=keypoints, val=list(val or []), out=out, window=window, stride=stride,
                            epochs=epochs, batch_size=batch_size, lr=lr, seed=seed, device=device, threads=threads)
    run(cfg, resume=resume)


# --- leftright (issue 21) --------------------------------------------------------------------
@app.command(
    "leftright",
    help="Train the left/right labeller (track --lr-consistency learned) on folders holding a pose stream with track ids, "
    "labels as the pose model gave them, and gt.jsonl of the same video (scripts/leftright_data.py makes them).",
)
@command("train leftright")
def train_leftright(
    data: Annotated[list[str], typer.Argument(help="Folders with gt.jsonl and the pose stream --keypoints.")],
    out: OutDir = "runs/leftright",
    keypoints: Annotated[str, typer.Option("--keypoints", "-k", help="Pose stream's file name inside each folder (detect --model gt | pose2d, or track --lr-consistency none); several, comma-separated, use each.")] = "pre_gt.msgpack",
    val: Annotated[list[str] | None, typer.Option("--val", help="Validation folder (repeatable): share of wrongly labelled pairs each epoch; best.safetensors keeps the best.")] = None,
    window: Annotated[int, typer.Option("--window", min=3, help="Frames per training window (odd: the tracker reads --lr-lookahead frames each side of a pose).")] = 51,
    stride: Annotated[int, typer.Option("--stride", min=1, help="Frames between training windows.")] = 4,
    by_track: Annotated[bool, typer.Option("--by-track/--by-person", help="Cut windows along each predicted track, whoever it follows (identity switches included, as the tracker reads a track), or along each ground-truth person while one id follows it.")] = False,
    epochs: Epochs = 20,
    batch_size: BatchSize = 64,
    lr: Annotated[float, typer.Option("--lr", min=0.0, help="Adam learning rate (decayed x0.9 per epoch).")] = 1e-3,
    threads: Threads = None,
    resume: Resume = None,
    seed: Seed = 0,
    device: Device = "auto",
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    from posetool.track.train_leftright import LeftRightTrainConfig, train_leftright as run

    cfg = LeftRightTrainConfig(data=list(data), keypoints=keypoints, val=list(val or []), out=out, window=window, stride=stride,
                               by_track=by_track, epochs=epochs, batch_size=batch_size, lr=lr, seed=seed, device=device, threads=threads)
    run(cfg, resume=resume)
