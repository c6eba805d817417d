"""``posetool train smooth``: SmoothNet trained on tracked streams against their ground truth.

Data: folders holding a tracked pose stream (``--keypoints``, e.g. ``trk_raw.msgpack`` from
``track --smooth none``) and ``gt.jsonl`` of the same video (``posetool synth`` writes it). Each
ground-truth person is paired with the tracked people frame by frame (``eval trust``'s pairing:
Hungarian on box IoU ≥ 0.5); every unbroken run of frames paired with one predicted id gives a
(prediction, ground truth) sequence, cut into windows of T frames (``--stride`` apart).

Recipe as the official ``train_smoothnet.py``: L1 on positions plus L1 on accelerations (weights 1
and 1), Adam at 1e-3 decayed ×0.95 per epoch, batches of 1024 windows. Points whose ground truth
lies outside the image are masked out of both terms (the pose model cannot place them). Windows are
normalised as at inference (:func:`posetool.track.learned.normalise`): the ground truth with the
prediction's offsets and scale, so the network learns the correction.

Files in ``--out``: ``checkpoint.pt`` every epoch (``--resume`` continues exactly), ``log.jsonl``,
``model.safetensors`` (the last epoch) and ``best.safetensors`` (lowest validation position error),
both with the architecture in their metadata (``posetool track --smooth smoothnet --smooth-weights FILE``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from posetool import console
from posetool.engine.trainer import (Checkpoint, ConsoleLine, Hook, JsonLog, RecordHistory, StampTime, Validate, begin_run,
                                     cleanup_distributed, export_weights, run_epochs, set_rng_state)
from posetool.errors import UsageError
from posetool.nn.smoothnet import SmoothNet
from posetool.track.learned import normalise, window_scale

METADATA_KEY = "posetool.smoothnet"
_RESUME_KEYS = ("data", "keypoints", "window", "stride", "batch_size", "seed", "hidden", "res_hidden", "blocks", "dropout")


@dataclass
class SmoothTrainConfig:
    """``posetool train smooth`` settings (see the module docstring)."""

    data: list[str]
    keypoints: str = "trk_raw.msgpack"
    val: list[str] = field(default_factory=list)
    out: str = "runs/smooth"
    window: int = 32
    hidden: int = 512
    res_hidden: int = 256
    blocks: int = 3
    dropout: float = 0.5
    epochs: int = 70
    batch_size: int = 1024
    lr: float = 1e-3
    lr_decay: float = 0.95
    stride: int = 1
    w_pos: float = 1.0
    w_accel: float = 1.0
    seed: int = 0
    device: str = "auto"
    threads: int | None = None
    model: str = "smoothnet"


@dataclass
class Windows:
    """Training windows: network inputs, targets (N, K·2, T) and the targets' mask (N, K·2, T)."""

    x: np.ndarray
    y: np.ndarray
    mask: np.ndarray
    scale: np.ndarray  # (N,) px per unit, to report errors in pixels


def video_size(folder: Path, keypoints: str) -> tuple[float, float]:
    """The video's width and height from ``folder/gt.jsonl`` (inf where its header does not give
    them), after checking that the folder holds both ``keypoints`` and ``gt.jsonl``."""
    from posetool.stream import StreamReader

    for path in (folder / keypoints, folder / "gt.jsonl"):
        if not path.exists():
            raise UsageError(f"{path}: missing (each training folder needs --keypoints {keypoints} and gt.jsonl)")
    source = StreamReader(folder / "gt.jsonl").header.get("source") or {}
    return float(source.get("width") or np.inf), float(source.get("height") or np.inf)


