"""Lifting whole sequences: edge padding, one pass per chunk, test-time flip.

:func:`lift_sequence` does what the official ``UnchunkedGenerator`` + ``evaluate`` do for one
sequence: pad ``pad + causal_shift`` frames on the left and ``pad - causal_shift`` on the right
by repeating the end frames, run the dilated model once, and (with ``flip``) average with the
prediction on the mirrored input. Sequences longer than ``chunk`` output frames are cut into
chunks whose inputs overlap by ``receptive_field - 1`` frames; because every convolution is
valid and BatchNorm runs in eval mode, the result equals one pass over the whole sequence.

Inference uses :class:`FusedTemporalModel`: each BatchNorm folded into the convolution before
it (exact algebra, float rounding differences ~1e-6), dropout dropped, ReLU in place.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F

from posetool.hub.loader import LoadedModel
from posetool.lift3d.flip import left_right, unflip_average
from posetool.lift3d.windows import pad_edge
from posetool.nn.videopose3d import TemporalModel, VideoPose3D


def _fold(weight: torch.Tensor, bn: torch.nn.BatchNorm1d) -> tuple[torch.Tensor, torch.Tensor]:
    """conv (no bias) followed by eval BN == conv with scaled weight and a bias."""
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    return (weight * scale[:, None, None]).detach().contiguous(), (bn.bias - bn.running_mean * scale).detach().contiguous()


class FusedTemporalModel:
    """Inference-only copy of a :class:`TemporalModel` with BatchNorm folded into the convolutions.

    Call with (B, T, J_in, F) -> (B, T - RF + 1, J_out, 3), like the model in eval mode.
    Rebuild it after the weights change.
    """

    def __init__(self, model: TemporalModel) -> None:
        self.model = model
        self.expand = _fold(model.expand_conv.weight, model.expand_bn)
        self.layers = [_fold(c.weight, bn) for c, bn in zip(model.layers_conv, model.layers_bn)]
        self.shrink = (model.shrink.weight.detach(), model.shrink.bias.detach())
        self.dilations = list(model.dilations)
        self.pad = list(model.pad)
        self.shift = list(model.causal_shift)

    @torch.inference_mode()
    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        m = self.model
        b, t = x.shape[:2]
        h = x.reshape(b, t, -1).permute(0, 2, 1)
        h = F.relu_(F.conv1d(h, *self.expand))
        for i in range(len(self.pad) - 1):
            pad, shift = self.pad[i + 1], self.shift[i + 1]
            res = h[:, :, pad + shift : h.shape[2] - pad + shift]
            h = F.relu_(F.conv1d(h, *self.layers[2 * i], dilation=self.dilations[i]))
            h = F.relu_(F.conv1d(h, *self.layers[2 * i + 1])).add_(res)
        h = F.conv1d(h, *self.shrink)
        return h.permute(0, 2, 1).reshape(b, -1, m.num_joints_out, 3)


@dataclass
class Lifted:
    """One lifted sequence: ``pose`` (T, J_out, 3) root-relative metres; ``root`` (T, 3) or None."""

    pose: np.ndarray
    root: np.ndarray | None


class SequenceLifter:
    """Lifts normalised 2D sequences with a :class:`VideoPose3D` (eval mode, fused).

    Args:
        model: the lifter (its skeletons give the flip slots).
        flip: test-time augmentation (mirror, lift, un-mirror, average).
        chunk: output frames per forward pass (``None``: the whole sequence in one pass).
        device: where to run.
        trajectory: also run the trajectory network when the model has one.
    """

    def __init__(
        self, model: VideoPose3D, *, flip: bool = False, chunk: int | None = None, device: torch.device | str = "cpu",
        trajectory: bool = True,
    ) -> None:
        self.model = model.eval()
        self.flip = flip
        self.chunk = chunk if chunk and chunk > 0 else None
        self.device = torch.device(device)
        self.left_pad, self.right_pad = model.padding()
        self.rf = model.receptive_field()
        self.kps_lr = left_right(model.in_skeleton)
        self.joints_lr = left_right(model.out_skeleton)
        self.pos = FusedTemporalModel(model.model_pos)
        self.traj = FusedTemporalModel(model.model_traj) if (trajectory and model.model_traj is not None) else None

    @classmethod
    def from_loaded(cls, loaded: LoadedModel, *, flip: bool = False, chunk: int | None = None,
                    trajectory: bool = True) -> SequenceLifter:
        """The lifter around a model from :func:`posetool.hub.loader.load_model` (a lift3d spec)."""
        return cls(loaded.module, flip=flip, chunk=chunk, device=loaded.device, trajectory=trajectory)

    def _run(self, x: np.ndarray) -> tuple[torch.Tensor, torch.Tensor | None]:
        """x: (L, J, F) padded input -> pose (L - RF + 1, J_out, 3), traj (.., 1, 3) or None."""
        t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).to(self.device)[None]
        if self.flip:
            from posetool.lift3d.flip import flip_points

            t = torch.cat([t, flip_points(t, *self.kps_lr)], dim=0)
        if t.shape[1] == self.rf and not self.model.model_pos.dense:
            # one output frame (online lifting): the strided path computes only what it needs
            with torch.inference_mode():
                pos = self.model.model_pos.forward_last(t)
                traj = self.traj.model.forward_last(t) if self.traj is not None else None
        else:
            pos = self.pos(t)
            traj = self.traj(t) if self.traj is not None else None
        if self.flip:
            pos = unflip_average(pos, *self.joints_lr)
            traj = unflip_average(traj, None, None) if traj is not None else None
        return pos[0], (traj[0] if traj is not None else None)

    def lift_padded(self, padded: np.ndarray) -> Lifted:
        """Lift an already padded input (L, J, F): returns L - RF + 1 frames, chunked."""
        n_out = padded.shape[0] - self.rf + 1
        if n_out < 1:
            raise ValueError(f"padded input of {padded.shape[0]} frames is shorter than the receptive field {self.rf}")
        step = self.chunk or n_out
        poses, roots = [], []
        for a in range(0, n_out, step):
            b = min(n_out, a + step)
            pos, traj = self._run(padded[a : b + self.rf - 1])
            poses.append(pos.cpu().numpy())
            if traj is not None:
                roots.append(traj[:, 0].cpu().numpy())
        return Lifted(np.concatenate(poses), np.concatenate(roots) if roots else None)

    def lift(self, keypoints: np.ndarray) -> Lifted:
        """Lift one whole sequence.

        Args:
            keypoints: (T, J_in, F) normalised 2D (see ``normalize_screen_coordinates``), T >= 1;
                shorter than the receptive field is fine (edge padding).

        Returns:
            :class:`Lifted` with T frames.
        """
        kp = np.asarray(keypoints, dtype=np.float32)
        if kp.ndim != 3 or kp.shape[0] < 1:
            raise ValueError(f"lift expects (T >= 1, J, F) keypoints, got {kp.shape}")
        return self.lift_padded(pad_edge(kp, self.left_pad, self.right_pad))


def lift_sequence(model: VideoPose3D, keypoints: np.ndarray, *, flip: bool = False, chunk: int | None = None) -> Lifted:
    """One-call convenience around :class:`SequenceLifter` (CPU)."""
    return SequenceLifter(model, flip=flip, chunk=chunk).lift(keypoints)
