"""Learned left/right labels along a track (``track --lr-consistency learned``).

:class:`~posetool.nn.leftright.LeftRightNet` reads a window of a track's poses *as the pose model
labelled them* and gives, per frame and left/right pair, the logit that the pair's labels are the
wrong way round. The tracker exchanges a group of pairs (eyes, ears, shoulders, arms = elbows +
wrists, hips, legs = knees + ankles) where the summed logit of its pairs is positive.

Why learned: the motion criteria of :mod:`posetool.track.leftright` judge a labelling by how
smoothly its points move, and the swaps they leave (side-on legs labelled the wrong way round for
half a stride after they cross) are ones where the wrong labels move *more* smoothly than the true
ones. What gives them away is a pattern over a whole stride (the wrongly labelled ankle stays
planted for two stance phases), the pose model's own doubt, and the rest of the body (walking
direction, facing), which a small temporal network trained on synth tracks against their ground
truth can weigh; the hand-made costs cannot.

Features of a window of T frames (:func:`features`, (C, T), C = 5 K + P + 5):
keypoints relative to each frame's box (centre, ÷ box height), keypoints relative to the window
(mean box centre, ÷ mean box height), confidences, the box's centre and height relative to the
window, the pose model's ``lr_doubt`` per pair (0 where not given) and a flag that it was given,
and a flag that the frame holds a pose (frames outside the track's run are all zeros).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from posetool.pose2d.flip import flip_permutation

_MIN_HEIGHT = 1.0  # px: a degenerate box still gives a finite scale


def feature_channels(keypoints: int, pairs: int) -> int:
    """C of :func:`features` for a layout of ``keypoints`` points and ``pairs`` flip pairs."""
    return 5 * keypoints + pairs + 5


def features(kps: np.ndarray, boxes: np.ndarray, doubts: np.ndarray) -> np.ndarray:
    """Network input of one track window.

    Args:
        kps: (T, K, 3) x, y, confidence as the pose model labelled them; NaN rows: no pose that frame.
        boxes: (T, 4) x1, y1, x2, y2 (NaN: no pose).
        doubts: (T, P) ``lr_doubt`` per flip pair (NaN: not given).

    Returns:
        (C, T) float32 (module docstring), zeros where a frame holds no pose.
    """
    t, k, _ = kps.shape
    present = np.isfinite(boxes).all(axis=1) & (boxes[:, 3] > boxes[:, 1])
    out = np.zeros((feature_channels(k, doubts.shape[1]), t), dtype=np.float32)
    if not present.any():
        return out
    centre = np.stack([(boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2], axis=1)  # (T, 2)
    height = np.maximum(boxes[:, 3] - boxes[:, 1], _MIN_HEIGHT)
    ref = centre[present].mean(axis=0)
    ref_h = max(float(height[present].mean()), _MIN_HEIGHT)
    xy = kps[..., :2]
    ok = np.isfinite(xy).all(axis=-1) & present[:, None]  # (T, K)
    body = np.where(ok[..., None], (xy - centre[:, None]) / height[:, None, None], 0.0)
    world = np.where(ok[..., None], (xy - ref) / ref_h, 0.0)
    conf = np.where(ok, np.nan_to_num(kps[..., 2], nan=0.0), 0.0)
    box = np.where(present[:, None], np.column_stack([(centre - ref) / ref_h, height / ref_h - 1.0]), 0.0)
    known = np.isfinite(doubts).all(axis=1) & present
    doubt = np.where(known[:, None], np.nan_to_num(doubts, nan=0.0), 0.0)
    rows = [body.reshape(t, -1), world.reshape(t, -1), conf, box, doubt, known[:, None], present[:, None]]
    return np.concatenate(rows, axis=1).T.astype(np.float32)


def mirror(kps: np.ndarray, boxes: np.ndarray, flip_pairs: tuple[tuple[int, int], ...]) -> tuple[np.ndarray, np.ndarray]:
    """The same window seen in a mirror (x → −x, left and right slots exchanged): a training
    augmentation. ``lr_doubt`` and whether a pair is the wrong way round do not change."""
    perm = flip_permutation(kps.shape[1], flip_pairs)
    k = kps[:, perm].copy()
    k[..., 0] = -k[..., 0]
    b = boxes.copy()
    b[:, [0, 2]] = -boxes[:, [2, 0]]
    return k, b


def wrong_labels(kps: np.ndarray, gt: np.ndarray, inside: np.ndarray, heights: np.ndarray,
                 flip_pairs: tuple[tuple[int, int], ...], margin: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Training targets: which pairs' labels are the wrong way round, and how clearly.

    Args:
        kps: (T, K, ≥2) predicted points; gt: (T, K, 2) ground truth; inside: (T, K) GT point in the image.
        heights: (T,) GT box heights (px).
        flip_pairs: the layout's (left, right) pairs.
        margin: the difference of summed distances (× height) at which a frame counts fully.

    Returns:
        target (T, P) 1.0 where the exchanged labels lie nearer the ground truth (summed over the
        pair's two points), weight (T, P) in [0, 1]: |kept − exchanged| / (``margin`` × height),
        0 where either prediction or ground-truth point is missing or outside the image.
    """
    t = len(kps)
    target = np.zeros((t, len(flip_pairs)), dtype=np.float32)
    weight = np.zeros_like(target)
    for j, (a, b) in enumerate(flip_pairs):
        pa, pb, ga, gb = kps[:, a, :2], kps[:, b, :2], gt[:, a], gt[:, b]
        kept = np.linalg.norm(pa - ga, axis=1) + np.linalg.norm(pb - gb, axis=1)
        exch = np.linalg.norm(pa - gb, axis=1) + np.linalg.norm(pb - ga, axis=1)
        valid = inside[:, a] & inside[:, b] & np.isfinite(kept) & np.isfinite(exch) & (heights > 0)
        target[:, j] = np.where(valid, exch < kept, 0.0)
        clear = np.abs(np.nan_to_num(kept - exch)) / (margin * np.maximum(heights, _MIN_HEIGHT))
        weight[:, j] = np.where(valid, np.clip(clear, 0.0, 1.0), 0.0)
    return target, weight


def group_columns(groups: list[tuple[str, tuple[tuple[int, int], ...]]],
                  flip_pairs: tuple[tuple[int, int], ...]) -> list[tuple[str, list[int]]]:
    """Each group's columns among the flip pairs (the network's outputs)."""
    return [(name, [flip_pairs.index(pair) for pair in pairs]) for name, pairs in groups]


class LearnedLabeller:
    """Runs a loaded :class:`~posetool.nn.leftright.LeftRightNet` on track windows.

    Args:
        loaded: a :class:`posetool.hub.loader.LoadedModel` (task ``leftright``).
    """

    def __init__(self, loaded: Any) -> None:
        self.module = loaded.module.eval()
        self.device = loaded.device
        self.name = loaded.name

    @torch.inference_mode()
    def logits(self, windows: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> np.ndarray:
        """(N, P, T) logits of N windows, each (kps (T, K, 3), boxes (T, 4), doubts (T, P))."""
        x = torch.as_tensor(np.stack([features(*w) for w in windows]), device=self.device)
        return self.module(x).float().cpu().numpy().astype(np.float64)
