"""PyTorch modules reproducing TFLite builtin operators on NCHW tensors.

Every 4-D tensor flows through the converted graph as NCHW (TFLite stores NHWC); tensors of
other ranks keep TFLite's layout. Dimension 0 is the batch everywhere, so a graph exported for
batch 1 runs on any batch. Padding follows TFLite's SAME rule (extra row/column at the end),
resize follows TFLite's ``align_corners`` / ``half_pixel_centers`` sampling.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

# TFLite axis of a 4-D NHWC tensor -> the same axis in NCHW.
NHWC_TO_NCHW_AXIS = {0: 0, 1: 2, 2: 3, 3: 1}


def apply_activation(x: torch.Tensor, name: str) -> torch.Tensor:
    """A fused activation (``ActivationFunctionType``), in place where safe."""
    if name == "NONE":
        return x
    if name == "RELU":
        return F.relu_(x)
    if name == "RELU6":
        return x.clamp_(0.0, 6.0)
    if name == "RELU_N1_TO_1":
        return x.clamp_(-1.0, 1.0)
    if name == "TANH":
        return torch.tanh_(x)
    raise NotImplementedError(f"fused activation {name} is not supported")


def check_activation(name: str, op: str) -> None:
    if name not in ("NONE", "RELU", "RELU6", "RELU_N1_TO_1", "TANH"):
        raise NotImplementedError(f"{op}: fused activation {name} is not supported")


def same_padding(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """TFLite SAME padding (before, after) of one spatial dimension; the odd pixel goes after."""
    out = (size + stride - 1) // stride
    effective = (kernel - 1) * dilation + 1
    total = max((out - 1) * stride + effective - size, 0)
    return total // 2, total - total // 2


# oneDNN's convolution with a fused element-wise post-op (what torch.compile's CPU backend calls):
# one pass over the output instead of a convolution and then a clamp over it.
_FUSED_CONV = getattr(torch.ops.mkldnn, "_convolution_pointwise", None) if torch.backends.mkldnn.is_available() else None
_POST_OPS = {"NONE": ("none", []), "RELU": ("relu", []), "RELU6": ("hardtanh", [0.0, 6.0]),
             "RELU_N1_TO_1": ("hardtanh", [-1.0, 1.0]), "TANH": ("tanh", [])}


def padding_plan(before: int, after: int, dilation: int) -> tuple[int, int] | None:
    """How to pad one dimension without copying the input: (padding, zero taps prepended to the
    kernel), or ``None`` when only an explicit pad will do.

    Symmetric padding is the convolution's own. TFLite's SAME with stride 2 on an even size pads
    one pixel more after than before; a kernel with one zero tap prepended and symmetric padding
    ``after`` reads exactly the same pixels (the extra tap multiplies the extra leading zero).
    """
    if before == after:
        return before, 0
    if after == before + 1 and dilation == 1:
        return after, 1
    return None


class Conv(nn.Module):
    """CONV_2D and DEPTHWISE_CONV_2D: a convolution with TFLite's padding and fused activation.

    Asymmetric SAME padding runs as a symmetric padding with a zero tap prepended to the kernel
    (:func:`padding_plan`) instead of padding a copy of the input; on the CPU the activation is
    fused into oneDNN's convolution when PyTorch provides it.

    Args:
        weight: (O, I/groups, kh, kw) in PyTorch layout; bias: (O,) or None.
        pads: (top, bottom, left, right) from :func:`same_padding` (zeros for VALID), or ``None``
            for SAME padding computed from each input's size (graphs with a dynamic input size).
    """

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor | None, stride: tuple[int, int],
                 dilation: tuple[int, int], pads: tuple[int, int, int, int] | None, groups: int, activation: str):
        super().__init__()
        out_ch, in_per_group, kh, kw = weight.shape
        # pads=None: SAME padding of an input whose size is known only at run time (planned per call).
        self.same = None if pads is not None else (kh, kw)
        self.stride, self.dilation, self.groups = tuple(stride), tuple(dilation), groups
        self.conv = nn.Conv2d(in_per_group * groups, out_ch, (kh, kw), stride=stride, dilation=dilation,
                              groups=groups, bias=bias is not None)
        with torch.no_grad():
            self.conv.weight.copy_(weight)
            if bias is not None:
                self.conv.bias.copy_(bias)
        # The kernel with a zero row and/or column prepended, for the asymmetric pads (index: row, col).
        for dy in (0, 1):
            for dx in (0, 1):
                if dy or dx:
                    self.register_buffer(f"weight_{dy}{dx}", F.pad(weight, (dx, 0, dy, 0)).contiguous(), persistent=False)
        self.pads = pads
        self.activation = activation

    def _plan(self, x: torch.Tensor) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int, int, int] | None]:
        """(padding, prepended taps (y, x), explicit F.pad or None) for input ``x``."""
        if self.same is not None:
            kh, kw = self.same
            top, bottom = same_padding(x.shape[2], kh, self.stride[0], self.dilation[0])
            left, right = same_padding(x.shape[3], kw, self.stride[1], self.dilation[1])
        else:
            top, bottom, left, right = self.pads
        py, px = padding_plan(top, bottom, self.dilation[0]), padding_plan(left, right, self.dilation[1])
        if py is None or px is None:
            return (0, 0), (0, 0), (left, right, top, bottom)
        return (py[0], px[0]), (py[1], px[1]), None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        padding, (ty, tx), explicit = self._plan(x)
        if explicit is not None:
            x = F.pad(x, explicit)
        weight = self.conv.weight if not (ty or tx) else getattr(self, f"weight_{ty}{tx}")
        bias = self.conv.bias
        if _FUSED_CONV is not None and x.device.type == "cpu" and x.dtype == torch.float32 and not x.requires_grad:
            attr, scalars = _POST_OPS[self.activation]
            return _FUSED_CONV(x, weight, bias, list(padding), list(self.stride), list(self.dilation), self.groups,
                               attr, scalars, "")
        y = F.conv2d(x, weight, bias, self.stride, padding, self.dilation, self.groups)
        return apply_activation(y, self.activation)


class MaxPool(nn.Module):
    """MAX_POOL_2D; SAME padding never wins the max (TFLite skips padded taps), so pad with -inf."""

    def __init__(self, kernel: tuple[int, int], stride: tuple[int, int], pads: tuple[int, int, int, int],
                 activation: str):
        super().__init__()
        self.kernel, self.stride = kernel, stride
        top, bottom, left, right = pads
        self.pads = (left, right, top, bottom) if any(pads) else None
        self.activation = activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.pads is not None:
            x = F.pad(x, self.pads, value=-math.inf)
        return apply_activation(F.max_pool2d(x, self.kernel, self.stride), self.activation)


class Add(nn.Module):
    """ADD with NumPy broadcasting and the fused activation."""

    def __init__(self, activation: str):
        super().__init__()
        self.activation = activation

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return apply_activation(a + b, self.activation)


class Sub(Add):
    """SUB (``a - b``) with NumPy broadcasting and the fused activation."""

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return apply_activation(a - b, self.activation)


class Mul(Add):
    """MUL with NumPy broadcasting and the fused activation."""

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return apply_activation(a * b, self.activation)


class Relu(nn.Module):
    """RELU as a separate operator (not fused into the one before it)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(x)


