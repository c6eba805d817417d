"""``posetool train leftright``: the learned left/right labeller trained on pose streams against their ground truth.

Data: folders holding a pose stream with track ids (``--keypoints``, e.g. ``pre_gt.msgpack`` from
``detect --model gt | pose2d``: the pose model's own labels and ``lr_doubt``; a tracked stream
whose labels were left alone, ``track --lr-consistency none``, works too; several names,
comma-separated, take each folder's streams of each name) and ``gt.jsonl`` of the
same video (``posetool synth`` writes it; ``scripts/leftright_data.py`` makes both). Each
ground-truth person is paired with the predicted people frame by frame (``eval trust``'s pairing:
Hungarian on box IoU ≥ 0.5); every unbroken run of frames paired with one predicted id is a
sequence. Windows of ``--window`` frames are cut from each sequence every ``--stride`` frames,
starting up to half a window before it and ending up to half a window after it (frames outside
the run hold no pose), as the tracker sees a track's first and last frames.

Targets (:func:`posetool.track.labeller.wrong_labels`): per frame and left/right pair, whether the
exchanged labels lie nearer the ground truth, weighted by how clearly (the difference of summed
distances over 0.1 × the GT box height, at most 1; 0 where a point is outside the image). Loss:
weighted binary cross-entropy of the logits. Every window is also seen mirrored
(:func:`~posetool.track.labeller.mirror`), half of them once more with one group's labels (or
all) exchanged over 2–10 frames and the targets changed to match (:func:`inject_swap`: labels
that jump for a few frames, which the pose model's own mistakes seldom show this cleanly), and a quarter of the windows (``hide_doubts``) without
``lr_doubt``, so the labeller also serves pose models that give none (MoveNet, BlazePose). Adam,
lr decayed ×``lr_decay`` per epoch.

Validation (``--val``, all windows at stride 1, centre frames only, as the tracker decides):
``val_wrong_raw``, the weighted share of pairs the pose model labelled the wrong way round, and
``val_wrong``, that share after exchanging the pairs whose logit is positive. ``best.safetensors``
is the epoch with the lowest ``val_wrong``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from posetool import console
from posetool.engine.trainer import begin_run, cleanup_distributed, export_weights, set_rng_state
from posetool.errors import UsageError
from posetool.nn.leftright import LeftRightNet
from posetool.pose2d.flip import flip_permutation
from posetool.track.labeller import feature_channels, features, mirror, wrong_labels
from posetool.track.train import fit_in_memory, inside_image, paired_runs, video_size

METADATA_KEY = "posetool.leftright"
_RESUME_KEYS = ("data", "keypoints", "window", "stride", "batch_size", "seed", "channels", "dilations", "dropout", "hide_doubts", "inject", "box_jitter", "by_track")


@dataclass
class LeftRightTrainConfig:
    """``posetool train leftright`` settings (see the module docstring)."""

    data: list[str]
    keypoints: str = "pre_gt.msgpack"
    val: list[str] = field(default_factory=list)
    out: str = "runs/leftright"
    window: int = 51
    stride: int = 4
    channels: int = 128
    dilations: tuple[int, ...] = (1, 3, 9, 9)
    dropout: float = 0.1
    hide_doubts: float = 0.25  # share of training windows shown without lr_doubt (pose models that give none)
    inject: float = 0.5        # share of training windows also seen with a short run of exchanged labels
    box_jitter: float = 0.0    # scatter of each box edge per frame, × the box height (detected boxes are not GT boxes)
    by_track: bool = False     # windows per predicted track (identity switches included), not per GT person and id
    epochs: int = 20
    batch_size: int = 64
    lr: float = 1e-3
    lr_decay: float = 0.9
    seed: int = 0
    device: str = "auto"
    threads: int | None = None
    model: str = "leftright"


@dataclass
class Sequence:
    """The frames of one training sequence: a GT person paired with one predicted id over consecutive
    frames (:func:`paired_sequences`), or one predicted track whoever it follows (:func:`track_sequences`)."""

    kps: np.ndarray      # (L, K, 3) predicted, as labelled by the pose model
    boxes: np.ndarray    # (L, 4) predicted boxes
    doubts: np.ndarray   # (L, P) lr_doubt (NaN: not given)
    gt: np.ndarray       # (L, K, 2)
    inside: np.ndarray   # (L, K) GT point in the image
    heights: np.ndarray  # (L,) GT box heights


def stream_doubts(path: Path, pairs: int) -> dict[tuple[int, int], np.ndarray]:
    """(frame, track id) → (pairs,) ``lr_doubt`` of every tracked pose of the stream that gives it (NaN: null)."""
    from posetool.stream import StreamReader

    doubts: dict[tuple[int, int], np.ndarray] = {}
    for rec in StreamReader(path).frames():
        for inst in rec.get("instances") or []:
            d = inst.get("lr_doubt")
            if inst.get("track_id") is not None and d is not None and len(d) == pairs:
                doubts[int(rec["frame"]), int(inst["track_id"])] = np.array([np.nan if v is None else v for v in d], float)
    return doubts


def paired_sequences(folder: str | Path, keypoints: str, flip_pairs: tuple[tuple[int, int], ...]) -> list[Sequence]:
    """The folder's sequences (module docstring)."""
    runs, width, height = paired_runs(folder, keypoints)
    doubts = stream_doubts(Path(folder) / keypoints, len(flip_pairs))
    nan = np.full(len(flip_pairs), np.nan)
    out = []
    for run in runs:
        if all(g.kp is not None and p.kp is not None and p.box is not None and len(p.kp) == len(g.kp) for _, g, p in run):
            g_xy = np.stack([g.kp[:, :2] for _, g, _ in run])
            out.append(Sequence(
                kps=np.stack([p.kp[:, :3] for _, _, p in run]), boxes=np.stack([p.box for _, _, p in run]),
                doubts=np.stack([doubts.get((f, p.track_id), nan) for f, _, p in run]),
                gt=g_xy, inside=inside_image(g_xy, width, height),
                heights=np.array([g.box[3] - g.box[1] if g.box is not None else 0.0 for _, g, _ in run])))
    return out