def paired_runs(folder: str | Path, keypoints: str) -> tuple[list[list[tuple[int, Any, Any]]], float, float]:
    """The pairings of ``folder/keypoints`` (a pose stream with track ids) with ``folder/gt.jsonl``.

    Returns: every unbroken run of consecutive frames in which one GT person is paired with one
    predicted id (``eval trust``'s pairing: Hungarian on box IoU ≥ 0.5), as [(frame, GT person,
    predicted person)] (:class:`posetool.eval.trust.Person`), and the video's width and height
    (inf where the GT header does not give them).
    """
    from posetool.eval.trust import match_streams

    folder = Path(folder)
    width, height = video_size(folder, keypoints)
    runs: list[list[tuple[int, Any, Any]]] = []
    for frames in match_streams(str(folder / keypoints), str(folder / "gt.jsonl")).pairs.values():
        run: list[int] = []
        for f in sorted(frames) + [None]:  # type: ignore[list-item]
            if run and (f is None or f != run[-1] + 1 or frames[f][1].track_id != frames[run[-1]][1].track_id):
                runs.append([(g, *frames[g]) for g in run])
                run = []
            if f is not None:
                run.append(f)
    return runs, width, height


def inside_image(xy: np.ndarray, width: float, height: float) -> np.ndarray:
    """(…, K) whether each of (…, K, 2) points is finite and inside the image (0 ≤ x < width, 0 ≤ y < height)."""
    return np.isfinite(xy).all(-1) & (xy[..., 0] >= 0) & (xy[..., 0] < width) & (xy[..., 1] >= 0) & (xy[..., 1] < height)


