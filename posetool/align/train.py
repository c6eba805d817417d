"""``posetool train align``: learn the TCC embedder from unlabelled performances.

Data: pose streams or synth folders; every track of at least 8 frames is a performance. Batches
hold ``batch_size`` performances of one group (the action of a synth take; all plain streams are
one group, since TCC aligns videos of the same action), chosen with probability proportional to
the group's size. Of each performance ``frames`` distinct frames are drawn at random (sorted,
TCC's random sampling of steps; at most the shortest performance's length); the network embeds
the whole performance, so every sampled frame sees its full temporal context, and the loss runs
on the sampled embeddings. The official code takes 20 frames of a few videos per batch to fit a
video encoder in memory; pose sequences are small, so the defaults are 8 performances (56 ordered
pairs) of up to 64 frames, which learned several times faster than 4 x 32 on synth takes.

- ``regression`` (default): cycle-back regression with the variance-aware Gaussian prior, the
  paper's best (temperature 0.1, lambda 0.001, indices normalised by the length);
- ``classification``: cycle-back classification (label smoothing 0.1);
- ``contrastive``: the baseline without cycles (temporal-contrastive within each performance).

Augmentation (per performance and batch): mirror (left/right swapped, p = 0.5), a small rotation
and anisotropic scale (2D; in 3D, whose features are in the performer's own frame, a turn of up to
15 degrees and a tilt of up to 8), coordinate noise, dropped keypoints
and confidence jitter, so the embedder meets real detections the synth never shows.

Adam with a cosine learning-rate decay over the epochs. Every batch is drawn from
``(seed, epoch, batch)``, and checkpoints hold the model, optimizer, scheduler and random states,
so ``--resume`` continues exactly as an uninterrupted run (engine/trainer.py).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from posetool import console
from posetool.align.embedder import AlignEmbedder, export_embedder, frame_step, model_input
from posetool.align.losses import LOSSES, alignment_loss
from posetool.align.sequences import Performance, load_performances
from posetool.engine.trainer import (
    Checkpoint, ConsoleLine, EpochEnd, Hook, JsonLog, KeepBest, RecordHistory, StampTime, Validate, begin_run,
    cleanup_distributed, run_epochs, set_rng_state, training_spec,
)
from posetool.errors import PosetoolError, UsageError
from posetool.nn.tcc import PoseTCC, build_pose_tcc
from posetool.skeletons import get_skeleton


@dataclass
class AlignTrainConfig:
    """Everything a run depends on (saved in the checkpoint)."""

    data: list[str]
    val: list[str] = field(default_factory=list)
    out: str = "runs/align"
    model: Any = "align_synth"
    loss: str = "regression"
    dims: int = 2
    epochs: int = 40
    iterations: int = 100  # batches per epoch
    batch_size: int = 8  # performances per batch: 56 ordered pairs of cycles
    frames: int = 64  # frames sampled per performance (at most its length)
    lr: float = 1e-3
    weight_decay: float = 1e-5
    temperature: float = 0.1
    variance_lambda: float = 0.001
    label_smoothing: float = 0.1
    augment: bool = True
    flip: bool = True  # mirror augmentation; off for movements whose halves mirror each other (walking)
    seed: int = 0
    device: str = "cpu"
    threads: int = 0
    stop_after: int | None = None  # end this run after that many epochs (continue with --resume)
    init: str | None = None  # weights the run starts from: a trained embedder file, or a registered model's name

    def validate(self) -> AlignTrainConfig:
        if self.loss not in LOSSES:
            raise UsageError(f"--loss must be one of {', '.join(LOSSES)}, got {self.loss!r}")
        if self.dims not in (2, 3):
            raise UsageError(f"--dims must be 2 or 3, got {self.dims}")
        if self.batch_size < 2:
            raise UsageError(f"--batch-size must be at least 2 (cycles need two performances), got {self.batch_size}")
        if self.frames < 2:
            raise UsageError(f"--frames must be at least 2, got {self.frames}")
        return self


def build_network(spec_kwargs: dict[str, Any], dims: int) -> PoseTCC:
    """The registered architecture, for 2D keypoints (coco17) or lifted 3D joints (h36m17)."""
    kwargs = dict(spec_kwargs)
    if dims == 3:
        kwargs.update(in_features=4, skeleton="h36m17", dims=3, num_keypoints=17)
    return build_pose_tcc(**kwargs)


def augment(x: np.ndarray, rng: np.random.Generator, flip_perm: np.ndarray, dims: int,
            flip: bool = True) -> np.ndarray:
    """A randomly perturbed copy of (T, K, F) normalised features (see the module docstring).

    ``flip=False`` never mirrors (the draw is made all the same, so other draws do not move): a
    mirrored walk is the same walk half a cycle later, which would teach the embedder to confuse
    the two halves."""
    x = x.copy()
    if rng.random() < 0.5 and flip:
        x = x[:, flip_perm]
        x[..., 0] *= -1
    xyz = x[..., :dims]
    if dims == 2:
        a = np.radians(rng.uniform(-10, 10))
        rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]]) * rng.uniform(0.9, 1.1, 2)[:, None]
    else:  # the features are in the performer's frame already: a small turn and tilt for its errors
        a, b = np.radians(rng.uniform(-15, 15)), np.radians(rng.uniform(-8, 8))
        yaw = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
        tilt = np.array([[1, 0, 0], [0, np.cos(b), -np.sin(b)], [0, np.sin(b), np.cos(b)]])
        rot = yaw @ tilt * rng.uniform(0.9, 1.1)
    xyz = xyz @ rot.T + rng.normal(0.0, rng.uniform(0.0, 0.03), xyz.shape)
    valid = x[..., -1] > 0
    valid &= rng.random(valid.shape) >= rng.uniform(0.0, 0.08)
    conf = x[..., -1] * (rng.uniform(0.5, 1.0, valid.shape) if dims == 2 else 1.0)
    x[..., :dims] = np.where(valid[..., None], xyz, 0.0)
    x[..., -1] = np.where(valid, conf, 0.0)
    return x.astype(np.float32)


class AlignBatches:
    """Batches of performances of one group, drawn from ``(seed, epoch, batch)`` (resumable).

    ``features`` are the performances' normalised inputs (T, K, F), computed once.
    """

    def __init__(self, perfs: list[Performance], features: list[np.ndarray], cfg: AlignTrainConfig,
                 flip_perm: np.ndarray, model_fps: float) -> None:
        self.perfs, self.features, self.cfg, self.flip_perm = perfs, features, cfg, flip_perm
        self.model_fps = model_fps
        groups: dict[str, list[int]] = defaultdict(list)
        for i, p in enumerate(perfs):
            groups[p.group].append(i)
        self.groups = {g: m for g, m in sorted(groups.items()) if len(m) >= 2}
        if not self.groups:
            raise PosetoolError("training needs at least two performances of one action (group)")
        sizes = np.array([len(m) for m in self.groups.values()], dtype=np.float64)
        self.weights = sizes / sizes.sum()

    def batch(self, epoch: int, index: int) -> tuple[list[np.ndarray], list[int], np.ndarray, np.ndarray]:
        """(inputs [(T_b, K, F)], frame steps per input, (B, N) sampled rows, (B,) lengths)."""
        rng = np.random.default_rng([self.cfg.seed, epoch, index, 11])
        members = list(self.groups.values())[int(rng.choice(len(self.groups), p=self.weights))]
        chosen = rng.choice(members, size=min(self.cfg.batch_size, len(members)), replace=False)
        rows = [np.flatnonzero(self.perfs[i].present) for i in chosen]
        n = min(self.cfg.frames, *(len(r) for r in rows))
        inputs, steps, sampled = [], [], []
        for i, r in zip(chosen, rows):
            x = self.features[i]
            inputs.append(augment(x, rng, self.flip_perm, self.cfg.dims, self.cfg.flip) if self.cfg.augment else x)
            steps.append(frame_step(self.perfs[i].fps, self.model_fps))
            sampled.append(np.sort(rng.choice(r, size=n, replace=False)))
        lengths = np.array([len(self.perfs[i]) for i in chosen])
        return inputs, steps, np.stack(sampled), lengths


def describe_groups(sizes: dict[str, int], listed: int = 8) -> str:
    """``squat (96), jump (96)``; past ``listed`` groups (random movements), their count and sizes."""
    if len(sizes) <= listed:
        return ", ".join(f"{g} ({n})" for g, n in sizes.items())
    low, high = min(sizes.values()), max(sizes.values())
    return f"{len(sizes)} groups of {low if low == high else f'{low}–{high}'} performances"


def check_validation(val: list[Performance]) -> None:
    """Validation needs the phase and two takes of every action, known before the first epoch."""
    counts: dict[str, int] = defaultdict(int)
    for p in val:
        if p.phase is None:
            raise UsageError(f"--val {p.source}: no ground-truth phase (use posetool synth --action takes)")
        counts[p.group] += 1
    few = [g for g, n in counts.items() if n < 2]
    if few:
        raise UsageError(f"--val: action {few[0]} has a single take; validation aligns pairs of takes")


def labelled_count(val: list[Performance]) -> int:
    """Validation takes per action that play the labelled ones of phase progression: half of the
    smallest action's (0, no progression, when an action has fewer than 4 takes)."""
    counts = Counter(p.group for p in val)
    return min(counts.values()) // 2 if counts and min(counts.values()) >= 4 else 0


