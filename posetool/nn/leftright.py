"""A temporal network that judges a pose estimator's left/right labels along a track.

Input: per frame of a track window, features of the pose as the estimator labelled it
(:func:`posetool.track.labeller.features`: body-relative and window-relative keypoints, their
confidences, the estimator's ``lr_doubt`` per pair, a presence flag), as (B, C, T). Output: one
logit per left/right pair and frame, (B, P, T), that the pair's labels are the wrong way round
(left given to the right limb). The network is non-causal: a frame is judged with the frames
before and after it (gait: a leg mislabelled for half a stride is one that stays planted through
a whole stride while the other swings twice).

Layers: a k = 3 convolution to ``channels``, then residual blocks of a dilated k = 3 convolution
(dilations ``dilations``), each Conv → BatchNorm → ReLU → dropout plus the input, and a 1×1
convolution to the P logits. Receptive field: 1 + 2 · (1 + Σ dilations) frames. Zero padding
keeps T: frames beyond a window's edge read as absent (the presence flag is 0 there too).
"""

from __future__ import annotations

import torch
from torch import nn


class _Block(nn.Module):
    """Dilated k = 3 convolution → BatchNorm → ReLU → dropout, plus the input. (B, C, T) → (B, C, T)."""

    def __init__(self, channels: int, dilation: int, dropout: float) -> None:
        super().__init__()
        self.conv = nn.Conv1d(channels, channels, 3, padding=dilation, dilation=dilation, bias=False)
        self.bn = nn.BatchNorm1d(channels)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.drop(torch.relu(self.bn(self.conv(x))))


class LeftRightNet(nn.Module):
    """(B, in_channels, T) track features → (B, pairs, T) logits that each pair's labels are exchanged."""

    def __init__(self, in_channels: int, pairs: int, channels: int = 128, dilations: tuple[int, ...] = (1, 3, 9, 9),
                 dropout: float = 0.1) -> None:
        super().__init__()
        self.config = {"in_channels": in_channels, "pairs": pairs, "channels": channels,
                       "dilations": list(dilations), "dropout": dropout}
        self.stem = nn.Sequential(nn.Conv1d(in_channels, channels, 3, padding=1, bias=False),
                                  nn.BatchNorm1d(channels), nn.ReLU())
        self.blocks = nn.Sequential(*(_Block(channels, d, dropout) for d in dilations))
        self.head = nn.Conv1d(channels, pairs, 1)

    @property
    def reach(self) -> int:
        """Frames on each side of a frame that its logit depends on."""
        return 1 + sum(self.config["dilations"])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.blocks(self.stem(x)))


def build_leftright(in_channels: int = 98, pairs: int = 8, channels: int = 128, dilations: tuple[int, ...] = (1, 3, 9, 9),
                    dropout: float = 0.1) -> LeftRightNet:
    """The registry's builder (:mod:`posetool.track.specs`)."""
    return LeftRightNet(in_channels, pairs, channels, tuple(dilations), dropout)
