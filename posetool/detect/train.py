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

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from posetool import console
from posetool.data.coco_boxes import BoxDataset, open_box_dataset
from posetool.detect.centernet import build_targets, centernet_loss, decode, letterbox_matrix
from posetool.errors import PosetoolError, UsageError
from posetool.nn.centernet import OUTPUT_STRIDE
from posetool.hub.registry import InputSpec, ModelSpec, get_model_spec
from posetool.engine.trainer import (
    all_reduce_sum, barrier, cleanup_distributed, DistInfo, EpochSampler, export_weights, resume_state,
    save_checkpoint, seed_everything, set_rng_state, setup_distributed, unwrap,
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
                 max_objs: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """One training input (3, H_in, W_in) float32 and its CenterNet targets."""
    h, w = image.shape[:2]
    m, _ = _augment_matrix(w, h, spec, rng)
    warped = cv2.warpAffine(image, m[:2], (spec.width, spec.height), flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0))
    x = _photometric(warped, rng) if rng is not None else warped.astype(np.float32)
    if spec.channel_order == "RGB":
        x = x[..., ::-1]
    x = (x / 255.0 - np.asarray(spec.mean, np.float32)) / np.asarray(spec.std, np.float32)
    out_boxes = np.zeros((0, 4))
    if len(boxes):
        corners = np.stack([boxes[:, [0, 1]], boxes[:, [2, 1]], boxes[:, [0, 3]], boxes[:, [2, 3]]], axis=1)  # (N, 4, 2)
        pts = corners @ m[:2, :2].T + m[:2, 2]
        out_boxes = np.concatenate([pts.min(1), pts.max(1)], axis=1) / OUTPUT_STRIDE
    targets = build_targets(out_boxes, spec.width // OUTPUT_STRIDE, spec.height // OUTPUT_STRIDE, max_objs)
    return np.ascontiguousarray(x.transpose(2, 0, 1), dtype=np.float32), targets


class DetectTrainSet(Dataset):
    """All images of the training datasets, augmented deterministically per (seed, epoch, index)."""

    def __init__(self, datasets: list[BoxDataset], spec: InputSpec, seed: int, max_objs: int) -> None:
        self.index = [(d, i) for d, ds in enumerate(datasets) for i in range(len(ds.items))]
        self.datasets, self.spec, self.seed, self.max_objs, self.epoch = datasets, spec, seed, max_objs, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, k: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        d, i = self.index[k]
        key, boxes, _ = self.datasets[d].items[i]
        rng = np.random.default_rng([self.seed, self.epoch, k])
        x, t = make_example(self.datasets[d].image(key), boxes, self.spec, rng, self.max_objs)
        return torch.from_numpy(x), {name: torch.from_numpy(v) for name, v in t.items()}


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
        boxes, scores = decode(net(torch.from_numpy(np.stack(xs)).to(device)), top_k)
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


def train_detect(cfg: DetectTrainConfig, resume: str | None = None) -> dict[str, Any]:
    """Run (or continue) CenterNet training; returns the history and output folder."""
    from posetool.hub.device import select_device

    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    if not cfg.data:
        raise UsageError("no training data; pass synth output folders or COCO JSON files")
    spec = cfg.model if isinstance(cfg.model, ModelSpec) else get_model_spec(cfg.model, task="detect")
    if spec.runtime != "torch" or spec.input is None:
        raise UsageError(f"model {spec.name} is not a trainable detector (try centernet_r18_synth)")
    info: DistInfo = setup_distributed(select_device(cfg.device))
    out = Path(cfg.out)
    state = resume_state(resume, cfg, spec.name, ("data", "seed", "batch_size", "lr"))
    seed_everything(cfg.seed)
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
        optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
        scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, cfg.milestones(), 0.1)
        history: list[dict[str, Any]] = []
        start = 0
        if state is not None:
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            scheduler.load_state_dict(state["scheduler"])
            start, history = int(state["epoch"]), list(state.get("history", []))
            set_rng_state(state["rng"])
        if info.distributed:
            model = nn.parallel.DistributedDataParallel(
                model, device_ids=[info.device.index] if info.device.type == "cuda" else None)
        if info.is_main:
            out.mkdir(parents=True, exist_ok=True)
            console.info(f"train detect: {spec.name}, {len(trainset)} images from {len(train_sets)} dataset(s), "
                         f"{cfg.epochs} epochs, batch {cfg.batch_size}, device {info.device}")
        for epoch in range(start, min(cfg.epochs, cfg.stop_after or cfg.epochs)):
            t0 = time.time()
            trainset.set_epoch(epoch)
            sampler.set_epoch(epoch)
            model.train()
            sums = np.zeros(4)
            for x, targets in loader:
                x = x.to(info.device)
                targets = {k: v.to(info.device) for k, v in targets.items()}
                loss, parts = centernet_loss(model(x), targets)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                n = len(x)
                sums += [float(loss.detach()) * n, parts["hm"] * n, parts["wh"] * n, n]
            scheduler.step()
            total, hm, wh, count = all_reduce_sum(sums.tolist(), info)
            row: dict[str, Any] = {"epoch": epoch + 1, "loss": total / max(count, 1), "hm": hm / max(count, 1),
                                   "wh": wh / max(count, 1), "lr": optimizer.param_groups[0]["lr"],
                                   "seconds": round(time.time() - t0, 2)}
            if info.is_main:
                if val_sets:
                    row.update(validate(model, spec.input, val_sets, info.device, cfg.batch_size))
                history.append(row)
                export_weights(model, out / "model.safetensors", cfg.half)
                save_checkpoint(out / "checkpoint.pth", {
                    "model": unwrap(model).state_dict(), "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(), "epoch": epoch + 1, "history": history,
                    "config": {**asdict(cfg), "model": spec.name},
                })
                with open(out / "log.jsonl", "a", encoding="utf-8") as fh:
                    fh.write(json.dumps(row) + "\n")
                ap = f", box AP {row['AP']:.3f}" if "AP" in row else ""
                console.info(f"epoch {epoch + 1}/{cfg.epochs}: loss {row['loss']:.4f}{ap} ({row['seconds']} s)")
            barrier(info)
        return {"history": history, "out": str(out)}
    finally:
        cleanup_distributed(info)
