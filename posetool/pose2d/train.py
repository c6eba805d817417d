"""``posetool train pose2d``: train a top-down heatmap model (SimpleBaselines / HRNet).

The recipe of the official HRNet COCO configs, scaled to the number of epochs asked for:
Gaussian heatmap targets (σ = 2 at 64×48, 3 at 96×72) with visibility weights, JointsMSELoss
with target weight, the augmentation of :mod:`posetool.pose2d.augment`, Adam (lr 1e-3, no weight
decay) with ×0.1 steps at 170/210 and 200/210 of the run. After each epoch the model is scored
on the validation datasets (COCO AP with ground-truth boxes, through ``posetool.eval``) and a
checkpoint is written; ``--resume`` continues exactly (model, optimiser, scheduler, RNG states;
the data order and augmentation of every epoch derive from ``(seed, epoch, index)``).

Under ``torchrun`` each process takes its share of every epoch's permutation (DDP, gradients
averaged); rank 0 validates and writes files.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from posetool import console
from posetool.data.coco_keypoints import KeypointDataset, open_keypoint_dataset
from posetool.errors import PosetoolError, UsageError
from posetool.pose2d.augment import AugmentConfig, make_example
from posetool.pose2d.crop import box_to_center_scale
from posetool.preprocess import to_input
from posetool.skeletons import get_skeleton
from posetool.engine.trainer import (
    Checkpoint, ConsoleLine, EpochDataset, EpochEnd, EpochSampler, ExportWeights, Hook, JsonLog, KeepBest,
    RecordHistory, StampTime, Validate, all_reduce_sum, begin_run, cleanup_distributed, run_epochs, set_rng_state,
    training_spec, unwrap, wrap_ddp,
)


@dataclass
class Pose2DTrainConfig:
    """Everything a run depends on (saved in the checkpoint)."""

    data: list[str]
    val: list[str] = field(default_factory=list)
    out: str = "runs/pose2d"
    model: Any = "simplebaseline_r18_synth"  # a registered name, or a ModelSpec (programmatic use)
    epochs: int = 10
    batch_size: int = 32
    lr: float = 1e-3
    lr_steps: list[int] | None = None  # default: 170/210 and 200/210 of the epochs
    lr_factor: float = 0.1
    seed: int = 0
    device: str = "auto"
    workers: int = 0
    sigma: float | None = None  # default: 2 for 64×48 heatmaps, 3 for 96×72
    scale_factor: float = 0.35
    rot_factor: float = 45.0
    prob_half_body: float = 0.3
    flip: bool = True
    init: str | None = None
    half: bool = False  # store the exported weights in float16
    threads: int | None = None

    def milestones(self) -> list[int]:
        if self.lr_steps is not None:
            return sorted(int(s) for s in self.lr_steps)
        return [max(1, round(self.epochs * 170 / 210)), max(1, round(self.epochs * 200 / 210))]


class JointsMSELoss(nn.Module):
    """Official JointsMSELoss: per joint 0.5·MSE(pred·w, gt·w) over batch and pixels, averaged over joints.

    ``output``/``target`` (N, K, H, W), ``weight`` (N, K, 1).
    """

    def __init__(self, use_target_weight: bool = True) -> None:
        super().__init__()
        self.use_target_weight = use_target_weight

    def forward(self, output: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        n, k = output.shape[:2]
        pred, gt = output.reshape(n, k, -1), target.reshape(n, k, -1)
        if self.use_target_weight:
            pred, gt = pred * weight, gt * weight
        return 0.5 * (pred - gt).pow(2).mean(dim=(0, 2)).mean()


class TopDownTrainSet(EpochDataset):
    """Augmented crops with heatmap targets from one or more :class:`KeypointDataset`.

    Item: (input (3, H, W) float32, target (K, H/4, W/4), target_weight (K, 1)).
    """

    def __init__(self, datasets: list[KeypointDataset], input_spec: Any, flip_pairs: Any, aug: AugmentConfig,
                 seed: int = 0) -> None:
        super().__init__([(d, i) for d, ds in enumerate(datasets) for i in range(len(ds.samples))], seed)
        self.datasets = datasets
        self.spec = input_spec
        self.input_size = (int(input_spec.width), int(input_spec.height))
        self.heatmap_size = (self.input_size[0] // 4, self.input_size[1] // 4)
        self.flip_pairs = flip_pairs
        self.aug = aug

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        d, i = self.entries[index]
        ds = self.datasets[d]
        sample = ds.samples[i]
        x, y, w, h = sample.bbox
        center, scale = box_to_center_scale(np.array([x, y, x + w, y + h]), self.input_size[0] / self.input_size[1])
        crop, target, weight, _ = make_example(ds.image(sample.key), sample.joints, center[0], scale[0],
                                               self.input_size, self.heatmap_size, self.flip_pairs, self.aug,
                                               self.rng(index))
        return to_input(crop[None], self.spec)[0], torch.from_numpy(target), torch.from_numpy(weight)


def validate(model: nn.Module, spec: Any, datasets: list[KeypointDataset], device: torch.device,
             batch_size: int) -> dict[str, Any]:
    """COCO AP with GT boxes averaged over ``datasets`` (official test options)."""
    from posetool.pose2d.evaluate import evaluate_gt_boxes
    from posetool.pose2d.estimator import TopDownEstimator

    net = unwrap(model)
    was_training = net.training
    est = TopDownEstimator(net, spec.input, get_skeleton(spec.skeleton or "coco17"), device, batch_size=batch_size)
    quiet = console.is_quiet()
    console.set_quiet(True)  # keep pycocotools' per-epoch summary tables out of the training log
    try:
        stats = [evaluate_gt_boxes(est, ds)["stats"] for ds in datasets]
    finally:
        console.set_quiet(quiet)
        net.train(was_training)
    mean = np.mean(np.asarray(stats), axis=0)
    return {"AP": float(mean[0]), "AP50": float(mean[1]), "AP75": float(mean[2]), "AR": float(mean[5]),
            "per_dataset": [float(s[0]) for s in stats]}


def _fit_epoch(model: nn.Module, loader: DataLoader, optimizer: torch.optim.Optimizer, criterion: nn.Module,
               device: torch.device) -> tuple[float, int]:
    """One pass over ``loader`` in training mode; this rank's summed loss·batch size and sample count."""
    model.train()
    total, count = 0.0, 0
    for inp, target, weight in loader:
        inp, target, weight = (t.to(device, non_blocking=True) for t in (inp, target, weight))
        loss = criterion(model(inp), target, weight)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total += float(loss.detach()) * len(inp)
        count += len(inp)
    return total, count


