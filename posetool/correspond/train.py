"""``posetool train correspond``: self-supervised training of the keypoint correspondence network.

The recipe of Rafi et al. (ECCV 2020): pairs are made from single images (:mod:`posetool.correspond.pairs`),
Gaussian target maps, binary cross-entropy; first the **Siamese stage** (backbone; loss on the softmax
affinity maps), then the **refinement stage** (backbone frozen, as the authors' ``Siamese(local_ckpt=...)``
freezes it; loss on the refined logits). Each phase uses Adam at ``lr`` with one ×0.1 step halfway
(the paper: 100 epochs each, 1e-4 → 1e-5 after 50).

A checkpoint after every epoch holds the phase, model, optimiser, scheduler and RNG states; the pairs of
every epoch derive from ``(seed, epoch, index)``, so ``--resume`` continues exactly. Under ``torchrun``
each rank takes its share of every epoch's permutation (DDP); rank 0 validates and writes files.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader

from posetool import console
from posetool.correspond.data import Footage, open_footage
from posetool.correspond.dataset import PairDataset
from posetool.correspond.pairs import PairConfig
from posetool.errors import PosetoolError, UsageError
from posetool.hub.weights import init_weights
from posetool.engine.trainer import (
    Checkpoint,
    ConsoleLine,
    DistInfo,
    EpochEnd,
    EpochSampler,
    ExportWeights,
    Hook,
    JsonLog,
    RecordHistory,
    StampTime,
    Validate,
    all_reduce_sum,
    begin_run,
    cleanup_distributed,
    run_epochs,
    set_rng_state,
    training_spec,
    unwrap,
    wrap_ddp,
)

PHASES = ("siamese", "refine")


@dataclass
class CorrespondTrainConfig:
    """Everything a run depends on (saved in the checkpoint)."""

    data: list[str]
    val: list[str] = field(default_factory=list)
    out: str = "runs/correspond"
    model: Any = "correspond_r18_synth"  # a registered name, or a ModelSpec
    siamese_epochs: int = 100
    refine_epochs: int = 100
    batch_size: int = 16
    lr: float = 1e-4
    lr_factor: float = 0.1
    seed: int = 0
    device: str = "auto"
    workers: int = 0
    threads: int | None = None
    sigma: float = 1.5
    context: tuple[float, float] | None = None  # None: 0.8-1.3 x the model's inference window (spec defaults)
    scale: tuple[float, float] = (0.8, 1.25)
    rotation: float = 20.0
    translation: float = 0.15
    photometric: bool = True
    max_pairs: int | None = None  # cap on pairs per epoch (a random subset each epoch)
    half: bool = False
    stop_after: int | None = None  # end this run after N epochs (continue with --resume)
    init: str | None = None  # weights (a file or a registered model's name) whose Siamese stage starts the run
    flip: float = 0.0  # probability of mirroring a pair (both windows)
    occluders: float = 0.0  # probability of a synthetic occluder on image 2
    frame_gap: int = 0  # real frame pairs t-k -> t (k <= frame_gap) from tracked streams and footage; 0: off
    label_thr: float = 0.5  # unlabelled footage: the real chain's keypoints at or above this are labels
    cell_targets: bool = False  # targets where the query's feature cell centre goes, unrounded (PairConfig)

    def phase_of(self, epoch: int) -> tuple[str, int, int]:
        """(phase, epoch within the phase, epochs of the phase) of a global 0-based epoch."""
        if epoch < self.siamese_epochs:
            return "siamese", epoch, self.siamese_epochs
        return "refine", epoch - self.siamese_epochs, self.refine_epochs


def bce_probabilities(p: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy of probability maps (P, K, h, w) against targets, weighted per map (P, K)."""
    p = p.clamp(1e-12, 1.0 - 1e-6)
    loss = -(target * torch.log(p) + (1 - target) * torch.log1p(-p))
    return (loss.mean(dim=(2, 3)) * weight).sum() / weight.sum().clamp_min(1.0)