def track_sequences(folder: str | Path, keypoints: str, flip_pairs: tuple[tuple[int, int], ...]) -> list[Sequence]:
    """One sequence per predicted track, first to last frame, as the tracker's labeller reads it:
    every pose of the track (NaN rows where it has none), the ground truth of whichever GT person
    is paired with it in each frame (``eval trust``'s pairing), and no ground truth (weight 0) where
    none is. Unlike :func:`paired_sequences` a window here can hold an identity switch: the track's
    past belongs to one person and its present to another, which a window cut per GT person never shows.
    """
    from posetool.eval.trust import match_streams

    folder = Path(folder)
    width, height = video_size(folder, keypoints)
    m = match_streams(str(folder / keypoints), str(folder / "gt.jsonl"))
    gt_of = {(f, p.track_id): g for frames in m.pairs.values() for f, (g, p) in frames.items()}
    doubts = stream_doubts(folder / keypoints, len(flip_pairs))
    out = []
    for tid, poses in sorted(m.pred_tracks.items()):
        poses = {f: p for f, p in poses.items() if p.kp is not None and p.box is not None}
        if not poses:
            continue
        first, last = min(poses), max(poses)
        k = len(next(iter(poses.values())).kp)
        n = last - first + 1
        kps, boxes = np.full((n, k, 3), np.nan), np.full((n, 4), np.nan)
        dts, gt, heights = np.full((n, len(flip_pairs)), np.nan), np.full((n, k, 2), np.nan), np.zeros(n)
        for f, p in poses.items():
            i = f - first
            kps[i], boxes[i] = p.kp[:, :3], p.box
            dts[i] = doubts.get((f, tid), dts[i])
            g = gt_of.get((f, tid))
            if g is not None and g.kp is not None and len(g.kp) == k:
                gt[i] = g.kp[:, :2]
                heights[i] = g.box[3] - g.box[1] if g.box is not None else 0.0
        out.append(Sequence(kps=kps, boxes=boxes, doubts=dts, gt=gt, inside=inside_image(gt, width, height), heights=heights))
    return out


@dataclass
class Windows:
    """Network inputs (N, C, T), targets and weights (N, P, T)."""

    x: np.ndarray
    y: np.ndarray
    w: np.ndarray


def _pad(a: np.ndarray, before: int, after: int) -> np.ndarray:
    """NaN rows before and after along the first axis (frames outside the run)."""
    widths = [(before, after)] + [(0, 0)] * (a.ndim - 1)
    return np.pad(a.astype(np.float64), widths, constant_values=np.nan)


