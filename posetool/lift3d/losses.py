"""Training losses and the accuracy figures the lift3d trainer reports (VideoPose3D ``common/loss.py``).

All inputs are in metres. ``mpjpe`` is protocol #1, ``n_mpjpe`` protocol #3 (scale only). These
are the differentiable (torch) versions training needs; reported figures (P-MPJPE, MPJVE) come
from :mod:`posetool.eval.lift`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


def mpjpe(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean Euclidean distance over every joint of every frame. (..., J, 3) each."""
    if pred.shape != target.shape:
        raise ValueError(f"mpjpe: shapes differ {tuple(pred.shape)} vs {tuple(target.shape)}")
    return torch.mean(torch.norm(pred - target, dim=-1))


def weighted_mpjpe(pred: torch.Tensor, target: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """``mean(w * ||pred - target||)``; w broadcasts over (B, T, J). The trajectory loss uses w = 1/z."""
    if pred.shape != target.shape or w.shape[0] != pred.shape[0]:
        raise ValueError(f"weighted_mpjpe: shapes {tuple(pred.shape)}, {tuple(target.shape)}, w {tuple(w.shape)}")
    return torch.mean(w * torch.norm(pred - target, dim=-1))


def n_mpjpe(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """MPJPE after the least-squares scale per (B, T) pose. (B, T, J, 3) each."""
    if pred.shape != target.shape or pred.dim() != 4:
        raise ValueError(f"n_mpjpe: expected two equal (B, T, J, 3), got {tuple(pred.shape)}, {tuple(target.shape)}")
    norm_pred = torch.mean(torch.sum(pred**2, dim=3, keepdim=True), dim=2, keepdim=True)
    norm_tgt = torch.mean(torch.sum(target * pred, dim=3, keepdim=True), dim=2, keepdim=True)
    return mpjpe(norm_tgt / norm_pred * pred, target)


def bone_length_penalty(pred: torch.Tensor, parents: Sequence[int], split: int) -> torch.Tensor:
    """Semi-supervised kinematic term: mean |mean bone length (labelled) - mean (unlabelled)|.

    pred: (B, T, J, 3), rows ``[:split]`` labelled and ``[split:]`` unlabelled; bone lengths are
    averaged over time per sample, then over each part of the batch.
    """
    parents = list(parents)
    bones = pred[:, :, 1:] - pred[:, :, parents[1:]]
    lengths = torch.mean(torch.norm(bones, dim=3), dim=1)
    return torch.mean(torch.abs(torch.mean(lengths[:split], dim=0) - torch.mean(lengths[split:], dim=0)))