class Cast(nn.Module):
    """CAST to float32 (e.g. a uint8 image input to the float graph behind it)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.float()


class Pad(nn.Module):
    """PAD with zeros; ``pads`` in ``F.pad`` order (last dimension first)."""

    def __init__(self, pads: tuple[int, ...]):
        super().__init__()
        self.pads = pads

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.pad(x, self.pads)


class ResizeBilinear(nn.Module):
    """RESIZE_BILINEAR on NCHW to ``size`` (h, w) with TFLite's sampling grid.

    ``size`` is fixed, or ``None`` with ``factor`` (fy, fx) for a graph that resizes to a multiple
    of the input's run-time size. ``half_pixel_centers`` samples at (dst + 0.5) * in/out - 0.5 clamped at 0, which is exactly
    PyTorch's ``align_corners=False``; ``align_corners`` maps corner to corner (PyTorch's
    ``align_corners=True``). Neither flag (TF1's legacy grid, src = dst * in/out) has no PyTorch
    mode, so those weights are precomputed and applied with two gathers.
    """

    def __init__(self, size: tuple[int, int] | None, in_size: tuple[int, int], align_corners: bool,
                 half_pixel_centers: bool, factor: tuple[int, int] | None = None):
        super().__init__()
        self.size = size
        # factor: the output is the input's own size times (fy, fx), known only at run time.
        self.factor = factor
        self.mode = "align" if align_corners else ("half" if half_pixel_centers else "legacy")
        if self.mode == "legacy" and size is None:
            raise NotImplementedError("RESIZE_BILINEAR without half_pixel_centers or align_corners needs a fixed size")
        if self.mode == "legacy":
            for axis, (n_in, n_out) in zip(("y", "x"), zip(in_size, size)):
                src = torch.arange(n_out, dtype=torch.float64) * (n_in / n_out)
                lo = src.floor().clamp(max=n_in - 1)
                hi = torch.minimum(src.ceil(), torch.tensor(float(n_in - 1)))
                self.register_buffer(f"{axis}_lo", lo.long(), persistent=False)
                self.register_buffer(f"{axis}_hi", hi.long(), persistent=False)
                self.register_buffer(f"{axis}_w", (src - lo).float(), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode != "legacy":
            size = self.size or (x.shape[2] * self.factor[0], x.shape[3] * self.factor[1])
            return F.interpolate(x, size=size, mode="bilinear", align_corners=self.mode == "align")
        wy = self.y_w.view(1, 1, -1, 1).to(x.dtype)
        x = x[:, :, self.y_lo] * (1 - wy) + x[:, :, self.y_hi] * wy
        wx = self.x_w.view(1, 1, 1, -1).to(x.dtype)
        return x[:, :, :, self.x_lo] * (1 - wx) + x[:, :, :, self.x_hi] * wx


class Reshape(nn.Module):
    """RESHAPE of TFLite's row-major (NHWC) data; ``shape`` excludes the batch dimension.

    A 4-D input is moved to NHWC first and a 4-D output back to NCHW, so the element order is
    TFLite's.
    """

    def __init__(self, shape: tuple[int, ...], input_4d: bool, output_4d: bool):
        super().__init__()
        self.shape, self.input_4d, self.output_4d = tuple(shape), input_4d, output_4d

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.input_4d:
            x = x.permute(0, 2, 3, 1)
        x = x.reshape(x.shape[0], *self.shape)
        return x.permute(0, 3, 1, 2) if self.output_4d else x


class Concat(nn.Module):
    """CONCATENATION along ``dim`` (already mapped to the torch layout)."""

    def __init__(self, dim: int, activation: str):
        super().__init__()
        self.dim, self.activation = dim, activation

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return apply_activation(torch.cat(xs, dim=self.dim), self.activation)


class DepthToSpace(nn.Module):
    """DEPTH_TO_SPACE in TFLite's (TensorFlow's DCR) order.

    NHWC: out[b, h*bs + i, w*bs + j, c] = in[b, h, w, (i*bs + j)*C + c]. PyTorch's pixel_shuffle
    uses the CRD order (c*bs*bs + i*bs + j), so the channels are split the other way here.
    """

    def __init__(self, block_size: int):
        super().__init__()
        self.bs = block_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        bs = self.bs
        x = x.reshape(b, bs, bs, c // (bs * bs), h, w)
        return x.permute(0, 3, 4, 1, 5, 2).reshape(b, c // (bs * bs), h * bs, w * bs)


class Logistic(nn.Module):
    """LOGISTIC (sigmoid)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(x)


class ToFloat(nn.Module):
    """DEQUANTIZE of a float16 tensor computed at run time (constant ones are folded)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.float()