def inject_swap(kps: np.ndarray, target: np.ndarray, weight: np.ndarray, flip_pairs: tuple[tuple[int, int], ...],
                rng: np.random.RandomState) -> tuple[np.ndarray, np.ndarray]:
    """A copy of a window with one limb group's labels (or, one time in four, every pair's)
    exchanged over a run of 2–10 frames, and its targets: a pair whose labels were exchanged is
    wrong where it was right and the other way round (the weights do not change; nor does
    ``lr_doubt``, which is the same for both labellings).

    Args: ``kps`` (T, K, 3); ``target``, ``weight`` (T, P) of :func:`wrong_labels`.
    Returns: (kps, target) of the copy.
    """
    from posetool.track.leftright import flip_groups

    t = len(kps)
    present = np.flatnonzero(np.isfinite(kps[:, 0, 0]))
    if not len(present):
        return kps, target
    groups = [pairs for name, pairs in flip_groups("coco17").items() if name not in ("eyes", "ears")]
    pairs = flip_pairs if rng.rand() < 0.25 else groups[rng.randint(len(groups))]
    length = rng.randint(2, 11)
    start = int(np.clip(rng.choice(present) - rng.randint(length), 0, max(t - length, 0)))
    run = slice(start, start + length)
    out, tgt = kps.copy(), target.copy()
    out[run] = out[run][:, flip_permutation(kps.shape[1], pairs)]
    cols = [flip_pairs.index(tuple(p)) for p in pairs]
    tgt[run, cols] = np.where(weight[run][:, cols] > 0, 1.0 - tgt[run][:, cols], tgt[run][:, cols])
    return out, tgt


def make_windows(sequences: list[Sequence], window: int, stride: int, flip_pairs: tuple[tuple[int, int], ...],
                 mirrored: bool = True, hide_doubts: float = 0.0, seed: int = 0, inject: float = 0.0,
                 box_jitter: float = 0.0) -> Windows:
    """Windows of ``window`` frames every ``stride`` frames (module docstring), also mirrored; a
    ``hide_doubts`` share of them without ``lr_doubt``, and an ``inject`` share also seen with a
    short run of exchanged labels (:func:`inject_swap`); with ``box_jitter`` each box edge moved by
    Gaussian scatter of that × the box height per frame; all drawn from ``RandomState(seed)``."""
    half = window // 2
    rng = np.random.RandomState(seed)
    xs, ys, ws = [], [], []
    for s in sequences:
        target, weight = wrong_labels(s.kps, s.gt, s.inside, s.heights, flip_pairs)
        kps, boxes, doubts = _pad(s.kps, half, half), _pad(s.boxes, half, half), _pad(s.doubts, half, half)
        target = np.pad(target, ((half, half), (0, 0)))
        weight = np.pad(weight, ((half, half), (0, 0)))
        for start in range(0, len(s.kps), stride):  # windows centred on the run's frames
            sl = slice(start, start + window)
            views = [(kps[sl], boxes[sl])] + ([mirror(kps[sl], boxes[sl], flip_pairs)] if mirrored else [])
            for k, b in views:
                if box_jitter > 0:
                    b = b + rng.normal(0.0, box_jitter, b.shape) * (b[:, 3:4] - b[:, 1:2])
                d = doubts[sl] if rng.rand() >= hide_doubts else np.full_like(doubts[sl], np.nan)
                copies = [(k, target[sl])] + ([inject_swap(k, target[sl], weight[sl], flip_pairs, rng)]
                                              if rng.rand() < inject else [])
                for kk, tt in copies:
                    xs.append(features(kk, b, d))
                    ys.append(tt.T)
                    ws.append(weight[sl].T)
    if not xs:
        raise UsageError("no sequence paired with the ground truth; check --keypoints (a stream of the folder's video with track ids)")
    return Windows(np.stack(xs), np.stack(ys).astype(np.float32), np.stack(ws).astype(np.float32))


def load_windows(folders: list[str], keypoints: str, window: int, stride: int, flip_pairs: tuple[tuple[int, int], ...],
                 mirrored: bool = True, hide_doubts: float = 0.0, seed: int = 0, inject: float = 0.0,
                 box_jitter: float = 0.0, by_track: bool = False) -> Windows:
    """Windows of every folder's streams; ``keypoints`` names one stream file or several, comma-separated
    (e.g. ``pre_gt.msgpack,chain.msgpack``: each folder gives the windows of each); ``by_track``: cut
    per predicted track (:func:`track_sequences`) instead of per GT person and id (:func:`paired_sequences`)."""
    names = [k.strip() for k in keypoints.split(",") if k.strip()]
    cut = track_sequences if by_track else paired_sequences
    sequences = [s for folder in folders for name in names for s in cut(folder, name, flip_pairs)]
    return make_windows(sequences, window, stride, flip_pairs, mirrored, hide_doubts, seed, inject, box_jitter)


