"""Weight initialisation shared by the architectures.

The official HRNet and SimpleBaselines code use one rule, written out in each of their
``init_weights``: convolutions and transposed convolutions N(0, 0.001) with zero biases,
BatchNorms weight 1 and bias 0. They differ only in where they apply it: HRNet to the whole
network (it is trained from scratch or from its own ImageNet weights), SimpleBaselines to its
deconvolution head and final layer (its ResNet trunk keeps its own initialisation or ImageNet
weights). So the rule lives here and each architecture passes its modules.
"""

from __future__ import annotations

from collections.abc import Iterable

from torch import nn

HEATMAP_INIT_STD = 0.001


def init_normal_(modules: Iterable[nn.Module], std: float = HEATMAP_INIT_STD) -> None:
    """Initialise ``modules`` in place, in their order (that order fixes the random draws).

    Conv2d / ConvTranspose2d: weight N(0, ``std``), bias 0 (when present); BatchNorm2d: weight 1,
    bias 0. Other modules (containers, activations) are left alone.
    """
    for m in modules:
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, std=std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