class ExportEmbedder(Hook):
    """Writes ``model.safetensors`` (with the architecture metadata) after every epoch."""

    def __init__(self, model: PoseTCC, path: Path) -> None:
        self.model, self.path = model, path

    def after_epoch(self, end: EpochEnd) -> None:
        export_embedder(self.model, self.path)


def start_from(model: PoseTCC, init: str) -> None:
    """``--init``: load a trained embedder file, or the shipped weights of the model named ``init``
    (e.g. ``align_synth``: adapt it to takes of another movement), into ``model``."""
    from posetool.hub.checkpoint import load_into, load_state
    from posetool.hub.weights import init_weights

    path = init_weights(init, "align")
    load_into(model, load_state(path), str(path))


def _fit_epoch(model: PoseTCC, batches: AlignBatches, optimizer: torch.optim.Optimizer, epoch: int,
               cfg: AlignTrainConfig, device: torch.device) -> float:
    model.train()
    total = 0.0
    for b in range(cfg.iterations):
        inputs, steps, sampled, lengths = batches.batch(epoch, b)
        embs = []
        for x, step, rows in zip(inputs, steps, sampled):
            out = model(torch.from_numpy(x)[None].to(device), step)[0]
            embs.append(out[torch.from_numpy(rows).to(device)])
        loss = alignment_loss(cfg.loss, torch.stack(embs), torch.from_numpy(sampled).to(device),
                              torch.from_numpy(lengths).to(device), temperature=cfg.temperature,
                              variance_lambda=cfg.variance_lambda, label_smoothing=cfg.label_smoothing)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total += float(loss.detach())
    return total / max(cfg.iterations, 1)


