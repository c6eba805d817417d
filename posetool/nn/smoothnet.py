"""SmoothNet (Zeng et al., ECCV 2022): a temporal-only fully-connected network that refines pose
sequences.

Every coordinate of every keypoint is a separate 1-D signal; a window of T values goes through an
encoder (Linear T → hidden, LeakyReLU 0.1), residual blocks (Linear hidden → res_hidden → hidden,
each followed by dropout and LeakyReLU 0.2, plus the identity) and a decoder (Linear hidden → T),
giving the refined window. A long sequence is cut into every window of T consecutive frames
(stride 1) and each frame's value is the mean of the windows that contain it. Sizes and
activations as the official ``lib/models/smoothnet.py`` (hidden 512, res_hidden 256, 3 blocks,
dropout 0.5).
"""

from __future__ import annotations

import torch
from torch import nn


class ResBlock(nn.Module):
    """Linear → dropout → LeakyReLU(0.2), twice, plus the input. (*, C) → (*, C)."""

    def __init__(self, channels: int, hidden: int, dropout: float) -> None:
        super().__init__()
        self.linear1 = nn.Linear(channels, hidden)
        self.linear2 = nn.Linear(hidden, channels)
        self.dropout = nn.Dropout(dropout)
        self.act = nn.LeakyReLU(0.2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.act(self.dropout(self.linear1(x)))
        y = self.act(self.dropout(self.linear2(y)))
        return x + y


class SmoothNet(nn.Module):
    """Windows (..., T) → refined windows (..., T); each trailing-axis row is one coordinate's window."""

    def __init__(self, window: int = 32, hidden: int = 512, res_hidden: int = 256, blocks: int = 3,
                 dropout: float = 0.5) -> None:
        super().__init__()
        if window < 3:
            raise ValueError(f"window must be at least 3 frames, got {window}")
        self.window = window
        self.config = {"window": window, "hidden": hidden, "res_hidden": res_hidden, "blocks": blocks, "dropout": dropout}
        self.encoder = nn.Sequential(nn.Linear(window, hidden), nn.LeakyReLU(0.1))
        self.res_blocks = nn.Sequential(*(ResBlock(hidden, res_hidden, dropout) for _ in range(blocks)))
        self.decoder = nn.Linear(hidden, window)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.res_blocks(self.encoder(x)))

    def sequence(self, x: torch.Tensor) -> torch.Tensor:
        """Refine a whole sequence (C, L) with L ≥ T: every window of T frames, averaged per frame."""
        length = x.shape[-1]
        if length < self.window:
            raise ValueError(f"a sequence of {length} frames is shorter than the window ({self.window})")
        windows = x.unfold(-1, self.window, 1)  # (C, L − T + 1, T)
        out = self(windows)
        total = x.new_zeros(x.shape)
        count = x.new_zeros(length)
        for s in range(windows.shape[-2]):
            total[..., s:s + self.window] += out[..., s, :]
            count[s:s + self.window] += 1
        return total / count


def build_smoothnet(window: int = 32, hidden: int = 512, res_hidden: int = 256, blocks: int = 3,
                    dropout: float = 0.5) -> SmoothNet:
    """The registry's builder (:mod:`posetool.track.specs`)."""
    return SmoothNet(window, hidden, res_hidden, blocks, dropout)
