"""Flip test: average the heatmaps of a crop and of its mirror image.

As in the official ``validate`` (HRNet ``lib/core/function.py``): the normalised input is flipped
along its width, the network's heatmaps are flipped back and their left/right channels swapped
(``flip_back``), then shifted right by one heatmap pixel (``SHIFT_HEATMAP``) — flipping an image
of width W maps x to W−1−x, which at stride 4 lands ¾ px away from the flipped heatmap's W−1−x,
and the shift compensates most of it — and averaged with the unflipped heatmaps.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch


def flip_permutation(num_keypoints: int, flip_pairs: Sequence[tuple[int, int]]) -> list[int]:
    """``perm`` with ``flipped[:, i] = original[:, perm[i]]`` (left ↔ right)."""
    perm = list(range(num_keypoints))
    for a, b in flip_pairs:
        perm[a], perm[b] = b, a
    return perm


def flip_back(heatmaps: torch.Tensor, perm: Sequence[int]) -> torch.Tensor:
    """Heatmaps of a flipped input (N, K, H, W) → heatmaps in the unflipped frame."""
    index = torch.as_tensor(np.asarray(perm, dtype=np.int64), device=heatmaps.device)
    return heatmaps.flip(3).index_select(1, index)


def shift_right(heatmaps: torch.Tensor) -> torch.Tensor:
    """Move heatmaps one pixel right along W (the first column is repeated, as upstream)."""
    out = heatmaps.clone()
    out[..., 1:] = heatmaps[..., :-1]
    return out


def flip_test(
    model: Callable[[torch.Tensor], torch.Tensor],
    inputs: torch.Tensor,
    perm: Sequence[int],
    shift: bool = True,
    heatmaps: torch.Tensor | None = None,
) -> torch.Tensor:
    """(N, 3, H, W) normalised crops → flip-averaged heatmaps (N, K, H/4, W/4).

    ``heatmaps`` may pass the unflipped output when it was already computed.
    """
    if heatmaps is None:  # one forward pass over both halves batches better than two
        both = model(torch.cat([inputs, inputs.flip(3)], dim=0))
        heatmaps, raw = both[: inputs.shape[0]], both[inputs.shape[0]:]
    else:
        raw = model(inputs.flip(3))
    flipped = flip_back(raw, perm)
    if shift:
        flipped = shift_right(flipped)
    return (heatmaps + flipped) * 0.5