def train_align(cfg: AlignTrainConfig, resume: str | None = None) -> dict[str, Any]:
    """Run (or continue) a training run; returns the history and the output folder."""
    cfg.validate()
    if not cfg.data:
        raise UsageError("no training data; pass pose streams or posetool synth --action folders")
    spec = training_spec(cfg.model, "align")
    info, state = begin_run(cfg, spec.name, resume, ("data", "seed", "batch_size", "lr", "loss", "dims", "frames",
                                                      "iterations", "epochs", "augment", "flip"))
    out = Path(cfg.out)
    try:
        model = build_network(spec.kwargs, cfg.dims).to(info.device)
        if cfg.init and state is None:
            start_from(model, cfg.init)
        skeleton, dims = str(model.config["skeleton"]), int(model.config["dims"])
        perfs = load_performances(cfg.data, dims)
        features = [model_input(p, skeleton, dims) for p in perfs]
        batches = AlignBatches(perfs, features, cfg, get_skeleton(skeleton).flip_permutation,
                               float(model.config["fps"]))
        val = load_performances(cfg.val, dims) if cfg.val else []
        check_validation(val)
        val_labelled = labelled_count(val)
        optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=cfg.epochs)
        history: list[dict[str, Any]] = []
        start = 0
        if state is not None:
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            scheduler.load_state_dict(state["scheduler"])
            start, history = int(state["epoch"]), list(state.get("history", []))
            set_rng_state(state["rng"])
        out.mkdir(parents=True, exist_ok=True)
        groups = describe_groups({g: len(m) for g, m in batches.groups.items()})
        console.info(f"train align: {spec.name}, {cfg.loss} loss, {len(perfs)} performances [{groups}], "
                     f"{cfg.epochs} epochs x {cfg.iterations} batches of {cfg.batch_size}, device {info.device}")

        def train_epoch(epoch: int) -> dict[str, Any]:
            loss = _fit_epoch(model, batches, optimizer, epoch, cfg, info.device)
            lr = optimizer.param_groups[0]["lr"]
            scheduler.step()
            return {"epoch": epoch + 1, "loss": loss, "lr": lr}

        def validation(end: EpochEnd) -> dict[str, Any]:
            from posetool.align.evaluate import evaluate_performances

            model.eval()
            res = evaluate_performances(val, AlignEmbedder(model, info.device, spec.name), labelled=val_labelled,
                                        use_dtw=False, classification=False)["overall"]
            row = {"val_tau": res["tau"], "val_phase_error": res["phase_error_nn"]}
            if val_labelled:
                row["val_progression"] = res["progression"]
            row["val_score"] = row["val_tau"] + row.get("val_progression", 0.0)
            return row

        def checkpoint(end: EpochEnd) -> dict[str, Any]:
            return {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(), "epoch": end.epoch, "history": end.history,
                    "config": {**asdict(cfg), "model": spec.name}}

        def line(end: EpochEnd) -> str:
            r = end.row
            val_text = f", val tau {r['val_tau']:.3f} phase error {r['val_phase_error']:.3f}" if "val_tau" in r else ""
            val_text += f" progression {r['val_progression']:.3f}" if "val_progression" in r else ""
            return f"epoch {end.epoch}/{cfg.epochs}: loss {r['loss']:.4f}{val_text} ({r['seconds']} s)"

        hooks: list[Hook] = [StampTime()]
        if val:
            # best.safetensors: the epoch with the best tau + phase progression (R²) on the validation
            # takes (tau alone where --val has too few takes per action for progression): tau alone
            # picked epochs whose nearest neighbours keep time's order but whose embeddings progress
            # less linearly with the phase. Selection on --val, never on test takes.
            best = max((float(r.get("val_score", -1.0)) for r in history), default=-1.0)
            hooks += [Validate(validation), KeepBest(model, out / "best.safetensors", False, best, metric="val_score",
                                                     export=lambda path: export_embedder(model, path))]
        hooks += [RecordHistory(), ExportEmbedder(model, out / "model.safetensors"),
                  Checkpoint(checkpoint, out / "checkpoint.pth"), JsonLog(out / "log.jsonl"), ConsoleLine(line)]
        run_epochs(range(start, min(cfg.epochs, cfg.stop_after or cfg.epochs)), train_epoch, hooks, info, history)
        return {"history": history, "out": str(out)}
    finally:
        cleanup_distributed(info)