@torch.inference_mode()
def evaluate(model: LeftRightNet, data: Windows, device: torch.device, batch: int = 1024) -> dict[str, float]:
    """Weighted share of wrongly labelled pairs at the windows' centre frames, raw and after the network."""
    model.eval()
    c = data.x.shape[-1] // 2
    wrong_raw = wrong = total = loss = 0.0
    for i in range(0, len(data.x), batch):
        logit = model(torch.as_tensor(data.x[i:i + batch], device=device))[:, :, c].cpu()
        y, w = torch.as_tensor(data.y[i:i + batch, :, c]), torch.as_tensor(data.w[i:i + batch, :, c])
        loss += float(F.binary_cross_entropy_with_logits(logit, y, weight=w, reduction="sum"))
        flip = (logit > 0).float()
        wrong_raw += float((w * y).sum())
        wrong += float((w * (y != flip).float()).sum())
        total += float(w.sum())
    total = max(total, 1e-9)
    return {"val_loss": round(loss / total, 5), "val_wrong_raw": round(wrong_raw / total, 5), "val_wrong": round(wrong / total, 5)}


def export_leftright(model: LeftRightNet, path: str | Path) -> Path:
    """Save the network as safetensors with its architecture in the ``posetool.leftright`` metadata."""
    return export_weights(model, Path(path), False, {METADATA_KEY: json.dumps(model.config, sort_keys=True)})


def leftright_from_file(path: str | Path, spec: Any = None) -> Any:
    """The loader's ``file_builder`` hook: the architecture recorded by :func:`export_leftright`."""
    from posetool.hub.checkpoint import safetensors_metadata
    from posetool.hub.loader import FileModel

    path = Path(path)
    meta = safetensors_metadata(path).get(METADATA_KEY) if path.suffix == ".safetensors" else None
    if not meta:
        return None
    cfg = json.loads(meta)
    cfg["dilations"] = tuple(cfg["dilations"])
    return FileModel(LeftRightNet(**cfg))


def train_leftright(cfg: LeftRightTrainConfig, resume: str | None = None) -> list[dict[str, Any]]:
    """Train the labeller (module docstring); returns the per-epoch history."""
    info, state = begin_run(cfg, cfg.model, resume, _RESUME_KEYS)
    try:
        return _train(cfg, info, state)
    finally:
        cleanup_distributed(info)


def _train(cfg: LeftRightTrainConfig, info: Any, state: dict[str, Any] | None) -> list[dict[str, Any]]:
    from posetool.skeletons import get_skeleton

    if info.distributed:
        raise UsageError("train leftright runs in one process (its data fits in memory); run it without torchrun")
    if cfg.window < 3 or cfg.window % 2 == 0:
        raise UsageError(f"--window must be odd and at least 3 (a centre frame and the same number each side), got {cfg.window}")
    dev = info.device
    skeleton = get_skeleton("coco17")
    pairs = skeleton.flip_pairs
    train = load_windows(cfg.data, cfg.keypoints, cfg.window, cfg.stride, pairs, hide_doubts=cfg.hide_doubts, seed=cfg.seed,
                         inject=cfg.inject, box_jitter=cfg.box_jitter, by_track=cfg.by_track)
    val = load_windows(cfg.val, cfg.keypoints, cfg.window, 1, pairs, mirrored=False, by_track=cfg.by_track) if cfg.val else None
    model = LeftRightNet(feature_channels(len(skeleton.keypoints), len(pairs)), len(pairs), cfg.channels,
                         tuple(cfg.dilations), cfg.dropout).to(dev)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    start, history = 0, []
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        start, history = int(state["epoch"]), list(state.get("history") or [])
        set_rng_state(state["rng"])
    console.info(f"train leftright: {len(train.x)} training windows of {cfg.window} frames (mirrored included)"
                 + (f", {len(val.x)} validation" if val is not None else "") + f" on {dev}")
    data = tuple(torch.as_tensor(a) for a in (train.x, train.y, train.w))

    def batch_loss(x: torch.Tensor, y: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return F.binary_cross_entropy_with_logits(model(x), y, weight=w, reduction="sum") / w.sum().clamp(min=1.0)

    return fit_in_memory("train leftright", cfg, info, model, optimizer, data, batch_loss,
                         (lambda: evaluate(model, val, dev)) if val is not None else None,
                         export_leftright, "val_wrong", start, history)