def bce_logits(logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy with logits (P, K, h, w), weighted per map (P, K)."""
    loss = nn.functional.binary_cross_entropy_with_logits(logits, target, reduction="none")
    return (loss.mean(dim=(2, 3)) * weight).sum() / weight.sum().clamp_min(1.0)


def pair_accuracy(maps: torch.Tensor, targets: torch.Tensor, valid: torch.Tensor, stride: int, radius: float) -> tuple[int, int]:
    """Present targets whose map arg-max (×stride, in input pixels) lies within ``radius`` px: (hits, count)."""
    p, k, _, w = maps.shape
    idx = maps.reshape(p, k, -1).argmax(-1)
    xy = torch.stack([idx % w, idx // w], -1).float() * stride
    d = (xy - targets).norm(dim=-1)
    ok = valid.bool()
    return int(((d <= radius) & ok).sum()), int(ok.sum())


class SiameseStep(nn.Module):
    """Forward of the Siamese phase: image pairs (P, 3, S, S) and queries (P, K, 2) → affinity maps (P, K, h, w)."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, image_a: torch.Tensor, image_b: torch.Tensor, queries: torch.Tensor,
                valid: torch.Tensor) -> torch.Tensor:
        return self.net.affinity(self.net.features(image_a), self.net.features(image_b), queries, valid)


class RefineStep(nn.Module):
    """Forward of the refinement phase: features (P, C, h, w) ×2 and affinities (P, K, h, w) → logits."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, fa: torch.Tensor, fb: torch.Tensor, aff: torch.Tensor) -> torch.Tensor:
        return self.net.refine(fa, fb, aff)


def run_batch(step: nn.Module, net: nn.Module, batch: dict[str, torch.Tensor], phase: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Loss of one batch and the maps it is computed on (affinities, or refined logits).

    ``step`` is the phase's forward module (:class:`SiameseStep`/:class:`RefineStep`, DDP-wrapped when
    distributed); ``net`` the bare network.
    """
    if phase == "siamese":
        aff = step(batch["image_a"], batch["image_b"], batch["queries"], batch["query_valid"])
        return bce_probabilities(aff, batch["heatmaps"], batch["weights"]), aff
    with torch.no_grad():  # the Siamese stage is frozen while the refinement trains
        fa, fb = net.features(batch["image_a"]), net.features(batch["image_b"])
        aff = net.affinity(fa, fb, batch["queries"], batch["query_valid"])
    logits = step(fa, fb, aff)
    return bce_logits(logits, batch["heatmaps"], batch["weights"]), logits


@torch.no_grad()
def validate(model: nn.Module, loader: DataLoader, phase: str, device: torch.device, stride: int) -> dict[str, float]:
    """Mean loss and arg-max accuracy within 4 and 8 input pixels on fixed validation pairs."""
    net = unwrap(model)
    was = net.training
    net.eval()
    total, n, hit4, hit8, cnt = 0.0, 0, 0, 0, 0
    for batch in loader:
        batch = {k: v.to(device) for k, v in batch.items()}
        step = SiameseStep(net) if phase == "siamese" else RefineStep(net)
        loss, maps = run_batch(step, net, batch, phase)
        total += float(loss) * len(batch["queries"])
        n += len(batch["queries"])
        h4, c = pair_accuracy(maps, batch["targets"], batch["target_valid"], stride, 4.0)
        h8, _ = pair_accuracy(maps, batch["targets"], batch["target_valid"], stride, 8.0)
        hit4, hit8, cnt = hit4 + h4, hit8 + h8, cnt + c
    net.train(was)
    return {"val_loss": total / max(n, 1), "val_acc4": hit4 / max(cnt, 1), "val_acc8": hit8 / max(cnt, 1)}


