"""The TCC embedder of pose sequences (posetool align).

TCC (Dwibedi et al., CVPR 2019) embeds every video frame with a ResNet-50 whose features of
k = 2 context frames are fused by 3D convolutions, then max-pooled, two 512-wide fully connected
layers and a linear 128-d embedding. Here the input is a person's normalised keypoints, so:

- the per-frame encoder is an MLP over the K x F keypoint features (x, y, confidence in 2D);
- the temporal context is a stack of residual 1D convolutions over time (kernel 3, dilations
  1 and 3: nine neighbouring frames at the nominal frame rate), the role of the paper's 3D
  convolutions over stacked frames; edges are padded by repeating the first / last frame;
- two fully connected layers and a linear layer give the 128-d embedding.

The convolutions see only a fixed window, never the whole sequence, so the network cannot solve
the alignment by counting frames (the pitfall the official TCC code warns about for LSTMs and
positional encodings). At a frame rate ``s`` times the nominal one, the dilations are multiplied
by ``step = round(s)`` so the window spans the same seconds.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn


class TemporalBlock(nn.Module):
    """Residual 1D convolution over time: ``x + relu(conv(x))`` with edge padding.

    Input and output (B, C, T).
    """

    def __init__(self, channels: int, kernel: int, dilation: int) -> None:
        super().__init__()
        if kernel % 2 != 1:
            raise ValueError(f"kernel must be odd (a centred window), got {kernel}")
        self.conv = nn.Conv1d(channels, channels, kernel)
        self.norm = nn.LayerNorm(channels)
        self.kernel, self.dilation = kernel, dilation

    def forward(self, x: torch.Tensor, step: int = 1) -> torch.Tensor:
        dil = self.dilation * step
        pad = (self.kernel - 1) // 2 * dil
        y = F.conv1d(F.pad(x, (pad, pad), mode="replicate"), self.conv.weight, self.conv.bias, dilation=dil)
        y = self.norm(y.transpose(1, 2)).transpose(1, 2)
        return x + F.relu(y)


class PoseTCC(nn.Module):
    """Per-frame embeddings of a pose sequence.

    Args:
        num_keypoints: K, keypoints per frame (17 for coco17).
        in_features: F, features per keypoint (3: x, y, confidence; 4 in 3D: x, y, z, valid).
        hidden: width of the encoder, the temporal blocks and the head.
        embed_dim: size of the embedding (128 as in the paper).
        kernel, dilations: the temporal blocks (receptive field ``1 + (kernel - 1) * sum(dilations)``).
        fps: the nominal frame rate the dilations are meant for.
        skeleton: the keypoint layout the model was trained on (``coco17`` in 2D, ``h36m17`` in 3D).
        dims: 2 for image keypoints, 3 for lifted ``keypoints_3d``.
    """

    def __init__(self, num_keypoints: int = 17, in_features: int = 3, hidden: int = 256, embed_dim: int = 128,
                 kernel: int = 3, dilations: tuple[int, ...] = (1, 3), fps: float = 25.0,
                 skeleton: str = "coco17", dims: int = 2) -> None:
        super().__init__()
        self.config: dict[str, Any] = {
            "num_keypoints": num_keypoints, "in_features": in_features, "hidden": hidden, "embed_dim": embed_dim,
            "kernel": kernel, "dilations": list(dilations), "fps": fps, "skeleton": skeleton, "dims": dims,
        }
        self.encoder = nn.Sequential(
            nn.Linear(num_keypoints * in_features, hidden), nn.ReLU(),
            nn.Linear(hidden, hidden), nn.ReLU(),
        )
        self.temporal = nn.ModuleList(TemporalBlock(hidden, kernel, d) for d in dilations)
        self.head = nn.Sequential(
            nn.Linear(hidden, hidden), nn.ReLU(),
            nn.Linear(hidden, hidden), nn.ReLU(),
            nn.Linear(hidden, embed_dim),
        )

    @property
    def receptive_field(self) -> int:
        """Frames of context each embedding sees at the nominal frame rate."""
        return 1 + (self.config["kernel"] - 1) * sum(self.config["dilations"])

    def forward(self, x: torch.Tensor, step: int = 1) -> torch.Tensor:
        """(B, T, K, F) normalised keypoint features -> (B, T, embed_dim) embeddings.

        ``step`` multiplies the dilations (frame rate over the nominal one, rounded).
        """
        b, t, k, f = x.shape
        if (k, f) != (self.config["num_keypoints"], self.config["in_features"]):
            raise ValueError(f"expected (B, T, {self.config['num_keypoints']}, {self.config['in_features']}) input, "
                             f"got {tuple(x.shape)}")
        h = self.encoder(x.reshape(b, t, k * f)).transpose(1, 2)  # (B, hidden, T)
        for block in self.temporal:
            h = block(h, step)
        return self.head(h.transpose(1, 2))


def build_pose_tcc(**kwargs: Any) -> PoseTCC:
    """The registry's builder (``posetool.nn.tcc:build_pose_tcc``)."""
    if "dilations" in kwargs:
        kwargs["dilations"] = tuple(kwargs["dilations"])
    return PoseTCC(**kwargs)
