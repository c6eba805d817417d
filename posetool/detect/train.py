"""``posetool train detect``: train the CenterNet person detector.

The recipe of the official CenterNet ``ctdet`` training, sized for CPU: images letterboxed to the
model's input, random zoom (1 + 0.4·N(0, 1) clipped to [0.6, 1.4]), random shift of the centre
(0.1·N(0, 1) of the input size, clipped to ±0.2), horizontal flip (p = 0.5) and brightness /
contrast / saturation jitter (±0.4); Gaussian centre targets, focal loss + 0.1·L1 size + L1
offset (:mod:`posetool.detect.centernet`); Adam (lr 1.25e-4 per 32 images in the paper — here a
configurable lr, default 5e-4) with ×0.1 steps at 70 % and 90 % of the run.

Every epoch's sample order and augmentation derive from ``(seed, epoch, index)``, so ``--resume``
continues exactly. Validation (box AP through pycocotools) runs after each epoch when ``--val``
datasets are given. Under ``torchrun`` each rank trains its share of the epoch (DDP).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from posetool import console
from posetool.data.coco_boxes import BoxDataset, open_box_dataset
from posetool.detect.centernet import build_targets, centernet_loss, decode
from posetool.errors import PosetoolError, UsageError
from posetool.nn.centernet import OUTPUT_STRIDE
from posetool.hub.registry import InputSpec
from posetool.preprocess import letterbox_matrix, to_input
from posetool.engine.trainer import (
    Checkpoint, ConsoleLine, EpochDataset, EpochEnd, EpochSampler, ExportWeights, Hook, JsonLog, KeepBest, RecordHistory,
    StampTime, Validate, all_reduce_sum, begin_run, cleanup_distributed, run_epochs, set_rng_state, training_spec,
    unwrap, wrap_ddp,
)


@dataclass
class DetectTrainConfig:
    """Everything a run depends on (saved in the checkpoint)."""

    data: list[str]
    val: list[str] = field(default_factory=list)
    out: str = "runs/detect"
    model: Any = "centernet_r18_synth"
    epochs: int = 12
    batch_size: int = 16
    lr: float = 5e-4
    seed: int = 0
    device: str = "auto"
    workers: int = 0
    max_objs: int = 64
    half: bool = True
    threads: int = 0
    stop_after: int | None = None  # end this run after that many epochs of the schedule (resume later)
    init: str | None = None  # weights file or registered detector to start from (fine-tuning)

    def milestones(self) -> list[int]:
        return sorted({max(1, int(self.epochs * 0.7)), max(1, int(self.epochs * 0.9))})


def _augment_matrix(width: int, height: int, spec: InputSpec, rng: np.random.Generator | None) -> tuple[np.ndarray, bool]:
    """3×3 map from image pixels to network input pixels, and whether it mirrors."""
    m = np.eye(3)
    m[:2] = letterbox_matrix(width, height, spec.width, spec.height)
    if rng is None:
        return m, False
    zoom = float(np.clip(1 + 0.4 * rng.standard_normal(), 0.6, 1.4))
    shift = np.clip(0.1 * rng.standard_normal(2), -0.2, 0.2) * [spec.width, spec.height]
    c = np.array([spec.width / 2, spec.height / 2])
    aug = np.array([[zoom, 0, (1 - zoom) * c[0] + shift[0]], [0, zoom, (1 - zoom) * c[1] + shift[1]], [0, 0, 1]])
    flip = bool(rng.random() < 0.5)
    if flip:
        aug = np.array([[-1, 0, spec.width], [0, 1, 0], [0, 0, 1]]) @ aug
    return aug @ m, flip


def _photometric(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Brightness, contrast and saturation jitter of ±0.4 in random order (as CenterNet's color_aug)."""
    x = img.astype(np.float32)
    for op in rng.permutation(3):
        a = 1 + rng.uniform(-0.4, 0.4)
        if op == 0:
            x = x * a
        elif op == 1:
            x = (x - x.mean()) * a + x.mean()
        else:
            grey = x.mean(axis=2, keepdims=True)
            x = (x - grey) * a + grey
    return np.clip(x, 0, 255)