def training_context(context: tuple[float, float] | None, spec: Any) -> tuple[float, float]:
    """The range of window sides (× the person's longer side) pairs are cut at: ``context`` when given,
    else 0.8–1.3 × the window the model runs at (its spec's ``defaults``; 2.0 → the synth recipe's 1.6–2.6),
    so that a model fine-tuned with ``--model correspond_real`` trains around its 1.25 window."""
    if context is not None:
        return (float(context[0]), float(context[1]))
    from posetool.correspond.backends import DEFAULT_CONTEXT

    c = float(spec.defaults.get("context", DEFAULT_CONTEXT))
    return (round(0.8 * c, 4), round(1.3 * c, 4))


def _load_siamese(net: nn.Module, path: str) -> None:
    """Load only the Siamese stage (keys ``siamese.*``) of a weights file, as the authors' refiner
    training loads a trained local-correlation model (``Siamese(local_ckpt=...)``)."""
    from posetool.hub.checkpoint import load_into, load_state

    state = load_state(path, official=False)
    part = {k[len("siamese."):]: v for k, v in state.items() if k.startswith("siamese.")}
    if not part:
        raise PosetoolError(f"--init {path}: no Siamese-stage weights (keys siamese.*) in the file")
    load_into(net.siamese, part, path)
    if net.log_temperature is not None:  # the learnt correlation temperature belongs to the Siamese stage
        if "log_temperature" not in state:
            raise PosetoolError(f"--init {path}: the model learns a correlation temperature, the file has none")
        with torch.no_grad():
            net.log_temperature.copy_(state["log_temperature"].reshape(()))


def _siamese_parameters(net: nn.Module) -> list[nn.Parameter]:
    """The backbone's parameters and, when the model has one, the learnt correlation temperature."""
    extra = [net.log_temperature] if net.log_temperature is not None else []
    return list(net.siamese.parameters()) + extra


def _set_trainable(net: nn.Module, phase: str) -> list[nn.Parameter]:
    """Freeze the Siamese stage in the refinement phase; return the parameters to optimise."""
    for p in _siamese_parameters(net):
        p.requires_grad_(phase == "siamese")
    for p in net.refinement.parameters():
        p.requires_grad_(phase == "refine")
    return _siamese_parameters(net) if phase == "siamese" else list(net.refinement.parameters())


def _set_modes(net: nn.Module, phase: str) -> None:
    net.train()
    if phase == "refine":  # frozen BatchNorm statistics too
        net.siamese.eval()


@dataclass
class _Phase:
    """The phase being trained: its name, optimiser, schedule and forward module (DDP-wrapped when distributed)."""

    name: str
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.MultiStepLR
    forward: nn.Module


