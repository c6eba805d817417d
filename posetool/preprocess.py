"""The one conversion from pixels to network input, shared by training and inference.

A model's :class:`~posetool.hub.registry.InputSpec` says how it wants its pixels: ``width`` ×
``height``, and ``mean``/``std`` applied to values scaled to [0, 1] in ``channel_order``. OpenCV
decodes frames as BGR uint8. :func:`to_input` turns a batch of such images, already warped to the
input size, into the float32 tensor the network takes; :func:`letterbox_matrix` is the
aspect-preserving map of a whole frame into that size.

The arithmetic is fixed on purpose, because inference outputs are compared bit for bit: pixels
become float32, are divided by 255 (a true division: multiplying by ``1/255`` instead rounds
differently for about half of the 256 uint8 values), are put in the model's channel order, and
then ``(x - mean) / std`` runs with float32 ``mean`` and ``std``. Training uses the same function,
so a network sees exactly the numbers in training that it sees at inference.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from posetool.hub.registry import InputSpec

CHANNEL_ORDERS = ("RGB", "BGR")


def letterbox_matrix(width: int, height: int, in_w: int, in_h: int) -> np.ndarray:
    """2×3 float64 map from ``width × height`` image pixels to a centred ``in_w × in_h`` input.

    The image is scaled by one factor (aspect kept) so that it fits, and the borders are split
    evenly between the two sides.
    """
    s = min(in_w / width, in_h / height)
    return np.array([[s, 0.0, (in_w - s * width) / 2], [0.0, s, (in_h - s * height) / 2]], dtype=np.float64)


def _channel_vector(values: Sequence[float] | torch.Tensor, device: torch.device) -> torch.Tensor:
    """Per-channel ``mean``/``std`` as a float32 (1, 3, 1, 1) tensor on ``device``.

    A tensor already in that form (a runtime's cached copy) is used as it is, so a batch does not
    copy three numbers to the accelerator again.
    """
    return torch.as_tensor(values, dtype=torch.float32, device=device).view(1, 3, 1, 1)


def normalize(
    pixels: np.ndarray,
    mean: Sequence[float] | torch.Tensor,
    std: Sequence[float] | torch.Tensor,
    channel_order: str = "RGB",
    device: str | torch.device = "cpu",
) -> torch.Tensor:
    """BGR pixels (N, H, W, 3) → normalised float32 network input (N, 3, H, W) on ``device``.

    The result keeps the pixels' memory layout (channels-last strides). Convolutions pick their
    kernels by layout, and their last bits with them, so a batch is converted from stacked pixels,
    not stacked from converted images.

    Args:
        pixels: uint8, or float32 in [0, 255] (training's photometric jitter gives those).
        mean, std: per channel, in [0, 1] units and in ``channel_order`` (as torchvision's
            Normalize after ToTensor); sequences or (1, 3, 1, 1) float32 tensors on ``device``.
        channel_order: ``"RGB"`` (the channels are flipped) or ``"BGR"`` (kept), any case.
        device: where the conversion runs and the result lives.
    """
    order = channel_order.upper()
    if order not in CHANNEL_ORDERS:
        raise ValueError(f"channel_order must be RGB or BGR, got {channel_order!r}")
    dev = torch.device(device)
    x = torch.from_numpy(np.ascontiguousarray(pixels)).to(dev).permute(0, 3, 1, 2).float()
    # out of place: for float32 input on the CPU, .float() returns the caller's own memory
    x = x.div(255.0)
    if order == "RGB":
        x = x.flip(1)
    return (x - _channel_vector(mean, dev)) / _channel_vector(std, dev)


def to_input(pixels: np.ndarray, spec: InputSpec, device: str | torch.device = "cpu") -> torch.Tensor:
    """BGR pixels (N, H, W, 3) → the (N, 3, H, W) float32 input ``spec`` asks for (see :func:`normalize`)."""
    return normalize(pixels, spec.mean, spec.std, spec.channel_order, device)
