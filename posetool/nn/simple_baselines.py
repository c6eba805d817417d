"""SimpleBaselines (Xiao et al., ECCV 2018): a ResNet trunk + deconvolution head → heatmaps.

Layout and state-dict keys equal the official ``PoseResNet`` (microsoft/human-pose-estimation.pytorch,
``lib/models/pose_resnet.py``): the trunk's keys at the top level, then ``deconv_layers.{0,1,3,4,6,7}``
(ConvTranspose2d 4×4/2 without bias, BatchNorm; ReLUs at 2, 5, 8 have no keys) and ``final_layer``
(1×1 conv with bias). Input (N, 3, H, W) → heatmaps (N, J, H/4, W/4).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from posetool.nn.init import init_normal_
from posetool.nn.resnet import BN_MOMENTUM, ResNet

# kernel → (padding, output_padding) so that each deconvolution exactly doubles the size
_DECONV_CFG = {4: (1, 0), 3: (1, 1), 2: (0, 0)}


def make_deconv_head(
    in_channels: int,
    filters: Sequence[int] = (256, 256, 256),
    kernels: Sequence[int] = (4, 4, 4),
    with_bias: bool = False,
) -> nn.Sequential:
    """[ConvTranspose2d(stride 2), BatchNorm, ReLU] per entry of ``filters``; each doubles H and W."""
    if len(filters) != len(kernels):
        raise ValueError(f"{len(filters)} deconv filters but {len(kernels)} kernels")
    layers: list[nn.Module] = []
    for planes, kernel in zip(filters, kernels):
        if kernel not in _DECONV_CFG:
            raise ValueError(f"deconv kernel must be 2, 3 or 4, got {kernel}")
        padding, output_padding = _DECONV_CFG[kernel]
        layers += [
            nn.ConvTranspose2d(in_channels, planes, kernel, stride=2, padding=padding,
                               output_padding=output_padding, bias=with_bias),
            nn.BatchNorm2d(planes, momentum=BN_MOMENTUM),
            nn.ReLU(inplace=True),
        ]
        in_channels = planes
    return nn.Sequential(*layers)


class PoseResNet(ResNet):
    """SimpleBaselines: :class:`ResNet` trunk, ``deconv_layers`` and ``final_layer``.

    Args:
        depth: 18, 34, 50, 101 or 152.
        num_joints: heatmap channels J.
        deconv_filters / deconv_kernels: the head (official: three 4×4 deconvolutions of 256).
        width: trunk base width (64 = standard ResNet; smaller for slim CPU models).
        final_kernel: 1 (official) or 3.
    """

    def __init__(
        self,
        depth: int = 50,
        num_joints: int = 17,
        deconv_filters: Sequence[int] = (256, 256, 256),
        deconv_kernels: Sequence[int] = (4, 4, 4),
        deconv_with_bias: bool = False,
        width: int = 64,
        final_kernel: int = 1,
    ) -> None:
        super().__init__(depth=depth, width=width)
        self.num_joints = num_joints
        self.deconv_layers = make_deconv_head(self.out_channels, deconv_filters, deconv_kernels, deconv_with_bias)
        self.final_layer = nn.Conv2d(deconv_filters[-1], num_joints, kernel_size=final_kernel, stride=1,
                                     padding=1 if final_kernel == 3 else 0)
        self.init_head_weights()

    def init_head_weights(self) -> None:
        """The official head initialisation (:func:`posetool.nn.init.init_normal_`); the trunk keeps its own."""
        # deconvolutions first, then the final layer: the order of the official code's random draws
        init_normal_(self.deconv_layers.modules())
        init_normal_(self.final_layer.modules())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) → (N, J, H/4, W/4) heatmaps (H, W multiples of 32)."""
        return self.final_layer(self.deconv_layers(self.forward_trunk(x)))


def pose_resnet(depth: int = 50, num_joints: int = 17, width: int = 64,
                deconv_filters: Sequence[int] = (256, 256, 256)) -> PoseResNet:
    """Registry builder: SimpleBaselines with a ResNet-``depth`` trunk."""
    return PoseResNet(depth=depth, num_joints=num_joints, width=width, deconv_filters=tuple(deconv_filters),
                      deconv_kernels=(4,) * len(deconv_filters))
