"""VideoPose3D (Pavllo et al., CVPR 2019): dilated temporal convolutions that lift 2D keypoint
sequences to 3D.

Two modules share one set of weights (identical ``state_dict`` keys and shapes, equal to the
official ``common/model.py`` so official ``.bin`` checkpoints load with strict matching):

- :class:`TemporalModel` runs on a whole sequence: valid (unpadded) dilated convolutions, so an
  input of ``T`` frames gives ``T - receptive_field + 1`` output frames. Used for inference.
- :class:`TemporalModelOptimized1f` replaces every dilated convolution by a strided one of the
  same kernel, computing only what a single output frame needs (input length = receptive
  field). Used for training with one output frame per sample (the paper's recipe).

:class:`VideoPose3D` bundles the pose model (``model_pos``) and an optional trajectory model
(``model_traj``, one output "joint": the root position in camera space) with the skeletons they
were trained for; its ``load_state_dict`` also accepts an official checkpoint dict.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F


def check_filter_widths(filter_widths: Sequence[int]) -> list[int]:
    """Validate the per-block kernel widths (all odd, at least one) and return them as a list."""
    widths = [int(w) for w in filter_widths]
    if not widths:
        raise ValueError("filter_widths must name at least one width")
    for w in widths:
        if w < 1 or w % 2 == 0:
            raise ValueError(f"filter_widths: every width must be odd and positive, got {w}")
    return widths


def layer_pads(filter_widths: Sequence[int]) -> list[int]:
    """Frames each block consumes per side: ``pad[0] = fw0 // 2``, ``pad[i] = (fw_i - 1) * prod(fw_<i) / 2``."""
    widths = check_filter_widths(filter_widths)
    pads = [widths[0] // 2]
    dilation = widths[0]
    for w in widths[1:]:
        pads.append((w - 1) * dilation // 2)
        dilation *= w
    return pads


def receptive_field(filter_widths: Sequence[int]) -> int:
    """Input frames one output frame sees: ``1 + 2 * sum(pads)`` (the product of the widths)."""
    return 1 + 2 * sum(layer_pads(filter_widths))


def sequence_padding(filter_widths: Sequence[int], causal: bool) -> tuple[int, int]:
    """(left, right) frames of edge padding that make output length equal input length.

    As the official generators: ``pad = (RF - 1) // 2`` on each side, shifted by
    ``causal_shift = pad`` to the left in causal mode (output frame t sees t-RF+1 .. t).
    """
    pad = (receptive_field(filter_widths) - 1) // 2
    shift = pad if causal else 0
    return pad + shift, pad - shift


class TemporalModelBase(nn.Module):
    """What both variants share: input/output reshaping, expand BN, shrink, BN momentum.

    Submodule registration order matters: it fixes the ``state_dict`` order of the official
    files (``expand_bn``, ``shrink``, then the subclass' ``expand_conv``, ``layers_conv``,
    ``layers_bn``).
    """

    def __init__(
        self,
        num_joints_in: int,
        in_features: int,
        num_joints_out: int,
        filter_widths: Sequence[int],
        causal: bool,
        dropout: float,
        channels: int,
    ) -> None:
        super().__init__()
        self.filter_widths = check_filter_widths(filter_widths)
        self.num_joints_in = int(num_joints_in)
        self.in_features = int(in_features)
        self.num_joints_out = int(num_joints_out)
        self.channels = int(channels)
        self.causal = bool(causal)
        self.drop = nn.Dropout(dropout)
        self.relu = nn.ReLU(inplace=True)
        self.pad = layer_pads(self.filter_widths)
        self.expand_bn = nn.BatchNorm1d(channels, momentum=0.1)
        self.shrink = nn.Conv1d(channels, num_joints_out * 3, 1)

    def set_bn_momentum(self, momentum: float) -> None:
        """Set the momentum of every BatchNorm (the recipe decays it from 0.1 to 0.001)."""
        self.expand_bn.momentum = momentum
        for bn in self.layers_bn:
            bn.momentum = momentum

    def receptive_field(self) -> int:
        """Input frames per output frame."""
        return 1 + 2 * sum(self.pad)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Lift a batch of 2D sequences.

        Args:
            x: (B, T, J_in, F) normalised 2D keypoints (F = in_features, usually 2).

        Returns:
            (B, T', J_out, 3) with ``T' = T - receptive_field + 1`` (``TemporalModel``) or
            ``T / receptive_field`` (``TemporalModelOptimized1f``).
        """
        if x.dim() != 4 or x.shape[-2] != self.num_joints_in or x.shape[-1] != self.in_features:
            raise ValueError(
                f"expected input (B, T, {self.num_joints_in}, {self.in_features}), got {tuple(x.shape)}"
            )
        b, t = x.shape[:2]
        # (B, T, J*F) -> (B, J*F, T): channel index j*F + f, as the official model
        x = x.reshape(b, t, -1).permute(0, 2, 1)
        x = self._forward_blocks(x)
        return x.permute(0, 2, 1).reshape(b, -1, self.num_joints_out, 3)

    def _forward_blocks(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError


class TemporalModel(TemporalModelBase):
    """The reference model: dilated convolutions over whole sequences (any length >= RF).

    Block i (1-based) is a width-``fw[i]`` convolution with dilation ``prod(fw[:i])`` and a 1x1
    convolution, each followed by BN, ReLU and dropout, plus a residual: the centre slice of the
    block input (right-aligned in causal mode). ``dense=True`` is the paper's ablation with
    undilated wide kernels of the same receptive field.
    """

    def __init__(
        self,
        num_joints_in: int,
        in_features: int,
        num_joints_out: int,
        filter_widths: Sequence[int],
        causal: bool = False,
        dropout: float = 0.25,
        channels: int = 1024,
        dense: bool = False,
    ) -> None:
        super().__init__(num_joints_in, in_features, num_joints_out, filter_widths, causal, dropout, channels)
        fw = self.filter_widths
        self.dense = bool(dense)
        self.expand_conv = nn.Conv1d(num_joints_in * in_features, channels, fw[0], bias=False)
        # Per block: offset of the residual slice. In causal mode the slice is right-aligned,
        # i.e. shifted by the block's full pad so outputs only depend on past frames.
        self.causal_shift = [fw[0] // 2 if causal else 0]
        self.dilations: list[int] = []
        convs: list[nn.Module] = []
        bns: list[nn.Module] = []
        dilation = fw[0]
        for i, w in enumerate(fw[1:], start=1):
            self.causal_shift.append(w // 2 * dilation if causal else 0)
            kernel = w if not dense else 2 * self.pad[i] + 1
            self.dilations.append(dilation if not dense else 1)
            convs.append(nn.Conv1d(channels, channels, kernel, dilation=self.dilations[-1], bias=False))
            bns.append(nn.BatchNorm1d(channels, momentum=0.1))
            convs.append(nn.Conv1d(channels, channels, 1, bias=False))
            bns.append(nn.BatchNorm1d(channels, momentum=0.1))
            dilation *= w
        self.layers_conv = nn.ModuleList(convs)
        self.layers_bn = nn.ModuleList(bns)

    def _forward_blocks(self, x: torch.Tensor) -> torch.Tensor:
        x = self.drop(self.relu(self.expand_bn(self.expand_conv(x))))
        for i in range(len(self.pad) - 1):
            pad, shift = self.pad[i + 1], self.causal_shift[i + 1]
            res = x[:, :, pad + shift : x.shape[2] - pad + shift]
            x = self.drop(self.relu(self.layers_bn[2 * i](self.layers_conv[2 * i](x))))
            x = res + self.drop(self.relu(self.layers_bn[2 * i + 1](self.layers_conv[2 * i + 1](x))))
        return self.shrink(x)

    def forward_last(self, x: torch.Tensor) -> torch.Tensor:
        """Only the output for the window ending at the last input frame, computed strided.

        Same result as ``forward(x[:, -RF:])`` but with the strided computation of
        :class:`TemporalModelOptimized1f` on this model's weights (no dilated intermediate
        frames), which makes per-frame online lifting cheap.

        Args:
            x: (B, T >= RF, J_in, F). Returns (B, 1, J_out, 3).
        """
        if self.dense:
            return self.forward(x[:, -self.receptive_field():])
        rf = self.receptive_field()
        if x.dim() != 4 or x.shape[1] < rf:
            raise ValueError(f"forward_last needs (B, T >= {rf}, J, F), got {tuple(x.shape)}")
        x = x[:, x.shape[1] - rf :]
        b = x.shape[0]
        h = x.reshape(b, rf, -1).permute(0, 2, 1)
        fw = self.filter_widths
        h = F.conv1d(h, self.expand_conv.weight, stride=fw[0])
        h = self.drop(self.relu(self.expand_bn(h)))
        for i in range(len(fw) - 1):
            w = fw[i + 1]
            # centre of each stride group, or its right end in causal mode (= the dilated slice)
            start = (w // 2) * (2 if self.causal else 1)
            res = h[:, :, start::w]
            h = F.conv1d(h, self.layers_conv[2 * i].weight, stride=w)
            h = self.drop(self.relu(self.layers_bn[2 * i](h)))
            h = res + self.drop(self.relu(self.layers_bn[2 * i + 1](self.layers_conv[2 * i + 1](h))))
        h = self.shrink(h)
        return h.permute(0, 2, 1).reshape(b, -1, self.num_joints_out, 3)


class TemporalModelOptimized1f(TemporalModelBase):
    """Training variant for one output frame per sample (input length = receptive field).

    Dilated convolutions become strided ones with the same kernels, so no unused intermediate
    frames are computed; the weights are interchangeable with :class:`TemporalModel`.
    """

    def __init__(
        self,
        num_joints_in: int,
        in_features: int,
        num_joints_out: int,
        filter_widths: Sequence[int],
        causal: bool = False,
        dropout: float = 0.25,
        channels: int = 1024,
    ) -> None:
        super().__init__(num_joints_in, in_features, num_joints_out, filter_widths, causal, dropout, channels)
        fw = self.filter_widths
        self.expand_conv = nn.Conv1d(num_joints_in * in_features, channels, fw[0], stride=fw[0], bias=False)
        # After striding every block input has one sample per stride group, so the causal
        # residual offset is the half width (not multiplied by the dilation).
        self.causal_shift = [fw[0] // 2 if causal else 0]
        convs: list[nn.Module] = []
        bns: list[nn.Module] = []
        for w in fw[1:]:
            self.causal_shift.append(w // 2 if causal else 0)
            convs.append(nn.Conv1d(channels, channels, w, stride=w, bias=False))
            bns.append(nn.BatchNorm1d(channels, momentum=0.1))
            convs.append(nn.Conv1d(channels, channels, 1, bias=False))
            bns.append(nn.BatchNorm1d(channels, momentum=0.1))
        self.layers_conv = nn.ModuleList(convs)
        self.layers_bn = nn.ModuleList(bns)

    def _forward_blocks(self, x: torch.Tensor) -> torch.Tensor:
        x = self.drop(self.relu(self.expand_bn(self.expand_conv(x))))
        for i in range(len(self.pad) - 1):
            w = self.filter_widths[i + 1]
            res = x[:, :, self.causal_shift[i + 1] + w // 2 :: w]
            x = self.drop(self.relu(self.layers_bn[2 * i](self.layers_conv[2 * i](x))))
            x = res + self.drop(self.relu(self.layers_bn[2 * i + 1](self.layers_conv[2 * i + 1](x))))
        return self.shrink(x)


def fill_num_batches_tracked(module: nn.Module, state: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Copy ``state`` and add ``num_batches_tracked`` for BatchNorms whose entry is missing.

    Checkpoints written by PyTorch < 0.4.1 (the early official ``.bin`` files) have no such
    buffer; it only counts batches and is unused with a fixed momentum, so 0 is exact.
    """
    out = dict(state)
    for name, sub in module.named_modules():
        if isinstance(sub, nn.modules.batchnorm._BatchNorm) and sub.track_running_stats:
            key = f"{prefix}{name}.num_batches_tracked" if name else f"{prefix}num_batches_tracked"
            if key not in out and f"{prefix}{name}.running_mean" in out:
                out[key] = torch.tensor(0, dtype=torch.long)
    return out


class VideoPose3D(nn.Module):
    """A lifter: pose model plus optional trajectory model and their skeleton metadata.

    Args:
        in_skeleton: 2D layout the model was trained on (e.g. ``coco17``).
        out_skeleton: 3D layout it predicts (e.g. ``h36m17``).
        num_joints_in / num_joints_out: joints of those layouts.
        filter_widths, channels, dropout, causal, dense: the architecture (``-arc``, ``-ch``...).
        in_features: 2 for (x, y); 3 for models that also take the keypoint confidence.
        trajectory: also build ``model_traj`` (root position in camera space).

    ``state_dict`` keys are ``model_pos.<official key>`` and ``model_traj.<official key>``.
    """

    def __init__(
        self,
        *,
        in_skeleton: str = "coco17",
        out_skeleton: str = "h36m17",
        num_joints_in: int = 17,
        num_joints_out: int = 17,
        filter_widths: Sequence[int] = (3, 3, 3, 3, 3),
        channels: int = 1024,
        dropout: float = 0.25,
        causal: bool = False,
        dense: bool = False,
        in_features: int = 2,
        trajectory: bool = False,
    ) -> None:
        super().__init__()
        self.in_skeleton = in_skeleton
        self.out_skeleton = out_skeleton
        self.config = {
            "in_skeleton": in_skeleton, "out_skeleton": out_skeleton, "num_joints_in": int(num_joints_in),
            "num_joints_out": int(num_joints_out), "filter_widths": check_filter_widths(filter_widths),
            "channels": int(channels), "dropout": float(dropout), "causal": bool(causal), "dense": bool(dense),
            "in_features": int(in_features), "trajectory": bool(trajectory),
        }
        args = (num_joints_in, in_features)
        kw = dict(filter_widths=filter_widths, causal=causal, dropout=dropout, channels=channels, dense=dense)
        self.model_pos = TemporalModel(*args, num_joints_out, **kw)
        self.model_traj = TemporalModel(*args, 1, **kw) if trajectory else None

    @property
    def causal(self) -> bool:
        return self.model_pos.causal

    def receptive_field(self) -> int:
        return self.model_pos.receptive_field()

    def padding(self) -> tuple[int, int]:
        """(left, right) edge padding for whole-sequence inference (see :func:`sequence_padding`)."""
        return sequence_padding(self.model_pos.filter_widths, self.causal)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(B, T, J_in, F) -> pose (B, T', J_out, 3) and trajectory (B, T', 1, 3) or None."""
        pos = self.model_pos(x)
        traj = self.model_traj(x) if self.model_traj is not None else None
        return pos, traj

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True, assign: bool = False):  # type: ignore[override]
        """Load our flat state dict, or an official checkpoint dict (``model_pos``/``model_traj``).

        Official dicts are flattened to ``model_pos.*``/``model_traj.*`` (a ``model_traj`` of
        ``None`` is dropped); other checkpoint entries (epoch, lr, optimizer, random_state) are
        ignored. Missing ``num_batches_tracked`` entries of old files are filled with 0.
        """
        state = normalise_state(state_dict)
        state = fill_num_batches_tracked(self.model_pos, state, "model_pos.")
        if self.model_traj is not None:
            state = fill_num_batches_tracked(self.model_traj, state, "model_traj.")
        return super().load_state_dict(state, strict=strict, assign=assign)


def normalise_state(state: Mapping[str, Any]) -> dict[str, Any]:
    """Turn an official / trainer checkpoint dict into flat ``model_pos.*``/``model_traj.*`` keys.

    Accepts the official ``{"model_pos": sd, "model_traj": sd | None, ...}`` dict, a flat dict
    already in that form (returned as a copy of its tensors), and a bare ``TemporalModel``
    state dict (``expand_conv.weight`` at the top: taken as the pose model).
    """
    if "model_pos" in state and isinstance(state["model_pos"], Mapping):
        out = {f"model_pos.{k}": v for k, v in state["model_pos"].items()}
        traj = state.get("model_traj")
        if isinstance(traj, Mapping):
            out.update({f"model_traj.{k}": v for k, v in traj.items()})
        return out
    tensors = {k: v for k, v in state.items() if isinstance(v, torch.Tensor)}
    if "expand_conv.weight" in tensors and "shrink.weight" in tensors:
        return {f"model_pos.{k}": v for k, v in tensors.items()}
    return tensors


@dataclass(frozen=True)
class TemporalArchitecture:
    """What the weights of a :class:`TemporalModel` fix.

    ``in_channels`` is ``num_joints_in * in_features`` (the weights cannot split the product);
    ``causal``, ``dropout`` and ``dense`` are not in the weights at all (the official ``run.py``
    takes them from its command line).
    """

    in_channels: int
    num_joints_out: int
    filter_widths: tuple[int, ...]
    channels: int

    def describe(self) -> str:
        """``3,3,3 (27 frames), 1024 channels``."""
        widths = ",".join(str(w) for w in self.filter_widths)
        return f"{widths} ({receptive_field(self.filter_widths)} frames), {self.channels} channels"


def architecture_of(state: Mapping[str, Any], prefix: str = "") -> TemporalArchitecture | None:
    """The architecture of the ``TemporalModel`` whose keys start with ``prefix`` in ``state``.

    Read from the shapes: ``expand_conv.weight`` (C, J_in*F, fw[0]); block ``i`` adds
    ``layers_conv.{2i}.weight`` (C, C, fw[i+1]) and a 1x1 ``layers_conv.{2i+1}``;
    ``shrink.weight`` (J_out*3, C, 1). Kernels are read as the dilated model's widths (the
    ``dense`` ablation, with kernels ``2 * pad + 1``, has no released checkpoint and cannot be
    told apart). ``None`` if ``state`` has no such model.

    Raises:
        ValueError: the shapes are not those of a TemporalModel.
    """
    expand, shrink = state.get(f"{prefix}expand_conv.weight"), state.get(f"{prefix}shrink.weight")
    if not isinstance(expand, torch.Tensor) or not isinstance(shrink, torch.Tensor):
        return None
    if expand.dim() != 3 or shrink.dim() != 3 or shrink.shape[0] % 3:
        raise ValueError(f"{prefix}expand_conv.weight {tuple(expand.shape)} / {prefix}shrink.weight "
                         f"{tuple(shrink.shape)} are not the shapes of a VideoPose3D TemporalModel")
    channels = int(expand.shape[0])
    widths = [int(expand.shape[2])]
    block = 0
    while isinstance(conv := state.get(f"{prefix}layers_conv.{2 * block}.weight"), torch.Tensor):
        if conv.dim() != 3 or tuple(conv.shape[:2]) != (channels, channels):
            raise ValueError(
                f"{prefix}layers_conv.{2 * block}.weight {tuple(conv.shape)} does not fit {channels} channels")
        widths.append(int(conv.shape[2]))
        block += 1
    out_joints = int(shrink.shape[0]) // 3
    return TemporalArchitecture(int(expand.shape[1]), out_joints, tuple(check_filter_widths(widths)), channels)


def build_videopose3d(**kwargs: Any) -> VideoPose3D:
    """Registry builder (``posetool.nn.videopose3d:build_videopose3d``)."""
    return VideoPose3D(**kwargs)


def count_parameters(module: nn.Module) -> int:
    """Trainable parameters (the paper's Table 5 count)."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)
