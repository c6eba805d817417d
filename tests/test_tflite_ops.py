"""TFLite operator semantics of the converter, against NumPy references written from TFLite's definitions."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from posetool.nn.tflite import ops
from posetool.nn.tflite.converter import UnsupportedOperatorError, convert_graph
from posetool.nn.tflite.flatbuffer import OperatorInfo, SparsityInfo, TensorInfo, TFLiteGraph
from posetool.nn.tflite.sparse import densify


def _nchw(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))


def test_same_padding_puts_the_odd_pixel_last():
    assert ops.same_padding(224, 3, 2, 1) == (0, 1)
    assert ops.same_padding(7, 3, 1, 1) == (1, 1)
    assert ops.same_padding(8, 2, 2, 1) == (0, 0)
    assert ops.same_padding(5, 3, 2, 2) == (2, 2)


def test_depth_to_space_uses_tensorflow_dcr_order():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 3, 4, 12)).astype(np.float32)  # NHWC, block 2 -> 3 channels
    bs, c = 2, 3
    ref = np.zeros((2, 6, 8, 3), np.float32)
    for h in range(3):
        for w in range(4):
            for i in range(bs):
                for j in range(bs):
                    ref[:, h * bs + i, w * bs + j, :] = x[:, h, w, (i * bs + j) * c:(i * bs + j + 1) * c]
    out = ops.DepthToSpace(2)(_nchw(x)).permute(0, 2, 3, 1).numpy()
    np.testing.assert_array_equal(out, ref)


def _resize_ref(x: np.ndarray, out_h: int, out_w: int, align: bool, half: bool) -> np.ndarray:
    """TFLite reference ResizeBilinear (NHWC)."""
    n, h, w, c = x.shape

    def grid(n_in, n_out):
        scale = (n_in - 1) / (n_out - 1) if align and n_out > 1 else n_in / n_out
        src = (np.arange(n_out) + 0.5) * scale - 0.5 if half else np.arange(n_out) * scale
        lo = np.maximum(np.floor(src), 0).astype(int)
        hi = np.minimum(np.ceil(src), n_in - 1).astype(int)
        return src, lo, hi

    ys, y0, y1 = grid(h, out_h)
    xs, x0, x1 = grid(w, out_w)
    out = np.zeros((n, out_h, out_w, c), np.float64)
    for a in range(out_h):
        for b in range(out_w):
            dy, dx = ys[a] - y0[a], xs[b] - x0[b]
            out[:, a, b] = (x[:, y0[a], x0[b]] * (1 - dy) * (1 - dx) + x[:, y1[a], x0[b]] * dy * (1 - dx)
                            + x[:, y0[a], x1[b]] * (1 - dy) * dx + x[:, y1[a], x1[b]] * dy * dx)
    return out


@pytest.mark.parametrize("align,half", [(False, True), (True, False), (False, False)])
@pytest.mark.parametrize("size", [(14, 14), (5, 9)])
def test_resize_bilinear_matches_tflite_grid(align, half, size):
    x = np.random.default_rng(1).normal(size=(2, 7, 6, 3)).astype(np.float32)
    out = ops.ResizeBilinear(size, (7, 6), align, half)(_nchw(x)).permute(0, 2, 3, 1).numpy()
    np.testing.assert_allclose(out, _resize_ref(x, *size, align, half), atol=1e-5)


def test_max_pool_same_padding_ignores_the_padded_taps():
    x = -np.arange(1, 26, dtype=np.float32).reshape(1, 5, 5, 1)  # all negative: zero padding would win
    pool = ops.MaxPool((2, 2), (2, 2), (*ops.same_padding(5, 2, 2, 1), *ops.same_padding(5, 2, 2, 1)), "NONE")
    out = pool(_nchw(x)).permute(0, 2, 3, 1).numpy()[0, ..., 0]
    assert out.shape == (3, 3)
    assert out[2, 2] == -25 and out[0, 0] == -1 and out[2, 0] == -21


def test_activations():
    x = torch.linspace(-8, 8, 9)
    assert torch.equal(ops.apply_activation(x.clone(), "RELU6"), x.clamp(0, 6))
    assert torch.equal(ops.apply_activation(x.clone(), "RELU_N1_TO_1"), x.clamp(-1, 1))
    with pytest.raises(NotImplementedError, match="SIGN_BIT"):
        ops.apply_activation(x, "SIGN_BIT")


def test_densify_csr_and_block_sparse():
    dense = np.array([[0, 2, 0, 0], [0, 0, 0, 0], [5, 0, 0, 7]], dtype=np.float16)
    csr = SparsityInfo([0, 1], [], [("DENSE", 3), ("SPARSE_CSR", np.array([0, 1, 1, 3]), np.array([1, 0, 3]))])
    np.testing.assert_array_equal(densify(np.array([2, 5, 7], np.float16), (3, 4), csr), dense)
    # 4x4 matrix in 2x2 blocks; only blocks (0, 0) and (1, 1) stored, each row-major.
    full = np.zeros((4, 4), np.float32)
    full[:2, :2] = [[1, 2], [3, 4]]
    full[2:, 2:] = [[5, 6], [7, 8]]
    block = SparsityInfo([0, 1, 2, 3], [0, 1], [("DENSE", 2), ("SPARSE_CSR", np.array([0, 1, 2]), np.array([0, 1])),
                                                ("DENSE", 2), ("DENSE", 2)])
    np.testing.assert_array_equal(densify(np.arange(1, 9, dtype=np.float32), (4, 4), block), full)


def _graph(ops_list, tensors, inputs, outputs) -> TFLiteGraph:
    return TFLiteGraph(tensors, ops_list, inputs, outputs, 3, "test.tflite")


def test_small_graph_conv_depthwise_pad_add_reshape_against_numpy():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(1, 6, 6, 2)).astype(np.float32)
    w = rng.normal(size=(4, 3, 3, 2)).astype(np.float16)  # OHWI, stored as float16 -> DEQUANTIZE
    b = rng.normal(size=(4,)).astype(np.float32)
    dw = rng.normal(size=(1, 3, 3, 4)).astype(np.float32)
    tensors = [
        TensorInfo(0, "in", (1, 6, 6, 2), np.float32),
        TensorInfo(1, "w16", (4, 3, 3, 2), np.float16, w),
        TensorInfo(2, "w", (4, 3, 3, 2), np.float32),
        TensorInfo(3, "b", (4,), np.float32, b),
        TensorInfo(4, "conv", (1, 3, 3, 4), np.float32),
        TensorInfo(5, "dw", (1, 3, 3, 4), np.float32, dw),
        TensorInfo(6, "dwb", (4,), np.float32, np.zeros(4, np.float32)),
        TensorInfo(7, "dwout", (1, 3, 3, 4), np.float32),
        TensorInfo(8, "sum", (1, 3, 3, 4), np.float32),
        TensorInfo(9, "shape", (2,), np.int32, np.array([1, 36], np.int32)),
        TensorInfo(10, "flat", (1, 36), np.float32),
    ]
    graph = _graph([
        OperatorInfo(0, "DEQUANTIZE", [1], [2]),
        OperatorInfo(1, "CONV_2D", [0, 2, 3], [4], {"padding": "SAME", "stride": (2, 2), "dilation": (1, 1),
                                                    "activation": "RELU"}),
        OperatorInfo(2, "DEPTHWISE_CONV_2D", [4, 5, 6], [7], {"padding": "SAME", "stride": (1, 1), "dilation": (1, 1),
                                                             "activation": "NONE", "depth_multiplier": 1}),
        OperatorInfo(3, "ADD", [4, 7], [8], {"activation": "NONE"}),
        OperatorInfo(4, "RESHAPE", [8, 9], [10], {}),
    ], tensors, [0], [10])
    module = convert_graph(graph).eval()

    def conv_ref(inp, weight, bias, stride, depthwise):
        n, h, wd, c = inp.shape
        kh, kw = weight.shape[1:3]
        (pt, pb), (pl, pr) = ops.same_padding(h, kh, stride, 1), ops.same_padding(wd, kw, stride, 1)
        p = np.pad(inp, ((0, 0), (pt, pb), (pl, pr), (0, 0))).astype(np.float64)
        oh, ow = (h + stride - 1) // stride, (wd + stride - 1) // stride
        out = np.zeros((n, oh, ow, weight.shape[-1] if depthwise else weight.shape[0]))
        for i in range(oh):
            for j in range(ow):
                patch = p[:, i * stride:i * stride + kh, j * stride:j * stride + kw, :]
                if depthwise:
                    out[:, i, j] = (patch * weight[0]).sum(axis=(1, 2))
                else:
                    out[:, i, j] = np.einsum("nhwc,ohwc->no", patch, weight.astype(np.float64))
        return out + bias

    conv = np.maximum(conv_ref(x, w.astype(np.float32), b, 2, False), 0)
    ref = (conv + conv_ref(conv, dw, 0, 1, True)).reshape(1, 36)
    with torch.no_grad():
        (out,) = module(_nchw(np.repeat(x, 3, axis=0)))  # batch 3 through a batch-1 graph
    assert out.shape == (3, 36)
    np.testing.assert_allclose(out.numpy(), np.repeat(ref, 3, axis=0), atol=1e-4)


def test_unsupported_operator_names_itself():
    tensors = [TensorInfo(0, "in", (1, 4, 4, 3), np.float32), TensorInfo(1, "probs", (1, 4, 4, 3), np.float32)]
    graph = _graph([OperatorInfo(0, "SOFTMAX", [0], [1])], tensors, [0], [1])
    with pytest.raises(UnsupportedOperatorError, match=r"operator 0 \(SOFTMAX, output 'probs'\): TFLite operator SOFTMAX is not supported"):
        convert_graph(graph)
