"""HRNet for top-down pose (Sun et al., CVPR 2019): parallel multi-resolution branches → heatmaps.

Layout and state-dict keys equal the official ``PoseHighResolutionNet``
(leoxiaobin/deep-high-resolution-net.pytorch, ``lib/models/pose_hrnet.py``) built from the COCO
configs (``experiments/coco/hrnet/w{32,48}_*.yaml``): a stem of two 3×3/2 convolutions, ``layer1``
(4 Bottlenecks), ``transition1..3``, ``stage2..4`` of ``HighResolutionModule``s with ``branches``
and ``fuse_layers``, and a 1×1 ``final_layer`` on the highest-resolution branch.
Input (N, 3, H, W) → heatmaps (N, J, H/4, W/4).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from posetool.nn.init import init_normal_
from posetool.nn.resnet import BN_MOMENTUM, BasicBlock, Bottleneck

BLOCKS: dict[str, type[nn.Module]] = {"BASIC": BasicBlock, "BOTTLENECK": Bottleneck}


@dataclass(frozen=True)
class StageConfig:
    """One HRNet stage (``MODEL.EXTRA.STAGEk`` in the official yaml)."""

    num_modules: int
    num_blocks: tuple[int, ...]
    num_channels: tuple[int, ...]
    block: str = "BASIC"

    @property
    def num_branches(self) -> int:
        return len(self.num_channels)


def coco_stages(width: int) -> tuple[StageConfig, StageConfig, StageConfig]:
    """Stage 2–4 configs of the official COCO yamls for base width C (W32: C=32).

    Module counts 1, 4, 3; four BasicBlocks per branch; channels C·2^b.
    """
    return (
        StageConfig(1, (4, 4), (width, width * 2)),
        StageConfig(4, (4, 4, 4), (width, width * 2, width * 4)),
        StageConfig(3, (4, 4, 4, 4), (width, width * 2, width * 4, width * 8)),
    )


class HighResolutionModule(nn.Module):
    """Branches of residual blocks at 1/2^b resolution, then all-to-all fusion by summation.

    ``fuse_layers[i][j]`` brings branch j to branch i: 1×1 conv + BN + nearest upsampling when
    j > i, a chain of 3×3/2 conv + BN (+ ReLU except the last) when j < i, nothing when j == i.
    With ``multi_scale_output=False`` only the highest-resolution output is fused (``fuse_layers.0``).
    """

    def __init__(self, block: type[nn.Module], num_blocks: Sequence[int], in_channels: Sequence[int],
                 num_channels: Sequence[int], multi_scale_output: bool = True) -> None:
        super().__init__()
        if not len(num_blocks) == len(in_channels) == len(num_channels):
            raise ValueError(
                f"branches disagree: {len(num_blocks)} block counts, {len(in_channels)} inputs, {len(num_channels)} widths"
            )
        self.num_branches = len(num_channels)
        self.multi_scale_output = multi_scale_output
        self.in_channels = list(in_channels)
        self.branches = nn.ModuleList(
            self._make_branch(b, block, num_blocks[b], num_channels[b]) for b in range(self.num_branches)
        )
        self.fuse_layers = self._make_fuse_layers()
        self.relu = nn.ReLU(inplace=False)

    def _make_branch(self, b: int, block: type[nn.Module], blocks: int, channels: int) -> nn.Sequential:
        out_channels = channels * block.expansion
        downsample = None
        if self.in_channels[b] != out_channels:
            downsample = nn.Sequential(
                nn.Conv2d(self.in_channels[b], out_channels, kernel_size=1, bias=False),
                nn.BatchNorm2d(out_channels, momentum=BN_MOMENTUM),
            )
        layers = [block(self.in_channels[b], channels, 1, downsample)]
        self.in_channels[b] = out_channels
        layers += [block(out_channels, channels) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def _make_fuse_layers(self) -> nn.ModuleList | None:
        if self.num_branches == 1:
            return None
        ch = self.in_channels
        fuse_layers = []
        for i in range(self.num_branches if self.multi_scale_output else 1):
            row: list[nn.Module | None] = []
            for j in range(self.num_branches):
                if j > i:
                    row.append(nn.Sequential(
                        nn.Conv2d(ch[j], ch[i], 1, 1, 0, bias=False),
                        nn.BatchNorm2d(ch[i]),
                        nn.Upsample(scale_factor=2 ** (j - i), mode="nearest"),
                    ))
                elif j == i:
                    row.append(None)
                else:
                    steps: list[nn.Module] = []
                    for k in range(i - j):
                        last = k == i - j - 1
                        out = ch[i] if last else ch[j]
                        parts: list[nn.Module] = [nn.Conv2d(ch[j], out, 3, 2, 1, bias=False), nn.BatchNorm2d(out)]
                        if not last:
                            parts.append(nn.ReLU(inplace=True))
                        steps.append(nn.Sequential(*parts))
                    row.append(nn.Sequential(*steps))
            fuse_layers.append(nn.ModuleList(row))
        return nn.ModuleList(fuse_layers)

    def forward(self, xs: list[torch.Tensor]) -> list[torch.Tensor]:
        """Branch inputs [(N, C_b, H/2^b, W/2^b)] → fused outputs (all, or only b = 0)."""
        xs = [branch(x) for branch, x in zip(self.branches, xs)]
        if self.fuse_layers is None:
            return xs
        out = []
        for i, row in enumerate(self.fuse_layers):
            y = xs[0] if i == 0 else row[0](xs[0])
            for j in range(1, self.num_branches):
                y = y + (xs[j] if i == j else row[j](xs[j]))
            out.append(self.relu(y))
        return out


def _transition(pre: Sequence[int], cur: Sequence[int]) -> nn.ModuleList:
    """Adapt branch widths between stages and create the new lowest-resolution branch(es).

    Existing branches get a 3×3 conv only if their width changes (``None`` otherwise); each new
    branch is a chain of 3×3/2 convs from the previous stage's last branch.
    """
    layers: list[nn.Module | None] = []
    for i, c in enumerate(cur):
        if i < len(pre):
            layers.append(None if c == pre[i] else nn.Sequential(
                nn.Conv2d(pre[i], c, 3, 1, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU(inplace=True)))
        else:
            steps = []
            for k in range(i + 1 - len(pre)):
                out = c if k == i - len(pre) else pre[-1]
                steps.append(nn.Sequential(nn.Conv2d(pre[-1], out, 3, 2, 1, bias=False), nn.BatchNorm2d(out),
                                           nn.ReLU(inplace=True)))
            layers.append(nn.Sequential(*steps))
    return nn.ModuleList(layers)


class PoseHighResolutionNet(nn.Module):
    """HRNet pose network. Input (N, 3, H, W) → (N, J, H/4, W/4) heatmaps."""

    def __init__(self, stages: Sequence[StageConfig], num_joints: int = 17, final_kernel: int = 1) -> None:
        super().__init__()
        if len(stages) != 3:
            raise ValueError(f"HRNet needs configs for stages 2, 3 and 4, got {len(stages)}")
        self.num_joints = num_joints
        self.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=2, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(64, momentum=BN_MOMENTUM)
        self.conv2 = nn.Conv2d(64, 64, kernel_size=3, stride=2, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(64, momentum=BN_MOMENTUM)
        self.relu = nn.ReLU(inplace=True)
        downsample = nn.Sequential(nn.Conv2d(64, 256, 1, bias=False), nn.BatchNorm2d(256, momentum=BN_MOMENTUM))
        self.layer1 = nn.Sequential(Bottleneck(64, 64, 1, downsample), *(Bottleneck(256, 64) for _ in range(3)))

        pre = [256]
        names = ("stage2", "stage3", "stage4")
        for k, (name, cfg) in enumerate(zip(names, stages)):
            block = BLOCKS[cfg.block]
            cur = [c * block.expansion for c in cfg.num_channels]
            setattr(self, f"transition{k + 1}", _transition(pre, cur))
            modules = []
            for m in range(cfg.num_modules):
                # only the very last module of the network stops producing all resolutions
                multi = not (name == "stage4" and m == cfg.num_modules - 1)
                module = HighResolutionModule(block, cfg.num_blocks, cur, cfg.num_channels, multi)
                cur = module.in_channels
                modules.append(module)
            setattr(self, name, nn.Sequential(*modules))
            pre = cur
        self.final_layer = nn.Conv2d(pre[0], num_joints, kernel_size=final_kernel, stride=1,
                                     padding=1 if final_kernel == 3 else 0)
        self.init_weights()

    def init_weights(self) -> None:
        """The official initialisation of the whole network (:func:`posetool.nn.init.init_normal_`)."""
        init_normal_(self.modules())

    @staticmethod
    def _apply_transition(transition: nn.ModuleList, ys: list[torch.Tensor]) -> list[torch.Tensor]:
        out = []
        for i, t in enumerate(transition):
            if i < len(ys):
                out.append(ys[i] if t is None else t(ys[i]))
            else:  # a new branch grows from the lowest resolution so far
                out.append(t(ys[-1]))
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) → (N, J, H/4, W/4) (H, W multiples of 32)."""
        x = self.relu(self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x))))))
        ys = [self.layer1(x)]
        for t, s in ((self.transition1, self.stage2), (self.transition2, self.stage3), (self.transition3, self.stage4)):
            ys = s(self._apply_transition(t, ys))
        return self.final_layer(ys[0])


def pose_hrnet(width: int = 32, num_joints: int = 17) -> PoseHighResolutionNet:
    """Registry builder: HRNet-W``width`` with the official COCO stage configs (W18, W32, W48)."""
    return PoseHighResolutionNet(coco_stages(width), num_joints=num_joints)
