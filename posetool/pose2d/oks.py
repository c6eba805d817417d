"""Object keypoint similarity, OKS-NMS and the top-down rescoring.

As in the official COCO path (HRNet ``lib/nms/nms.py`` and ``lib/dataset/coco.py:evaluate``):

- ``oks_iou``: mean over keypoints of exp(−d² / (2·((a_g + a_d)/2)·(2σ)²)) between one pose and
  many (all keypoints count unless ``in_vis_thre`` is given, which keeps the keypoints whose
  confidence exceeds it in *both* poses — upstream's version of that branch had a bug);
- ``oks_nms``: greedy, highest score first, dropping poses whose OKS with a kept one exceeds the
  threshold (0.9);
- ``soft_oks_nms``: Gaussian rescoring s·exp(−oks²/thr), at most 20 kept;
- ``rescore``: box score × mean of the keypoint confidences above 0.2 (0 when none are).
"""

from __future__ import annotations

import numpy as np

from posetool.skeletons import COCO17

COCO_SIGMAS = COCO17.sigmas_array()


def oks_iou(
    g: np.ndarray,
    d: np.ndarray,
    area_g: float,
    areas_d: np.ndarray,
    sigmas: np.ndarray | None = None,
    in_vis_thre: float | None = None,
) -> np.ndarray:
    """OKS between pose ``g`` (K, 3) and poses ``d`` (M, K, 3); areas are pixel² (M,) → (M,)."""
    sig = COCO_SIGMAS if sigmas is None else np.asarray(sigmas, dtype=np.float64)
    var = (sig * 2) ** 2
    g = np.asarray(g, dtype=np.float64)
    d = np.asarray(d, dtype=np.float64).reshape(-1, *g.shape)
    if d.shape[0] == 0:
        return np.zeros(0)
    areas_d = np.asarray(areas_d, dtype=np.float64).reshape(-1)
    sq = (d[..., 0] - g[:, 0]) ** 2 + (d[..., 1] - g[:, 1]) ** 2
    e = sq / var / ((area_g + areas_d)[:, None] / 2 + np.spacing(1)) / 2
    if in_vis_thre is None:
        return np.exp(-e).mean(axis=1)
    mask = (g[:, 2] > in_vis_thre)[None, :] & (d[..., 2] > in_vis_thre)
    count = mask.sum(axis=1)
    total = (np.exp(-e) * mask).sum(axis=1)
    return np.where(count > 0, total / np.maximum(count, 1), 0.0)


def oks_nms(
    keypoints: np.ndarray,
    scores: np.ndarray,
    areas: np.ndarray,
    threshold: float = 0.9,
    sigmas: np.ndarray | None = None,
    in_vis_thre: float | None = None,
) -> list[int]:
    """Greedy OKS-NMS. ``keypoints`` (N, K, 3), ``scores`` (N,), ``areas`` (N,) → kept indices."""
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    if scores.size == 0:
        return []
    kpts = np.asarray(keypoints, dtype=np.float64)
    areas = np.asarray(areas, dtype=np.float64).reshape(-1)
    order = np.argsort(scores, kind="stable")[::-1]
    keep: list[int] = []
    while order.size > 0:
        i = int(order[0])
        keep.append(i)
        ovr = oks_iou(kpts[i], kpts[order[1:]], areas[i], areas[order[1:]], sigmas, in_vis_thre)
        order = order[1:][ovr <= threshold]
    return keep


def soft_oks_nms(
    keypoints: np.ndarray,
    scores: np.ndarray,
    areas: np.ndarray,
    threshold: float = 0.9,
    sigmas: np.ndarray | None = None,
    in_vis_thre: float | None = None,
    max_dets: int = 20,
) -> list[int]:
    """Soft OKS-NMS with Gaussian rescoring; returns at most ``max_dets`` indices, best first."""
    scores = np.asarray(scores, dtype=np.float64).reshape(-1).copy()
    if scores.size == 0:
        return []
    kpts = np.asarray(keypoints, dtype=np.float64)
    areas = np.asarray(areas, dtype=np.float64).reshape(-1)
    order = np.argsort(scores, kind="stable")[::-1]
    scores = scores[order]
    keep: list[int] = []
    while order.size > 0 and len(keep) < max_dets:
        i = int(order[0])
        keep.append(i)
        ovr = oks_iou(kpts[i], kpts[order[1:]], areas[i], areas[order[1:]], sigmas, in_vis_thre)
        order, scores = order[1:], scores[1:] * np.exp(-(ovr ** 2) / threshold)
        resort = np.argsort(scores, kind="stable")[::-1]
        order, scores = order[resort], scores[resort]
    return keep


def keypoint_score(maxvals: np.ndarray, in_vis_thre: float = 0.2) -> np.ndarray:
    """Mean of the confidences above ``in_vis_thre`` per pose: (N, K) → (N,), 0 where none are."""
    mv = np.asarray(maxvals, dtype=np.float64)
    mask = mv > in_vis_thre
    count = mask.sum(axis=-1)
    return np.where(count > 0, (mv * mask).sum(axis=-1) / np.maximum(count, 1), 0.0)


def rescore(box_scores: np.ndarray, maxvals: np.ndarray, in_vis_thre: float = 0.2) -> np.ndarray:
    """Instance score = box score × :func:`keypoint_score` (official COCO evaluation)."""
    return np.asarray(box_scores, dtype=np.float64) * keypoint_score(maxvals, in_vis_thre)