def train_pose2d(cfg: Pose2DTrainConfig, resume: str | None = None) -> dict[str, Any]:
    """Run (or continue) training; returns the history of the run (a list of epoch dicts) and paths."""
    from posetool.hub.checkpoint import load_into, load_state, model_state

    if not cfg.data:
        raise UsageError("no training data; pass synth output folders or COCO annotation files")
    spec = training_spec(cfg.model, "pose2d")
    if spec.input is None:
        raise UsageError(f"model {cfg.model} has no input spec")
    info, state = begin_run(cfg, spec.name, resume, ("data", "seed", "batch_size", "lr"))
    out = Path(cfg.out)
    try:
        train_sets = [open_keypoint_dataset(p) for p in cfg.data]
        val_sets = [open_keypoint_dataset(p) for p in cfg.val]
        skeleton = get_skeleton(spec.skeleton or "coco17")
        for ds in train_sets + val_sets:
            if ds.num_joints != skeleton.num_keypoints:
                raise PosetoolError(f"{ds.name}: {ds.num_joints} keypoints per person, model {spec.name} has "
                                    f"{skeleton.num_keypoints}")
        hm_w = spec.input.width // 4
        sigma = cfg.sigma or (3.0 if hm_w >= 72 else 2.0)
        aug = AugmentConfig(scale_factor=cfg.scale_factor, rot_factor=cfg.rot_factor, flip=cfg.flip,
                            prob_half_body=cfg.prob_half_body, sigma=sigma)
        trainset = TopDownTrainSet(train_sets, spec.input, skeleton.flip_pairs, aug, cfg.seed)
        if len(trainset) == 0:
            raise PosetoolError("the training data holds no annotated person")
        sampler = EpochSampler(len(trainset), cfg.seed, info.rank, info.world_size)
        loader = DataLoader(trainset, batch_size=cfg.batch_size, sampler=sampler, num_workers=cfg.workers,
                            drop_last=len(sampler) > cfg.batch_size, pin_memory=info.device.type == "cuda",
                            persistent_workers=False)

        model = spec.build().to(info.device)
        if cfg.init and state is None:
            load_into(model, model_state(load_state(cfg.init, official=True), cfg.init), cfg.init)
        optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
        scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, cfg.milestones(), cfg.lr_factor)
        history: list[dict[str, Any]] = []
        start, best = 0, -1.0
        if state is not None:
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            scheduler.load_state_dict(state["scheduler"])
            start, best, history = int(state["epoch"]), float(state.get("best_ap", -1.0)), list(state.get("history", []))
            set_rng_state(state["rng"])
        model = wrap_ddp(model, info)
        criterion = JointsMSELoss()
        if info.is_main:
            out.mkdir(parents=True, exist_ok=True)
            console.info(f"train pose2d: {spec.name}, {len(trainset)} people from {len(train_sets)} dataset(s), "
                         f"{cfg.epochs} epochs, batch {cfg.batch_size}, device {info.device}")

        def train_epoch(epoch: int) -> dict[str, Any]:
            trainset.set_epoch(epoch)
            sampler.set_epoch(epoch)
            total, count = _fit_epoch(model, loader, optimizer, criterion, info.device)
            scheduler.step()
            total, count = all_reduce_sum([total, float(count)], info)
            return {"epoch": epoch + 1, "loss": total / max(count, 1), "lr": optimizer.param_groups[0]["lr"]}

        keep_best = KeepBest(model, out / "best.safetensors", cfg.half, best, enabled=bool(val_sets))

        def checkpoint(end: EpochEnd) -> dict[str, Any]:
            return {"model": unwrap(model).state_dict(), "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(), "epoch": end.epoch, "best_ap": keep_best.best,
                    "history": end.history, "config": {**asdict(cfg), "model": spec.name}}

        def line(end: EpochEnd) -> str:
            ap = f", AP {end.row['AP']:.3f}" if "AP" in end.row else ""
            return f"epoch {end.epoch}/{cfg.epochs}: loss {end.row['loss']:.6f}{ap} ({end.row['seconds']} s)"

        hooks: list[Hook] = [StampTime()]
        if val_sets:
            hooks.append(Validate(lambda end: validate(model, spec, val_sets, info.device, cfg.batch_size)))
        hooks += [RecordHistory(), ExportWeights(model, out / "model.safetensors", cfg.half), keep_best,
                  Checkpoint(checkpoint, out / "checkpoint.pth"), JsonLog(out / "log.jsonl"), ConsoleLine(line)]
        run_epochs(range(start, cfg.epochs), train_epoch, hooks, info, history)
        return {"history": history, "out": str(out), "best_ap": keep_best.best}
    finally:
        cleanup_distributed(info)
