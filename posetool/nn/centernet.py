"""CenterNet person detector (Zhou, Wang, Krähenbühl, "Objects as Points", 2019), ResNet variant.

The same ResNet trunk and deconvolution head as SimpleBaselines (:mod:`posetool.nn.simple_baselines`),
followed by three heads as in the official ``msra_resnet`` model: ``hm`` (class centre heatmap,
logits), ``wh`` (box width/height in output pixels) and ``reg`` (sub-pixel centre offset). Each head
is conv3×3 → ReLU → conv1×1; the ``hm`` bias starts at −2.19 so sigmoid(hm) ≈ 0.1, the focal-loss
prior of the paper. Input (N, 3, H, W) with H, W multiples of 32 → outputs at stride 4.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from posetool.nn.resnet import ResNet
from posetool.nn.simple_baselines import make_deconv_head

HM_PRIOR_BIAS = -2.19
OUTPUT_STRIDE = 4


class CenterNet(ResNet):
    """ResNet-``depth`` CenterNet with ``num_classes`` centre heatmaps.

    Args:
        depth, width: the trunk (width < 64 gives slim CPU models).
        deconv_filters: channels of the three 4×4 stride-2 deconvolutions.
        head_conv: channels of each head's hidden 3×3 conv.
    """

    def __init__(self, depth: int = 18, num_classes: int = 1, width: int = 64,
                 deconv_filters: Sequence[int] = (256, 256, 256), head_conv: int = 64) -> None:
        super().__init__(depth=depth, width=width)
        self.num_classes = num_classes
        self.deconv_layers = make_deconv_head(self.out_channels, deconv_filters, (4,) * len(deconv_filters))
        c = deconv_filters[-1]
        self.heads = nn.ModuleDict({
            name: nn.Sequential(nn.Conv2d(c, head_conv, 3, padding=1), nn.ReLU(inplace=True), nn.Conv2d(head_conv, out, 1))
            for name, out in (("hm", num_classes), ("wh", 2), ("reg", 2))
        })
        for name, head in self.heads.items():
            final = head[-1]
            if name == "hm":
                nn.init.constant_(final.bias, HM_PRIOR_BIAS)
            else:
                nn.init.normal_(final.weight, std=0.001)
                nn.init.zeros_(final.bias)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """(N, 3, H, W) → {"hm": (N, C, H/4, W/4) logits, "wh": (N, 2, H/4, W/4), "reg": (N, 2, H/4, W/4)}."""
        feat = self.deconv_layers(self.forward_trunk(x))
        return {name: head(feat) for name, head in self.heads.items()}


def centernet(depth: int = 18, width: int = 64, deconv_filters: Sequence[int] = (256, 256, 256),
              head_conv: int = 64) -> CenterNet:
    """Registry builder: a one-class (person) CenterNet."""
    return CenterNet(depth=depth, num_classes=1, width=width, deconv_filters=tuple(deconv_filters), head_conv=head_conv)
