"""Training the VideoPose3D lifter with the paper's recipe (``run.py``), supervised or semi-supervised.

Recipe: Adam with amsgrad, lr 1e-3 multiplied by ``lr_decay`` (0.95) after every epoch;
BatchNorm momentum decayed from 0.1 to 0.001 as ``0.1 * exp(-epoch / epochs * ln(100))``;
batches of 1024 output frames; the strided single-frame model (:class:`TemporalModelOptimized1f`)
for training when ``stride == 1`` (else the dilated model on chunks of ``stride`` frames); every
chunk also seen mirrored; loss MPJPE on root-relative poses (root joint zeroed).

Trajectory model (``trajectory=True``, always on in semi-supervised mode): a second network of
the same architecture predicting the root position in camera space, trained on the labelled
part with MPJPE weighted by 1/z (far people count less).

Semi-supervised (unlabelled 2D sequences given): each batch is a labelled batch concatenated
with an unlabelled one of the same size; after ``warmup`` epochs the unlabelled predictions
(pose + trajectory) are projected through the sequence's camera intrinsics and compared with the
2D input (MPJPE in normalised screen units), and the bone-length term matches the mean bone
lengths of the unlabelled part to the labelled part. All terms are summed unweighted.

Checkpoints ``RUN/epoch_N.pt`` are written after every epoch (and ``RUN/last.pt``); ``resume``
continues exactly. Under torchrun (DDP) each rank takes its share of every global batch.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from posetool import console
from posetool.errors import PosetoolError, UsageError
from posetool.lift3d.camera import project_to_2d, project_to_2d_linear
from posetool.lift3d.data import LiftSequence, open_dataset, sequences_from_stream
from posetool.lift3d.flip import left_right
from posetool.lift3d.infer import SequenceLifter
from posetool.lift3d.losses import bone_length_penalty, mpjpe, weighted_mpjpe
from posetool.lift3d.windows import ChunkedBatches, DepthRescale, DetectionNoise, root_joints
from posetool.nn.videopose3d import TemporalModel, TemporalModelOptimized1f, VideoPose3D, count_parameters
from posetool.skeletons import get_skeleton
from posetool.engine.trainer import (
    Checkpoint, ConsoleLine, DistInfo, EpochEnd, Hook, JsonLog, RecordHistory, StampTime, Validate, all_reduce_sum,
    cleanup_distributed, load_checkpoint, run_epochs, seed_everything, set_rng_state, setup_distributed, wrap_ddp,
)

INITIAL_MOMENTUM = 0.1
FINAL_MOMENTUM = 0.001


@dataclass
class Lift3dConfig:
    """Options of ``posetool train lift3d`` (defaults = the paper's recipe)."""

    data: list[str]
    out: str = "runs/lift3d"
    valid: list[str] = field(default_factory=list)
    unlabeled: list[str] = field(default_factory=list)
    keypoints: str | None = None  # pose stream file in each synth folder whose 2D replaces the ground truth
    subjects_train: str | None = None
    subjects_test: str | None = None
    subjects_unlabeled: str | None = None
    epochs: int = 60
    batch_size: int = 1024
    lr: float = 1e-3
    lr_decay: float = 0.95
    architecture: str = "3,3,3"
    channels: int = 1024
    dropout: float = 0.25
    causal: bool = False
    stride: int = 1
    augment: bool = True
    noise_2d: float | tuple[float, ...] = 0.0  # training-input scatter, person heights; or one per input joint (DetectionNoise.scatter)
    noise_2d_frames: float = 0.0  # its temporal correlation, frames (DetectionNoise.scatter_frames)
    outliers_2d: float = 0.0  # per chunk and joint (DetectionNoise.outlier_rate)
    clamp_2d: bool = False  # joints outside the frame put on its border (DetectionNoise.clamp)
    rescale_2d: tuple[float, float] = (1.0, 1.0)  # depth factor range of DepthRescale
    trajectory: bool = False
    warmup: int = 1
    bone_length: bool = True
    projection: bool = True
    linear_projection: bool = False
    in_skeleton: str | None = None
    out_skeleton: str = "h36m17"
    seed: int = 0
    device: str = "auto"
    resume: str | None = None
    eval_every: int = 1
    max_batches: int | None = None  # cap per epoch (smoke tests)

    @property
    def filter_widths(self) -> list[int]:
        try:
            return [int(v) for v in self.architecture.split(",")]
        except ValueError:
            raise UsageError(f"--arch must be comma-separated odd widths such as 3,3,3, got {self.architecture!r}") from None


@dataclass
class Data:
    train: list[LiftSequence]
    valid: list[LiftSequence]
    unlabeled: list[LiftSequence]
    in_skeleton: str
    num_joints_in: int
    in_features: int
    num_joints_out: int


def _split(v: str | None) -> list[str] | None:
    return [s for s in v.split(",") if s] if v else None


def load_data(cfg: Lift3dConfig) -> Data:
    """Training / validation / unlabelled sequences from the configured sources."""
    ds = open_dataset(cfg.data, cfg.keypoints)
    in_skel = cfg.in_skeleton or ds.layout
    if in_skel is None:
        # official Human3.6M ground-truth 2D has no layout_name: it is in the 3D joint order
        in_skel = "h36m17"
    train = ds.sequences(_split(cfg.subjects_train))
    valid: list[LiftSequence] = []
    if cfg.valid:
        valid = open_dataset(cfg.valid, cfg.keypoints).sequences()
    elif cfg.subjects_test:
        valid = ds.sequences(_split(cfg.subjects_test))
    unl: list[LiftSequence] = []
    if cfg.subjects_unlabeled:
        unl += ds.sequences(_split(cfg.subjects_unlabeled), labelled=False)
    for stream in cfg.unlabeled:
        unl += sequences_from_stream(stream, in_skel)
    train = [s for s in train if s.poses_3d is not None and len(s.keypoints) > 0]
    if not train:
        raise PosetoolError(f"{', '.join(cfg.data)}: no labelled training sequences (3D poses) found")
    for s in train + valid + unl:
        if not np.isfinite(s.keypoints).all():
            raise PosetoolError(f"{s.subject}/{s.action} camera {s.camera_index}: 2D keypoints contain NaN; "
                                "fill or drop missing detections before training")
    if unl and any(s.camera is None for s in unl):
        raise PosetoolError("semi-supervised training needs camera intrinsics for every unlabelled sequence")
    j_in, feats = train[0].keypoints.shape[1:]
    j_out = train[0].poses_3d.shape[1]
    out_sk = get_skeleton(cfg.out_skeleton)
    if j_out != out_sk.num_keypoints:
        raise PosetoolError(f"training 3D poses have {j_out} joints but --out-skeleton {cfg.out_skeleton} has {out_sk.num_keypoints}")
    if get_skeleton(in_skel).num_keypoints != j_in:
        raise PosetoolError(f"2D keypoints have {j_in} joints but their layout {in_skel} has {get_skeleton(in_skel).num_keypoints}")
    return Data(train, valid, unl, in_skel, int(j_in), int(feats), int(j_out))


def _build(cfg: Lift3dConfig, data: Data, joints_out: int, optimized: bool) -> torch.nn.Module:
    args = (data.num_joints_in, data.in_features, joints_out)
    if optimized:
        return TemporalModelOptimized1f(*args, cfg.filter_widths, causal=cfg.causal, dropout=cfg.dropout, channels=cfg.channels)
    return TemporalModel(*args, cfg.filter_widths, causal=cfg.causal, dropout=cfg.dropout, channels=cfg.channels)


def lifter_from(cfg: Lift3dConfig, data_info: dict[str, Any], pos_state: dict, traj_state: dict | None) -> VideoPose3D:
    """A :class:`VideoPose3D` (eval mode) holding the trained weights."""
    model = VideoPose3D(
        in_skeleton=data_info["in_skeleton"], out_skeleton=cfg.out_skeleton, num_joints_in=data_info["num_joints_in"],
        num_joints_out=data_info["num_joints_out"], filter_widths=cfg.filter_widths, channels=cfg.channels,
        dropout=cfg.dropout, causal=cfg.causal, in_features=data_info["in_features"], trajectory=traj_state is not None,
    )
    state = {f"model_pos.{k}": v for k, v in pos_state.items()}
    if traj_state is not None:
        state.update({f"model_traj.{k}": v for k, v in traj_state.items()})
    model.load_state_dict(state)
    return model.eval()


def evaluate(model: VideoPose3D, seqs: list[LiftSequence], *, flip: bool = False) -> dict[str, float]:
    """Whole-sequence errors in millimetres, frame-weighted over ``seqs``: MPJPE, P-MPJPE,
    N-MPJPE, MPJVE on root-relative poses (root zeroed as the official evaluation), and the
    trajectory error when the model has one."""
    from posetool.eval.lift import mean_velocity_error, mpjpe as np_mpjpe, n_mpjpe, p_mpjpe

    lifter = SequenceLifter(model, flip=flip)
    sums = {"mpjpe": 0.0, "p_mpjpe": 0.0, "n_mpjpe": 0.0, "mpjve": 0.0, "traj": 0.0}
    n = nv = 0
    for s in seqs:
        if s.poses_3d is None:
            continue
        out = lifter.lift(s.keypoints)
        gt = s.poses_3d.astype(np.float64).copy()
        root = gt[:, 0].copy()
        gt[:, 0] = 0
        pred = out.pose.astype(np.float64)
        t = len(gt)
        sums["mpjpe"] += np_mpjpe(pred, gt) * t
        sums["p_mpjpe"] += p_mpjpe(pred, gt) * t
        sums["n_mpjpe"] += n_mpjpe(pred, gt) * t
        if t > 1:
            sums["mpjve"] += mean_velocity_error(pred, gt) * (t - 1)
            nv += t - 1
        if out.root is not None:
            sums["traj"] += float(np.mean(np.linalg.norm(out.root - root, axis=-1))) * t
        n += t
    if n == 0:
        return {}
    res = {k: 1000 * v / n for k, v in sums.items() if k != "mpjve"}
    res["mpjve"] = 1000 * sums["mpjve"] / max(nv, 1)
    if model.model_traj is None:
        res.pop("traj")
    res["frames"] = n
    return res


def _momentum(epoch: int, epochs: int) -> float:
    return INITIAL_MOMENTUM * math.exp(-epoch / epochs * math.log(INITIAL_MOMENTUM / FINAL_MOMENTUM))


def train_lift3d(cfg: Lift3dConfig) -> dict[str, Any]:
    """Run training; returns the history (per-epoch losses and validation figures)."""
    from posetool.hub.device import select_device

    info = setup_distributed(select_device(cfg.device))
    try:
        return _train(cfg, info)
    finally:
        cleanup_distributed(info)


def _train(cfg: Lift3dConfig, info: DistInfo) -> dict[str, Any]:
    dev = info.device
    seed_everything(cfg.seed)
    data = load_data(cfg)
    semi = bool(data.unlabeled)
    use_traj = cfg.trajectory or semi
    optimized = cfg.stride == 1
    model_pos = _build(cfg, data, data.num_joints_out, optimized).to(dev)
    model_traj = _build(cfg, data, 1, optimized).to(dev) if use_traj else None
    rf = model_pos.receptive_field()
    pad = (rf - 1) // 2
    causal_shift = pad if cfg.causal else 0
    kps_l, kps_r = left_right(data.in_skeleton)
    j_l, j_r = left_right(cfg.out_skeleton)
    parents = get_skeleton(cfg.out_skeleton).parents
    if semi and cfg.bone_length and parents is None:
        raise UsageError(f"--out-skeleton {cfg.out_skeleton} has no kinematic tree for the bone-length term; use --no-bone-length")
    gen_kw = dict(chunk_length=cfg.stride, pad=pad, causal_shift=causal_shift, augment=cfg.augment, kps_left=kps_l,
                  kps_right=kps_r, joints_left=j_l, joints_right=j_r, rank=info.rank, world_size=info.world_size)
    chunks = max(1, cfg.batch_size // cfg.stride)
    if np.ndim(cfg.noise_2d) and len(cfg.noise_2d) != data.num_joints_in:  # type: ignore[arg-type]
        raise UsageError(f"--noise-2d: {len(cfg.noise_2d)} values for {data.num_joints_in} input joints ({data.in_skeleton})")  # type: ignore[arg-type]
    rescale = None
    if tuple(cfg.rescale_2d) != (1.0, 1.0):
        try:
            rescale = DepthRescale(*cfg.rescale_2d, root=tuple(root_joints(data.in_skeleton)))
        except ValueError as e:
            raise UsageError(f"--rescale-2d: {e}") from None
    train_gen = ChunkedBatches(chunks, [s.keypoints for s in data.train], [s.poses_3d for s in data.train],
                               [s.camera if s.camera is not None else np.zeros(9, np.float32) for s in data.train],
                               seed=1234, noise=DetectionNoise(cfg.noise_2d, cfg.outliers_2d, cfg.clamp_2d, cfg.noise_2d_frames), aspects=[s.aspect for s in data.train],
                               rescale=rescale, **gen_kw)
    semi_gen = None
    if semi:
        semi_gen = ChunkedBatches(chunks, [s.keypoints for s in data.unlabeled], None, [s.camera for s in data.unlabeled],
                                  seed=4321, endless=True, **gen_kw)

    params = list(model_pos.parameters()) + (list(model_traj.parameters()) if model_traj is not None else [])
    optimizer = torch.optim.Adam(params, lr=cfg.lr, amsgrad=True)
    lr = cfg.lr
    epoch = 0
    history: list[dict[str, Any]] = []
    out = Path(cfg.out)
    data_info = {"in_skeleton": data.in_skeleton, "num_joints_in": data.num_joints_in, "in_features": data.in_features,
                 "num_joints_out": data.num_joints_out}

    if cfg.resume:
        ck = load_checkpoint(cfg.resume, restore_rng=False)
        model_pos.load_state_dict(ck["model_pos"])
        if model_traj is not None:
            if not isinstance(ck.get("model_traj"), dict):
                raise PosetoolError(f"{cfg.resume}: checkpoint has no trajectory model to resume")
            model_traj.load_state_dict(ck["model_traj"])
        if isinstance(ck.get("optimizer"), dict):
            optimizer.load_state_dict(ck["optimizer"])
        else:
            console.warn(f"{cfg.resume}: no optimizer state; the optimizer starts afresh")
        epoch, lr = int(ck["epoch"]), float(ck["lr"])
        if isinstance(ck.get("generator"), dict):
            train_gen.set_state(ck["generator"])
        if semi_gen is not None and isinstance(ck.get("generator_semi"), dict):
            semi_gen.set_state(ck["generator_semi"])
        history = list(ck.get("history") or [])
        if "rng" in ck:
            set_rng_state(ck["rng"])
        m = _momentum(epoch, cfg.epochs)
        model_pos.set_bn_momentum(m)
        if model_traj is not None:
            model_traj.set_bn_momentum(m)

    ddp_pos = wrap_ddp(model_pos, info)
    ddp_traj = wrap_ddp(model_traj, info) if model_traj is not None else None

    if info.is_main:
        console.info(
            f"lift3d: {len(data.train)} training sequences ({train_gen.num_frames()} frames with flips), "
            f"{len(data.valid)} validation, {len(data.unlabeled)} unlabelled; receptive field {rf}; "
            f"{count_parameters(model_pos)} parameters; {info.world_size} process(es) on {dev}"
        )

    def train_epoch(epoch: int) -> dict[str, Any]:
        nonlocal lr
        model_pos.train()
        if model_traj is not None:
            model_traj.train()
        sums = [0.0, 0.0, 0.0, 0.0]  # 3d loss * n, traj * n, 2d * n_semi, n ; plus n_semi below
        n_semi = 0.0
        semi_iter = semi_gen.epoch() if semi_gen is not None else None
        for b_i, batch in enumerate(train_gen.epoch()):
            if cfg.max_batches is not None and b_i >= cfg.max_batches:
                break
            skip = epoch < cfg.warmup
            x2 = torch.from_numpy(batch.inputs_2d).to(dev)
            y3 = torch.from_numpy(batch.poses_3d).to(dev)
            traj_gt = y3[:, :, :1].clone()
            y3[:, :, 0] = 0
            split = x2.shape[0]
            sb = next(semi_iter) if semi_iter is not None else None
            x_all = torch.cat([x2, torch.from_numpy(sb.inputs_2d).to(dev)]) if (sb is not None and not skip) else x2
            optimizer.zero_grad()
            pred = ddp_pos(x_all)
            loss_3d = mpjpe(pred[:split], y3)
            loss = loss_3d
            nb = y3.shape[0] * y3.shape[1]
            sums[0] += loss_3d.item() * nb
            sums[3] += nb
            if ddp_traj is not None:
                traj = ddp_traj(x_all)
                loss_traj = weighted_mpjpe(traj[:split], traj_gt, 1 / traj_gt[:, :, :, 2])
                sums[1] += loss_traj.item() * nb
                loss = loss + loss_traj
                if sb is not None and not skip:
                    pred_u = pred[split:]
                    target_u = x_all[split:, pad : x_all.shape[1] - pad, :, :2] if pad > 0 else x_all[split:, :, :, :2]
                    if cfg.causal and pad > 0:
                        # causal windows are shifted: output frame i is the window's last frame
                        target_u = x_all[split:, 2 * pad :, :, :2]
                    cam_u = torch.from_numpy(sb.cameras).to(dev)
                    proj = project_to_2d_linear if cfg.linear_projection else project_to_2d
                    rec = proj(pred_u + traj[split:], cam_u)
                    loss_2d = mpjpe(rec, target_u.contiguous())
                    sums[2] += loss_2d.item() * pred_u.shape[0] * pred_u.shape[1]
                    n_semi += pred_u.shape[0] * pred_u.shape[1]
                    if cfg.projection:
                        loss = loss + loss_2d
                    if cfg.bone_length:
                        loss = loss + bone_length_penalty(pred, parents, split)
            loss.backward()
            optimizer.step()

        tot = all_reduce_sum(sums + [n_semi], info)
        rec: dict[str, Any] = {"epoch": epoch + 1, "lr": lr, "loss_3d": tot[0] / max(tot[3], 1) * 1000}
        if model_traj is not None:
            rec["loss_traj"] = tot[1] / max(tot[3], 1) * 1000
        if semi and tot[4] > 0:
            rec["loss_2d_unlabeled"] = tot[2] / tot[4]

        # the recipe's end-of-epoch updates
        lr *= cfg.lr_decay
        for group in optimizer.param_groups:
            group["lr"] *= cfg.lr_decay
        m = _momentum(epoch + 1, cfg.epochs)
        model_pos.set_bn_momentum(m)
        if model_traj is not None:
            model_traj.set_bn_momentum(m)
        return rec

    def validation(end: EpochEnd) -> dict[str, Any]:
        if end.epoch % cfg.eval_every and end.epoch != cfg.epochs:  # every eval_every epochs, and the last
            return {}
        rng_keep = torch.get_rng_state()  # evaluating must not move the training's random stream
        traj_state = model_traj.state_dict() if model_traj is not None else None
        valid = evaluate(lifter_from(cfg, data_info, model_pos.state_dict(), traj_state).to("cpu"), data.valid)
        torch.set_rng_state(rng_keep)
        return {"valid": valid}

    def checkpoint(end: EpochEnd) -> dict[str, Any]:
        return {
            "epoch": end.epoch, "lr": lr, "optimizer": optimizer.state_dict(),
            "model_pos": model_pos.state_dict(),
            "model_traj": model_traj.state_dict() if model_traj is not None else None,
            "generator": train_gen.get_state(),
            "generator_semi": semi_gen.get_state() if semi_gen is not None else None,
            "config": asdict(cfg), "data": data_info, "history": end.history,
        }

    def line(end: EpochEnd) -> str:
        rec, valid = end.row, end.row.get("valid", {})
        return (
            f"[{end.epoch}/{cfg.epochs}] {rec['time_s']:.1f}s lr {rec['lr']:.6f} 3d_train {rec['loss_3d']:.2f} mm"
            + (f" traj {rec['loss_traj']:.2f}" if "loss_traj" in rec else "")
            + (f" 2d_unl {rec['loss_2d_unlabeled']:.4f}" if "loss_2d_unlabeled" in rec else "")
            + (f" | valid MPJPE {valid['mpjpe']:.1f} P-MPJPE {valid['p_mpjpe']:.1f} mm" if valid else "")
        )

    # validation (rank 0) counts in the epoch's time here; every rank keeps the history
    hooks: list[Hook] = [Validate(validation)] if data.valid else []
    hooks += [StampTime("time_s"), RecordHistory(main_only=False),
              Checkpoint(checkpoint, out / "epoch_{epoch}.pt", out / "last.pt"), JsonLog(out / "metrics.jsonl"),
              ConsoleLine(line)]
    run_epochs(range(epoch, cfg.epochs), train_epoch, hooks, info, history)

    if info.is_main:
        lifter = lifter_from(cfg, data_info, model_pos.state_dict(), model_traj.state_dict() if model_traj is not None else None)
        export_lifter(lifter, out / "model.safetensors")
    return {"history": history, "data": data_info}


def export_lifter(model: VideoPose3D, path: str | Path) -> Path:
    """Save a lifter as safetensors (``model_pos.*``/``model_traj.*``) with its architecture in
    the metadata (key ``posetool.videopose3d``), so ``posetool lift3d --weights`` can rebuild it."""
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(path), metadata={"posetool.videopose3d": json.dumps(model.config, sort_keys=True)})
    return path