def make_example(image: np.ndarray, boxes: np.ndarray, spec: InputSpec, rng: np.random.Generator | None,
                 max_objs: int) -> tuple[torch.Tensor, dict[str, np.ndarray]]:
    """One training input (3, H_in, W_in) float32 and its CenterNet targets."""
    h, w = image.shape[:2]
    m, _ = _augment_matrix(w, h, spec, rng)
    warped = cv2.warpAffine(image, m[:2], (spec.width, spec.height), flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0))
    pixels = _photometric(warped, rng) if rng is not None else warped
    out_boxes = np.zeros((0, 4))
    if len(boxes):
        corners = np.stack([boxes[:, [0, 1]], boxes[:, [2, 1]], boxes[:, [0, 3]], boxes[:, [2, 3]]], axis=1)  # (N, 4, 2)
        pts = corners @ m[:2, :2].T + m[:2, 2]
        out_boxes = np.concatenate([pts.min(1), pts.max(1)], axis=1) / OUTPUT_STRIDE
    targets = build_targets(out_boxes, spec.width // OUTPUT_STRIDE, spec.height // OUTPUT_STRIDE, max_objs)
    return to_input(pixels[None], spec)[0], targets


class DetectTrainSet(EpochDataset):
    """All images of the training datasets, augmented deterministically per (seed, epoch, index)."""

    def __init__(self, datasets: list[BoxDataset], spec: InputSpec, seed: int, max_objs: int) -> None:
        super().__init__([(d, i) for d, ds in enumerate(datasets) for i in range(len(ds.items))], seed)
        self.datasets, self.spec, self.max_objs = datasets, spec, max_objs

    def __getitem__(self, k: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        d, i = self.entries[k]
        key, boxes, _ = self.datasets[d].items[i]
        x, t = make_example(self.datasets[d].image(key), boxes, self.spec, self.rng(k), self.max_objs)
        return x, {name: torch.from_numpy(v) for name, v in t.items()}


@torch.no_grad()
def predict_dataset(model: nn.Module, spec: InputSpec, ds: BoxDataset, device: torch.device, batch_size: int,
                    top_k: int = 100) -> list[dict[str, Any]]:
    """COCO box results of ``model`` on every image of ``ds`` (letterbox only, no augmentation)."""
    net = unwrap(model)
    was = net.training
    net.eval()
    results = []
    for start in range(0, len(ds.items), batch_size):
        chunk = ds.items[start:start + batch_size]
        images = [ds.image(key) for key, _, _ in chunk]
        xs, mats = [], []
        for img in images:
            x, _ = make_example(img, np.zeros((0, 4)), spec, None, 1)
            xs.append(x)
            mats.append(letterbox_matrix(img.shape[1], img.shape[0], spec.width, spec.height))
        boxes, scores = decode(net(torch.stack(xs).to(device)), top_k)
        for (key, _, iid), b, s, m in zip(chunk, boxes.cpu().numpy(), scores.cpu().numpy(), mats):
            b = b.astype(np.float64) * OUTPUT_STRIDE
            b[:, [0, 2]] = (b[:, [0, 2]] - m[0, 2]) / m[0, 0]
            b[:, [1, 3]] = (b[:, [1, 3]] - m[1, 2]) / m[1, 1]
            for (x1, y1, x2, y2), sc in zip(b, s):
                if sc >= 0.01:
                    results.append({"image_id": iid, "category_id": 1, "bbox": [x1, y1, x2 - x1, y2 - y1], "score": float(sc)})
    net.train(was)
    return results


def validate(model: nn.Module, spec: InputSpec, datasets: list[BoxDataset], device: torch.device, batch_size: int) -> dict[str, Any]:
    """Box AP (pycocotools) averaged over the validation datasets."""
    from posetool.eval.coco import evaluate_coco_boxes

    stats = []
    was_quiet = console.is_quiet()
    console.set_quiet(True)  # pycocotools' own printout would flood the training log
    try:
        for ds in datasets:
            res = predict_dataset(model, spec, ds, device, batch_size)
            stats.append(evaluate_coco_boxes(str(ds.gt_path), res)["stats"] if res else [0.0] * 12)
    finally:
        console.set_quiet(was_quiet)
    mean = np.mean(np.asarray(stats), axis=0)
    return {"AP": float(mean[0]), "AP50": float(mean[1]), "AP75": float(mean[2]), "AR100": float(mean[8])}


def _collate(batch):
    xs = torch.stack([b[0] for b in batch])
    targets = {k: torch.stack([b[1][k] for b in batch]) for k in batch[0][1]}
    return xs, targets


def _fit_epoch(model: nn.Module, loader: DataLoader, optimizer: torch.optim.Optimizer,
               device: torch.device) -> np.ndarray:
    """One pass over ``loader`` in training mode; this rank's sums (loss·n, hm·n, wh·n, n)."""
    model.train()
    sums = np.zeros(4)
    for x, targets in loader:
        x = x.to(device)
        targets = {k: v.to(device) for k, v in targets.items()}
        loss, parts = centernet_loss(model(x), targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        n = len(x)
        sums += [float(loss.detach()) * n, parts["hm"] * n, parts["wh"] * n, n]
    return sums


def train_detect(cfg: DetectTrainConfig, resume: str | None = None) -> dict[str, Any]:
    """Run (or continue) CenterNet training; returns the history and output folder."""
    if not cfg.data:
        raise UsageError("no training data; pass synth output folders or COCO JSON files")
    spec = training_spec(cfg.model, "detect")
    if spec.runtime != "torch" or spec.input is None:
        raise UsageError(f"model {spec.name} is not a trainable detector (try centernet_r18_synth)")
    info, state = begin_run(cfg, spec.name, resume, ("data", "seed", "batch_size", "lr"))
    out = Path(cfg.out)
    try:
        train_sets = [open_box_dataset(p) for p in cfg.data]
        val_sets = [open_box_dataset(p) for p in cfg.val]
        trainset = DetectTrainSet(train_sets, spec.input, cfg.seed, cfg.max_objs)
        if len(trainset) == 0:
            raise PosetoolError("the training data holds no image")
        sampler = EpochSampler(len(trainset), cfg.seed, info.rank, info.world_size)
        loader = DataLoader(trainset, batch_size=cfg.batch_size, sampler=sampler, num_workers=cfg.workers,
                            drop_last=len(sampler) > cfg.batch_size, collate_fn=_collate)
        model = spec.build().to(info.device)
        if cfg.init and state is None:  # a resumed run has its own weights
            from posetool.hub.checkpoint import load_into, load_state, model_state
            from posetool.hub.weights import init_weights

            path = init_weights(cfg.init, "detect")
            load_into(model, model_state(load_state(path), str(path)), str(path))
        optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
        scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, cfg.milestones(), 0.1)
        history: list[dict[str, Any]] = []
        start, best = 0, -1.0
        if state is not None:
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            scheduler.load_state_dict(state["scheduler"])
            start, history = int(state["epoch"]), list(state.get("history", []))
            best = float(state.get("best_ap", -1.0))
            set_rng_state(state["rng"])
        model = wrap_ddp(model, info)
        if info.is_main:
            out.mkdir(parents=True, exist_ok=True)
            console.info(f"train detect: {spec.name}, {len(trainset)} images from {len(train_sets)} dataset(s), "
                         f"{cfg.epochs} epochs, batch {cfg.batch_size}, device {info.device}")

        def train_epoch(epoch: int) -> dict[str, Any]:
            trainset.set_epoch(epoch)
            sampler.set_epoch(epoch)
            sums = _fit_epoch(model, loader, optimizer, info.device)
            scheduler.step()
            total, hm, wh, count = all_reduce_sum(sums.tolist(), info)
            n = max(count, 1)
            return {"epoch": epoch + 1, "loss": total / n, "hm": hm / n, "wh": wh / n,
                    "lr": optimizer.param_groups[0]["lr"]}

        # best.safetensors: the epoch with the best validation box AP (as train pose2d)
        keep_best = KeepBest(model, out / "best.safetensors", cfg.half, best, enabled=bool(val_sets))

        def checkpoint(end: EpochEnd) -> dict[str, Any]:
            return {"model": unwrap(model).state_dict(), "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(), "epoch": end.epoch, "history": end.history,
                    "best_ap": keep_best.best,
                    "config": {**asdict(cfg), "model": spec.name}}

        def line(end: EpochEnd) -> str:
            ap = f", box AP {end.row['AP']:.3f}" if "AP" in end.row else ""
            return f"epoch {end.epoch}/{cfg.epochs}: loss {end.row['loss']:.4f}{ap} ({end.row['seconds']} s)"

        hooks: list[Hook] = [StampTime()]
        if val_sets:
            hooks.append(Validate(lambda end: validate(model, spec.input, val_sets, info.device, cfg.batch_size)))
        hooks += [RecordHistory(), ExportWeights(model, out / "model.safetensors", cfg.half), keep_best,
                  Checkpoint(checkpoint, out / "checkpoint.pth"), JsonLog(out / "log.jsonl"), ConsoleLine(line)]
        run_epochs(range(start, min(cfg.epochs, cfg.stop_after or cfg.epochs)), train_epoch, hooks, info, history)
        return {"history": history, "out": str(out)}
    finally:
        cleanup_distributed(info)