def _start_phase(net: nn.Module, name: str, phase_len: int, cfg: CorrespondTrainConfig, info: DistInfo) -> _Phase:
    """Freeze what ``name`` does not train; Adam at ``cfg.lr`` over the rest, ×``lr_factor`` halfway."""
    optimizer = torch.optim.Adam(_set_trainable(net, name), lr=cfg.lr)
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, [max(1, phase_len // 2)], cfg.lr_factor)
    forward: nn.Module = SiameseStep(net) if name == "siamese" else RefineStep(net)
    return _Phase(name, optimizer, scheduler, wrap_ddp(forward, info))


def _fit_epoch(phase: _Phase, net: nn.Module, loader: DataLoader, cfg: CorrespondTrainConfig,
               device: torch.device) -> tuple[float, int]:
    """One pass over ``loader`` (at most ``cfg.max_pairs`` pairs); this rank's summed loss·pairs and pair count."""
    _set_modes(net, phase.name)
    total, count = 0.0, 0
    for step, batch in enumerate(loader):
        if cfg.max_pairs is not None and step * cfg.batch_size >= cfg.max_pairs:
            break
        batch = {k: v.to(device, non_blocking=True) for k, v in batch.items()}
        loss, _ = run_batch(phase.forward, net, batch, phase.name)
        phase.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        phase.optimizer.step()
        total += float(loss.detach()) * len(batch["queries"])
        count += len(batch["queries"])
    return total, count


def _open_sources(specs: list[str], cfg: CorrespondTrainConfig, out: Path, info: DistInfo) -> list[Footage]:
    """Each data argument as :class:`Footage`; unlabelled footage gets pseudo-labels in ``OUT/pseudo``
    (labelled by rank 0 while the other ranks wait, then read from that cache by all)."""
    def open_all() -> list[Footage]:
        return [open_footage(p, str(out / "pseudo"), cfg.label_thr, cfg.frame_gap, cfg.device) for p in specs]

    if info.world_size > 1 and not info.is_main:
        torch.distributed.barrier()
        return open_all()
    sources = open_all()
    if info.world_size > 1:
        torch.distributed.barrier()
    return sources


def _flip_index(skeleton: str | None, k: int) -> Any:
    """Left/right permutation of the model's skeleton, for mirrored pairs."""
    from posetool.skeletons import get_skeleton

    if skeleton is None:
        raise UsageError("--flip needs a model with a named skeleton")
    perm = get_skeleton(skeleton).flip_permutation
    if len(perm) != k:
        raise UsageError(f"--flip: skeleton {skeleton} has {len(perm)} keypoints, the model {k}")
    return perm


def train_correspond(cfg: CorrespondTrainConfig, resume: str | None = None) -> dict[str, Any]:
    """Run (or continue) training; returns the history (a list of epoch dicts) and the run folder."""
    if not cfg.data:
        raise UsageError("no training data; pass synth folders, COCO keypoint files or pose streams")
    if cfg.siamese_epochs + cfg.refine_epochs < 1:
        raise UsageError("--siamese-epochs and --refine-epochs are both 0; nothing to train")
    spec = training_spec(cfg.model, "correspond")
    if spec.input is None or spec.input.width != spec.input.height or spec.input.width % 32:
        raise UsageError(f"model {spec.name}: correspondence models need a square input, a multiple of 32")
    info, state = begin_run(cfg, spec.name, resume, ("data", "seed", "batch_size", "lr", "siamese_epochs", "max_pairs"))
    out = Path(cfg.out)
    try:
        pcfg = PairConfig(size=spec.input.width, context=training_context(cfg.context, spec),
                          scale=tuple(cfg.scale), rotation=cfg.rotation, translation=cfg.translation,
                          photometric=cfg.photometric, sigma=cfg.sigma, flip=cfg.flip, occluder=cfg.occluders,
                          cell_targets=cfg.cell_targets)
        init = str(init_weights(cfg.init, "correspond")) if cfg.init else None
        # unlabelled footage is labelled by the real chain once, into the run folder (rank 0 first under DDP)
        train_src = _open_sources(cfg.data, cfg, out, info)
        val_src = _open_sources(cfg.val, cfg, out, info)
        model = spec.build().to(info.device)
        k = unwrap(model).num_keypoints
        for ds in [f.single for f in train_src + val_src]:
            if ds.num_joints != k:
                raise PosetoolError(f"{ds.name}: {ds.num_joints} keypoints per person, model {spec.name} queries {k}")
        flip_index = _flip_index(spec.skeleton, k) if cfg.flip > 0 else None
        inp = spec.input
        trainset = PairDataset([f.single for f in train_src], pcfg, inp.mean, inp.std, inp.channel_order, cfg.seed,
                               tracked=[f.tracked for f in train_src if f.tracked], flip_index=flip_index)
        if len(trainset) == 0:
            raise PosetoolError("the training data holds no person with at least 3 labelled keypoints")
        sampler = EpochSampler(len(trainset), cfg.seed, info.rank, info.world_size)
        loader = DataLoader(trainset, batch_size=cfg.batch_size, sampler=sampler, num_workers=cfg.workers,
                            drop_last=len(sampler) > cfg.batch_size, pin_memory=info.device.type == "cuda")
        val_loader = None
        if val_src:
            valset = PairDataset([f.single for f in val_src], pcfg, inp.mean, inp.std, inp.channel_order, seed=12345,
                                 tracked=[f.tracked for f in val_src if f.tracked], flip_index=flip_index)
            val_loader = DataLoader(valset, batch_size=cfg.batch_size, shuffle=False, num_workers=cfg.workers)

        history: list[dict[str, Any]] = []
        start = 0
        if init and state is None:
            _load_siamese(unwrap(model), init)
        if state is not None:
            unwrap(model).load_state_dict(state["model"])
            start, history = int(state["epoch"]), list(state.get("history", []))
        total_epochs = cfg.siamese_epochs + cfg.refine_epochs
        net = unwrap(model)
        phase: _Phase | None = None
        if info.is_main:
            out.mkdir(parents=True, exist_ok=True)
            pairs = f" ({trainset.frame_pairs} of them real frame pairs)" if trainset.frame_pairs else ""
            console.info(f"train correspond: {spec.name}, {len(trainset)} pairs per epoch{pairs} "
                         f"from {len(train_src)} source(s), "
                         f"{cfg.siamese_epochs} Siamese + {cfg.refine_epochs} refinement epochs, batch {cfg.batch_size}, "
                         f"device {info.device}")

        def train_epoch(epoch: int) -> dict[str, Any]:
            nonlocal phase
            name, _, phase_len = cfg.phase_of(epoch)
            if phase is None or phase.name != name:  # a fresh optimiser per phase (new parameter set)
                phase = _start_phase(net, name, phase_len, cfg, info)
                if state is not None and state.get("phase") == name and epoch == start:
                    phase.optimizer.load_state_dict(state["optimizer"])
                    phase.scheduler.load_state_dict(state["scheduler"])
            if state is not None and epoch == start:
                set_rng_state(state["rng"])
            trainset.set_epoch(epoch)
            sampler.set_epoch(epoch)
            lr_used = phase.optimizer.param_groups[0]["lr"]
            total, count = _fit_epoch(phase, net, loader, cfg, info.device)
            phase.scheduler.step()
            total, count = all_reduce_sum([total, float(count)], info)
            return {"epoch": epoch + 1, "phase": name, "loss": total / max(count, 1), "lr": lr_used}

        def checkpoint(end: EpochEnd) -> dict[str, Any]:
            assert phase is not None  # set by the epoch just trained
            return {"model": net.state_dict(), "optimizer": phase.optimizer.state_dict(),
                    "scheduler": phase.scheduler.state_dict(), "epoch": end.epoch, "phase": end.row["phase"],
                    "history": end.history, "config": {**asdict(cfg), "model": spec.name}}

        def line(end: EpochEnd) -> str:
            row = end.row
            extra = f", val acc@4px {row['val_acc4']:.3f} @8px {row['val_acc8']:.3f}" if "val_acc4" in row else ""
            return (f"epoch {end.epoch}/{total_epochs} ({row['phase']}): loss {row['loss']:.5f}{extra} "
                    f"({row['seconds']} s)")

        hooks: list[Hook] = [StampTime()]
        if val_loader is not None:
            hooks.append(Validate(lambda end: validate(net, val_loader, end.row["phase"], info.device, net.stride)))
        hooks += [RecordHistory(), ExportWeights(net, out / "model.safetensors", cfg.half),
                  Checkpoint(checkpoint, out / "checkpoint.pth"), JsonLog(out / "log.jsonl"), ConsoleLine(line)]
        # --stop-after N ends this run after N epochs (at least one, as before), to be continued with --resume
        stop = total_epochs if cfg.stop_after is None else min(total_epochs, start + max(cfg.stop_after, 1))
        run_epochs(range(start, stop), train_epoch, hooks, info, history)
        return {"history": history, "out": str(out)}
    finally:
        cleanup_distributed(info)

