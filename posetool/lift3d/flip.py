"""Horizontal flips as VideoPose3D applies them (train-time augmentation and test-time averaging).

In normalised screen / camera coordinates a horizontal mirror negates x; the left and right
joints then swap roles, so their slots are exchanged. The trajectory (root position) is only
negated (no slots to swap). A camera's principal point x and first tangential coefficient
change sign too.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from posetool.skeletons import get_skeleton


def left_right(skeleton: str) -> tuple[list[int], list[int]]:
    """(left, right) index lists of a layout's flip pairs."""
    s = get_skeleton(skeleton)
    return s.left, s.right


def flip_points(x: np.ndarray | torch.Tensor, left: Sequence[int], right: Sequence[int]):
    """Mirror points (..., J, C) with C >= 2: negate x and swap left/right slots. Returns a copy.

    Extra channels (y, z, confidence) are swapped with their joint but not negated.
    """
    lr = list(left) + list(right)
    rl = list(right) + list(left)
    if isinstance(x, torch.Tensor):
        out = x.clone()
        out[..., 0] *= -1
        out[..., lr, :] = out[..., rl, :].clone()
        return out
    out = np.array(x, copy=True)
    out[..., 0] *= -1
    out[..., lr, :] = out[..., rl, :]
    return out


def flip_camera(cam: np.ndarray) -> np.ndarray:
    """Mirror normalised intrinsics (..., 9): negate cx and p1. Returns a copy."""
    out = np.array(cam, copy=True)
    out[..., 2] *= -1
    out[..., 7] *= -1
    return out


def unflip_average(pred: torch.Tensor, left: Sequence[int] | None, right: Sequence[int] | None) -> torch.Tensor:
    """Test-time augmentation: undo the flip of ``pred[1]`` and average it with ``pred[0]``.

    Args:
        pred: (2, T, J, 3): prediction on the original input and on its mirrored copy.
        left, right: output joint slots to swap back; ``None`` for the trajectory model.

    Returns:
        (1, T, J, 3).
    """
    if pred.shape[0] != 2:
        raise ValueError(f"unflip_average expects a batch of 2 (original, flipped), got {tuple(pred.shape)}")
    back = pred[1].clone()
    back[..., 0] *= -1
    if left is not None and right is not None:
        lr, rl = list(left) + list(right), list(right) + list(left)
        back[:, lr] = back[:, rl].clone()
    return ((pred[0] + back) / 2).unsqueeze(0)