def paired_sequences(folder: str | Path, keypoints: str) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(prediction (L, K, 2), ground truth (L, K, 2), GT point in the image (L, K)) per unbroken pairing."""
    runs, width, height = paired_runs(folder, keypoints)
    out = []
    for run in runs:
        if all(g.kp is not None and p.kp is not None and len(p.kp) == len(g.kp) for _, g, p in run):
            p_xy = np.stack([p.kp[:, :2] for _, _, p in run])
            g_xy = np.stack([g.kp[:, :2] for _, g, _ in run])
            out.append((p_xy, g_xy, inside_image(g_xy, width, height)))
    return out


def make_windows(sequences: list[tuple[np.ndarray, np.ndarray, np.ndarray]], window: int, stride: int) -> Windows:
    """Every window of ``window`` frames, ``stride`` apart, of sequences whose prediction is finite there."""
    xs, ys, ms, ss = [], [], [], []
    for pred, gt, inside in sequences:
        for s in range(0, len(pred) - window + 1, stride):
            p = pred[s:s + window]
            if not np.isfinite(p).all():
                continue
            scale = window_scale(p)
            x, offset = normalise(p, scale)
            g = np.where(np.isfinite(gt[s:s + window]), gt[s:s + window], p)  # masked anyway
            y = (g.reshape(window, -1).T - offset[:, None]) / scale
            xs.append(x)
            ys.append(y)
            ms.append(np.repeat(inside[s:s + window].T, 2, axis=0))  # (K·2, T): x and y of a point share it
            ss.append(scale)
    if not xs:
        raise UsageError(f"no tracked run of {window} frames paired with the ground truth; "
                         "check --keypoints (a tracked stream of the folder's video) or lower --window")
    return Windows(np.stack(xs).astype(np.float32), np.stack(ys).astype(np.float32), np.stack(ms), np.asarray(ss, np.float32))


def load_windows(folders: list[str], keypoints: str, window: int, stride: int) -> Windows:
    sequences = [s for folder in folders for s in paired_sequences(folder, keypoints)]
    return make_windows(sequences, window, stride)


def smooth_loss(out: torch.Tensor, y: torch.Tensor, mask: torch.Tensor, w_pos: float, w_accel: float) -> torch.Tensor:
    """Masked L1 of positions plus masked L1 of accelerations (second differences in time).

    Args: ``out``, ``y``: (N, C, T) refined and target windows; ``mask``: (N, C, T) bool.
    """
    m = mask.float()
    pos = ((out - y).abs() * m).sum() / m.sum().clamp(min=1)
    accel = lambda v: v[..., 2:] - 2 * v[..., 1:-1] + v[..., :-2]  # noqa: E731
    ma = m[..., 2:] * m[..., 1:-1] * m[..., :-2]
    acc = ((accel(out) - accel(y)).abs() * ma).sum() / ma.sum().clamp(min=1)
    return w_pos * pos + w_accel * acc


@torch.inference_mode()
def evaluate(model: SmoothNet, data: Windows, device: torch.device, batch: int = 4096) -> dict[str, float]:
    """Mean point error and acceleration error (px, px/frame²) over the masked points of every
    window frame: the raw prediction (``*_in``) and the refined one."""
    model.eval()
    err_in = err_out = acc_in = acc_out = 0.0
    n_err = n_acc = 0
    for i in range(0, len(data.x), batch):
        xin, y, m = data.x[i:i + batch], data.y[i:i + batch], data.mask[i:i + batch]
        out = model(torch.as_tensor(xin, device=device)).cpu().numpy()
        n, c, t = xin.shape
        scale = data.scale[i:i + batch, None, None, None]

        def px(v: np.ndarray) -> np.ndarray:  # (N, C, T) normalised → (N, K, 2, T) px (offsets cancel)
            return v.reshape(n, c // 2, 2, t) * scale

        def acc(v: np.ndarray) -> np.ndarray:
            return v[..., 2:] - 2 * v[..., 1:-1] + v[..., :-2]

        mk = m.reshape(n, c // 2, 2, t)[:, :, 0]  # (N, K, T)
        ma = mk[..., 2:] & mk[..., 1:-1] & mk[..., :-2]
        g = px(y)
        err_in += float(np.linalg.norm(px(xin) - g, axis=2)[mk].sum())
        err_out += float(np.linalg.norm(px(out) - g, axis=2)[mk].sum())
        acc_in += float(np.linalg.norm(acc(px(xin)) - acc(g), axis=2)[ma].sum())
        acc_out += float(np.linalg.norm(acc(px(out)) - acc(g), axis=2)[ma].sum())
        n_err += int(mk.sum())
        n_acc += int(ma.sum())
    return {"val_err_px_in": round(err_in / max(n_err, 1), 4), "val_err_px": round(err_out / max(n_err, 1), 4),
            "val_accel_px_in": round(acc_in / max(n_acc, 1), 4), "val_accel_px": round(acc_out / max(n_acc, 1), 4)}


def export_smoothnet(model: SmoothNet, path: str | Path) -> Path:
    """Save the network as safetensors with its architecture in the ``posetool.smoothnet`` metadata."""
    return export_weights(model, Path(path), False, {METADATA_KEY: json.dumps(model.config, sort_keys=True)})


def smoothnet_from_file(path: str | Path, spec: Any = None) -> Any:
    """The loader's ``file_builder`` hook: the architecture recorded by :func:`export_smoothnet`
    (``None`` for files without it: they load into the registered architecture)."""
    from posetool.hub.checkpoint import safetensors_metadata
    from posetool.hub.loader import FileModel

    path = Path(path)
    meta = safetensors_metadata(path).get(METADATA_KEY) if path.suffix == ".safetensors" else None
    return FileModel(SmoothNet(**json.loads(meta))) if meta else None


def train_smooth(cfg: SmoothTrainConfig, resume: str | None = None) -> list[dict[str, Any]]:
    """Train SmoothNet (module docstring); returns the per-epoch history."""
    info, state = begin_run(cfg, cfg.model, resume, _RESUME_KEYS)
    try:
        return _train(cfg, info, state)
    finally:
        cleanup_distributed(info)


def _train(cfg: SmoothTrainConfig, info: Any, state: dict[str, Any] | None) -> list[dict[str, Any]]:
    if info.distributed:
        raise UsageError("train smooth runs in one process (its data fits in memory); run it without torchrun")
    dev = info.device
    train = load_windows(cfg.data, cfg.keypoints, cfg.window, cfg.stride)
    val = load_windows(cfg.val, cfg.keypoints, cfg.window, 1) if cfg.val else None
    model = SmoothNet(cfg.window, cfg.hidden, cfg.res_hidden, cfg.blocks, cfg.dropout).to(dev)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    start, history = 0, []
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        start, history = int(state["epoch"]), list(state.get("history") or [])
        set_rng_state(state["rng"])
    console.info(f"train smooth: {len(train.x)} training windows of {cfg.window} frames"
                 + (f", {len(val.x)} validation" if val is not None else "") + f" on {dev}")
    data = tuple(torch.as_tensor(a) for a in (train.x, train.y, train.mask))
    return fit_in_memory("train smooth", cfg, info, model, optimizer, data,
                         lambda x, y, m: smooth_loss(model(x), y, m, cfg.w_pos, cfg.w_accel),
                         (lambda: evaluate(model, val, dev)) if val is not None else None,
                         export_smoothnet, "val_err_px", start, history)


def fit_in_memory(name: str, cfg: Any, info: Any, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                  data: tuple[torch.Tensor, ...], batch_loss: Callable[..., torch.Tensor],
                  validate: Callable[[], dict[str, Any]] | None, export: Callable[[Any, Path], Path], best_key: str,
                  start: int, history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The epochs of a one-process trainer whose data fit in memory (``train smooth``, ``train leftright``).

    Each epoch: lr = ``cfg.lr`` × ``cfg.lr_decay``^epoch, a fresh random order of the N samples of
    ``data`` (tensors with N rows), batches of ``cfg.batch_size`` on ``info.device``, the loss
    ``batch_loss(*batch)``; then ``validate()`` (its row), ``model.safetensors`` and, with
    validation, ``best.safetensors`` (lowest ``best_key``) written by ``export``, ``log.jsonl``,
    ``checkpoint.pt`` (``--resume`` continues from it) in ``cfg.out``, and a console line.
    """
    dev, out = info.device, Path(cfg.out)

    def train_epoch(epoch: int) -> dict[str, Any]:
        for group in optimizer.param_groups:  # the official schedule: lr × decay^epoch
            group["lr"] = cfg.lr * cfg.lr_decay ** epoch
        model.train()
        order = torch.randperm(len(data[0]))
        total, batches = 0.0, 0
        for i in range(0, len(order), cfg.batch_size):
            idx = order[i:i + cfg.batch_size]
            loss = batch_loss(*(t[idx].to(dev) for t in data))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item()
            batches += 1
        return {"epoch": epoch + 1, "loss": round(total / max(batches, 1), 6), "lr": optimizer.param_groups[0]["lr"]}

    def ckpt(end: Any) -> dict[str, Any]:
        return {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": end.epoch,
                "history": end.history, "config": asdict(cfg)}

    hooks = [
        Validate(lambda end: validate() if validate is not None else {}),
        StampTime(),
        RecordHistory(),
        ExportHook(model, out / "model.safetensors", export=export),
        ExportHook(model, out / "best.safetensors", best_of=history if validate is not None else None,
                   export=export, key=best_key),
        JsonLog(out / "log.jsonl"),
        Checkpoint(ckpt, out / "checkpoint.pt"),
        ConsoleLine(lambda end: f"{name}: " + " ".join(f"{k} {v}" for k, v in end.row.items())),
    ]
    return run_epochs(range(start, cfg.epochs), train_epoch, hooks, info, history)


class ExportHook(Hook):
    """Writes the weights (``export``, default :func:`export_smoothnet`) after every epoch, or, with
    ``best_of`` (the run's history so far), only when the epoch's validation ``key`` is the lowest
    yet (row ``best``)."""

    def __init__(self, model: torch.nn.Module, path: Path, best_of: list[dict[str, Any]] | None = None,
                 export: Any = None, key: str = "val_err_px") -> None:
        self.model, self.path, self.keep_best = model, path, best_of is not None
        self.export, self.key = export or export_smoothnet, key
        self.best = min((float(r[key]) for r in best_of or [] if key in r), default=np.inf)

    def after_epoch(self, end: Any) -> None:
        if not self.keep_best:
            self.export(self.model, self.path)
        elif float(end.row.get(self.key, np.inf)) < self.best:
            self.best = float(end.row[self.key])
            self.export(self.model, self.path)
            end.row["best"] = True
