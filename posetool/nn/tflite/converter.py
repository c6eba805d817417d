"""Convert a parsed TFLite graph into a runnable ``nn.Module`` (:class:`TFLiteModule`).

Constant sub-graphs are folded while converting: DENSIFY expands sparse weights, DEQUANTIZE turns
float16 (or int8/uint8 with scale and zero point) constants into float32, so the module holds
plain float32 parameters. Operators computed at run time become the modules of
:mod:`posetool.nn.tflite.ops`; 4-D activations run as NCHW. An operator outside the supported set
raises :class:`UnsupportedOperatorError` naming it.

``convert_graph(graph, outputs=[...])`` converts only the operators that compute the named
tensors (a network's heads, leaving out a decoding section written in other operators). Graphs
exported for any input size (spatial dimensions -1 in the input's shape signature) convert too:
SAME padding of strided convolutions is computed per call, and a RESIZE_BILINEAR whose size is
its input's own run-time size times a constant (``SHAPE`` → ``STRIDED_SLICE`` → ``MUL``, as
Keras ``UpSampling2D`` exports) becomes a resize by that factor.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from posetool.errors import WeightsError
from posetool.nn.tflite import ops
from posetool.nn.tflite.flatbuffer import OperatorInfo, TensorInfo, TFLiteGraph, read_tflite
from posetool.nn.tflite.sparse import densify

SUPPORTED_OPS = (
    "CONV_2D", "DEPTHWISE_CONV_2D", "ADD", "PAD", "MAX_POOL_2D", "RESIZE_BILINEAR", "RESHAPE",
    "CONCATENATION", "DEPTH_TO_SPACE", "LOGISTIC", "DEQUANTIZE", "DENSIFY", "CAST", "SUB", "MUL", "RELU",
)


class UnsupportedOperatorError(WeightsError):
    """The model uses a TFLite operator (or a variant of one) that the converter does not implement."""


class TFLiteModule(nn.Module):
    """A TFLite graph as a PyTorch module.

    ``forward(x)`` takes the graph's single image input as NCHW float32 (B, C, H, W) — TFLite's
    (1, H, W, C) input, transposed, for any batch B — and returns a tuple with one tensor per graph
    output, in TFLite's layout and order (4-D outputs as NHWC), with batch B.
    """

    def __init__(self, steps: list[tuple[nn.Module, list[int], int]], constants: dict[int, torch.Tensor],
                 input_index: int, output_indices: list[int], output_is_4d: list[bool],
                 input_shape: tuple[int, ...], output_shapes: list[tuple[int, ...]], names: dict[int, str]):
        super().__init__()
        self.layers = nn.ModuleList(m for m, _, _ in steps)
        self._wiring = [(ins, out) for _, ins, out in steps]
        self._const_keys = {}
        for i, (index, value) in enumerate(sorted(constants.items())):
            key = f"const_{i}"
            self.register_buffer(key, value)
            self._const_keys[index] = key
        self.input_index = input_index
        self.output_indices = output_indices
        self.output_is_4d = output_is_4d
        self.input_shape = input_shape
        self.output_shapes = output_shapes
        self.tensor_names = names
        # After each step, the tensors whose last reader it was (freed to bound memory).
        last_use: dict[int, int] = {}
        for step, (ins, _) in enumerate(self._wiring):
            for t in ins:
                last_use[t] = step
        keep = set(output_indices)
        self._free_after = [[t for t, s in last_use.items() if s == step and t not in keep]
                            for step in range(len(self._wiring))]

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        if x.dim() != 4 or x.shape[1] != self.input_shape[3]:
            raise ValueError(f"expected input (B, {self.input_shape[3]}, {self.input_shape[1]}, "
                             f"{self.input_shape[2]}), got {tuple(x.shape)}")
        # Channels-last activations and weights: PyTorch's CPU (oneDNN) and cuDNN kernels for the
        # many small depthwise convolutions of mobile models are several times faster in NHWC.
        values: dict[int, torch.Tensor] = {self.input_index: x.contiguous(memory_format=torch.channels_last)}
        for index, key in self._const_keys.items():
            values[index] = getattr(self, key)
        for layer, (ins, out), free in zip(self.layers, self._wiring, self._free_after):
            values[out] = layer(*(values[i] for i in ins))
            for t in free:
                values.pop(t, None)
        return tuple(values[i].permute(0, 2, 3, 1) if is4 else values[i]
                     for i, is4 in zip(self.output_indices, self.output_is_4d))


def _dequantize(t: TensorInfo, data: np.ndarray) -> np.ndarray:
    if data.dtype == np.float16:
        return data.astype(np.float32)
    if t.quantization is None:
        raise UnsupportedOperatorError(f"DEQUANTIZE of {data.dtype} tensor {t.name!r} without quantization parameters")
    scale, zero = t.quantization["scale"], t.quantization["zero_point"]
    if scale.size > 1:
        shape = [1] * data.ndim
        shape[int(t.quantization["axis"])] = -1
        scale, zero = scale.reshape(shape), zero.reshape(shape)
    return ((data.astype(np.int64) - zero) * scale).astype(np.float32)


def _to_torch_layout(data: np.ndarray, rank_of_peer: int) -> np.ndarray:
    """A constant as it must look next to a run-time tensor of rank ``rank_of_peer``."""
    if rank_of_peer == 4:
        data = data.reshape((1,) * (4 - data.ndim) + data.shape) if data.ndim < 4 else data
        return np.ascontiguousarray(data.transpose(0, 3, 1, 2))
    return data


class _Builder:
    def __init__(self, graph: TFLiteGraph):
        self.g = graph
        self.const: dict[int, np.ndarray] = {}
        for t in graph.tensors:
            if t.is_constant and t.sparsity is None:
                self.const[t.index] = t.data
        self.steps: list[tuple[nn.Module, list[int], int]] = []
        self.runtime_consts: dict[int, torch.Tensor] = {}
        signature = graph.tensors[graph.inputs[0]].signature if graph.inputs else None
        # Spatial size fixed only at run time: strided SAME padding is computed per call.
        self.dynamic = bool(signature) and any(d < 0 for d in signature[1:3])
        self.producers = {out: op for op in graph.operators for out in op.outputs}

    def where(self, op: OperatorInfo) -> str:
        out = self.g.tensors[op.outputs[0]].name if op.outputs else "?"
        return f"{Path(self.g.source).name or 'model'}: operator {op.index} ({op.name}, output {out!r})"

    def shape(self, index: int) -> tuple[int, ...]:
        return self.g.tensors[index].shape

    def need_const(self, op: OperatorInfo, index: int, what: str) -> np.ndarray:
        if index not in self.const:
            raise UnsupportedOperatorError(f"{self.where(op)}: the {what} must be a constant")
        return self.const[index]

    def runtime_input(self, op: OperatorInfo, index: int, peer_rank: int) -> int:
        """Make a constant operand available at run time (in torch layout) and return its index."""
        if index in self.const and index not in self.runtime_consts:
            data = self.const[index]
            self.runtime_consts[index] = torch.from_numpy(
                np.ascontiguousarray(_to_torch_layout(data, peer_rank)).astype(np.float32))
        return index

    def add(self, module: nn.Module, inputs: list[int], output: int) -> None:
        self.steps.append((module, inputs, output))

    def convert(self, op: OperatorInfo) -> None:
        name, o = op.name, op.options
        if name not in SUPPORTED_OPS:
            raise UnsupportedOperatorError(
                f"{self.where(op)}: TFLite operator {name} is not supported by posetool's converter "
                f"(supported: {', '.join(SUPPORTED_OPS)})")
        out = op.outputs[0]
        if name == "DENSIFY":
            t = self.g.tensors[op.inputs[0]]
            if t.sparsity is None or t.data is None:
                raise UnsupportedOperatorError(f"{self.where(op)}: DENSIFY input is not a sparse constant")
            self.const[out] = densify(t.data, t.shape, t.sparsity)
            return
        if name == "DEQUANTIZE":
            src = op.inputs[0]
            if src in self.const:
                self.const[out] = _dequantize(self.g.tensors[src], self.const[src])
                return
            if self.g.tensors[src].dtype != np.float16:
                raise UnsupportedOperatorError(f"{self.where(op)}: run-time DEQUANTIZE of integer tensors is not supported")
            self.add(ops.ToFloat(), [src], out)
            return
        if any(i in self.const for i in op.inputs[:1]) and name not in ("ADD", "SUB", "MUL", "CONCATENATION"):
            raise UnsupportedOperatorError(f"{self.where(op)}: constant data input (constant folding of {name})")
        if name in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            self.conv(op)
        elif name == "MAX_POOL_2D":
            ops.check_activation(o["activation"], name)
            _, h, w, _ = self.shape(op.inputs[0])
            kh, kw = o["filter"]
            sh, sw = o["stride"]
            if self.dynamic and o["padding"] == "SAME" and (sh > 1 or sw > 1):
                raise UnsupportedOperatorError(f"{self.where(op)}: strided SAME pooling of a run-time-sized input")
            pads = (*ops.same_padding(h, kh, sh, 1), *ops.same_padding(w, kw, sw, 1)) if o["padding"] == "SAME" else (0,) * 4
            self.add(ops.MaxPool((kh, kw), (sh, sw), pads, o["activation"]), [op.inputs[0]], out)
        elif name in ("ADD", "SUB", "MUL"):
            activation = o.get("activation", "NONE")
            ops.check_activation(activation, name)
            a, b = op.inputs[:2]
            rank = max(len(self.shape(a)), len(self.shape(b)))
            module = {"ADD": ops.Add, "SUB": ops.Sub, "MUL": ops.Mul}[name](activation)
            self.add(module, [self.runtime_input(op, a, rank), self.runtime_input(op, b, rank)], out)
        elif name == "CAST":
            if self.g.tensors[out].dtype != np.float32:
                raise UnsupportedOperatorError(f"{self.where(op)}: CAST to {self.g.tensors[out].dtype} (only to float32)")
            self.add(ops.Cast(), [op.inputs[0]], out)
        elif name == "RELU":
            self.add(ops.Relu(), [op.inputs[0]], out)
        elif name == "PAD":
            pads = self.need_const(op, op.inputs[1], "paddings").astype(np.int64).reshape(-1, 2)
            rank = len(self.shape(op.inputs[0]))
            if pads[0].any():
                raise UnsupportedOperatorError(f"{self.where(op)}: padding the batch dimension")
            if rank == 4:
                pads = pads[[0, 3, 1, 2]]  # NHWC -> NCHW rows
            flat = tuple(int(v) for row in pads[::-1] for v in row)  # F.pad: last dimension first
            self.add(ops.Pad(flat), [op.inputs[0]], out)
        elif name == "RESIZE_BILINEAR":
            _, h, w, _ = self.shape(op.inputs[0])
            if op.inputs[1] in self.const:
                size, factor = self.const[op.inputs[1]], None
                size = (int(size[0]), int(size[1]))
            else:
                size, factor = None, self.resize_factor(op)
            self.add(ops.ResizeBilinear(size, (h, w), o["align_corners"], o["half_pixel_centers"], factor),
                     [op.inputs[0]], out)
        elif name == "RESHAPE":
            in_shape, out_shape = self.shape(op.inputs[0]), self.shape(out)
            if not out_shape:
                out_shape = tuple(int(v) for v in (self.const.get(op.inputs[1]) if len(op.inputs) > 1 else o["new_shape"]))
            if not in_shape or not out_shape or in_shape[0] != out_shape[0]:
                raise UnsupportedOperatorError(f"{self.where(op)}: RESHAPE {in_shape} -> {out_shape} moves the batch dimension")
            self.add(ops.Reshape(out_shape[1:], len(in_shape) == 4, len(out_shape) == 4), [op.inputs[0]], out)
        elif name == "CONCATENATION":
            ops.check_activation(o["activation"], name)
            rank = len(self.shape(out))
            axis = o["axis"] % rank
            if axis == 0:
                raise UnsupportedOperatorError(f"{self.where(op)}: concatenation along the batch dimension")
            dim = ops.NHWC_TO_NCHW_AXIS[axis] if rank == 4 else axis
            self.add(ops.Concat(dim, o["activation"]), [self.runtime_input(op, i, rank) for i in op.inputs], out)
        elif name == "DEPTH_TO_SPACE":
            self.add(ops.DepthToSpace(o["block_size"]), [op.inputs[0]], out)
        elif name == "LOGISTIC":
            self.add(ops.Logistic(), [op.inputs[0]], out)

    def resize_factor(self, op: OperatorInfo) -> tuple[int, int]:
        """(fy, fx) of a RESIZE_BILINEAR whose size is ``SHAPE(input)[1:3] * constant``."""
        mul = self.producers.get(op.inputs[1])
        sliced = self.producers.get(mul.inputs[0]) if mul is not None and mul.name == "MUL" else None
        shape = self.producers.get(sliced.inputs[0]) if sliced is not None and sliced.name == "STRIDED_SLICE" else None
        if (shape is None or shape.name != "SHAPE" or shape.inputs[0] != op.inputs[0] or mul.inputs[1] not in self.const
                or [int(self.const.get(i, np.array([-1])).reshape(-1)[0]) for i in sliced.inputs[1:4]] != [1, 3, 1]):
            raise UnsupportedOperatorError(f"{self.where(op)}: the output size must be a constant or the input's "
                                           f"own size times a constant")
        factor = self.const[mul.inputs[1]].reshape(-1)
        return int(factor[0]), int(factor[-1])

    def conv(self, op: OperatorInfo) -> None:
        o = op.options
        ops.check_activation(o["activation"], op.name)
        weight = self.need_const(op, op.inputs[1], "filter").astype(np.float32)
        bias = None
        if len(op.inputs) > 2 and op.inputs[2] >= 0:
            bias = torch.from_numpy(self.need_const(op, op.inputs[2], "bias").astype(np.float32).copy())
        _, h, w, cin = self.shape(op.inputs[0])
        if op.name == "CONV_2D":
            # TFLite filter OHWI -> PyTorch OIHW; a filter with fewer input channels is a grouped conv.
            w_t = weight.transpose(0, 3, 1, 2)
            groups = cin // weight.shape[3]
        else:
            # Depthwise filter (1, kh, kw, cin * multiplier): output channel k reads input k // multiplier,
            # which is PyTorch's grouped conv with groups = cin.
            w_t = weight.transpose(3, 0, 1, 2)
            groups = cin
        kh, kw = w_t.shape[2], w_t.shape[3]
        sh, sw = o["stride"]
        dh, dw = o["dilation"]
        pads = ((*ops.same_padding(h, kh, sh, dh), *ops.same_padding(w, kw, sw, dw))
                if o["padding"] == "SAME" else (0, 0, 0, 0))
        if self.dynamic and o["padding"] == "SAME" and (sh > 1 or sw > 1):
            pads = None  # depends on the run-time size (a stride-1 SAME padding does not)
        module = ops.Conv(torch.from_numpy(np.ascontiguousarray(w_t)), bias, (sh, sw), (dh, dw), pads, groups,
                          o["activation"])
        self.add(module, [op.inputs[0]], op.outputs[0])


def tensor_index(graph: TFLiteGraph, name: str | int) -> int:
    """The index of the tensor called ``name`` (an int is taken as an index already)."""
    if isinstance(name, int):
        return name
    found = [t.index for t in graph.tensors if t.name == name]
    if not found:
        raise UnsupportedOperatorError(f"{graph.source}: no tensor named {name!r}")
    return found[0]


def needed_operators(graph: TFLiteGraph, outputs: Sequence[int]) -> list[OperatorInfo]:
    """The operators that compute ``outputs``, in graph order.

    A RESIZE_BILINEAR's computed size is not followed: the converter reads it as a factor of the
    input's size (see :meth:`_Builder.resize_factor`), so the shape arithmetic is not converted.
    """
    producer = {out: op for op in graph.operators for out in op.outputs}
    wanted, stack = set(), list(outputs)
    while stack:
        op = producer.get(stack.pop())
        if op is None or op.index in wanted:
            continue
        wanted.add(op.index)
        follow = op.inputs[:1] if op.name == "RESIZE_BILINEAR" else op.inputs
        stack.extend(i for i in follow if i >= 0)
        if op.name == "RESIZE_BILINEAR" and len(op.inputs) > 1 and graph.tensors[op.inputs[1]].is_constant:
            stack.append(op.inputs[1])
    return [op for op in graph.operators if op.index in wanted]


def convert_graph(graph: TFLiteGraph, outputs: Sequence[str | int] | None = None) -> TFLiteModule:
    """Build the :class:`TFLiteModule` of ``graph`` (single 4-D image input).

    ``outputs``: tensor names (or indices) the module returns, in that order; default the graph's
    own outputs (then every operator is converted).
    """
    if len(graph.inputs) != 1 or len(graph.tensors[graph.inputs[0]].shape) != 4:
        raise UnsupportedOperatorError(f"{graph.source}: only graphs with one 4-D image input are supported")
    b = _Builder(graph)
    chosen = None if outputs is None else [tensor_index(graph, o) for o in outputs]
    for op in graph.operators if chosen is None else needed_operators(graph, chosen):
        b.convert(op)
    produced = {out for _, _, out in b.steps} | {graph.inputs[0]}
    outputs = list(graph.outputs) if chosen is None else chosen
    for index in outputs:
        if index not in produced and index not in b.const:
            raise UnsupportedOperatorError(f"{graph.source}: graph output {graph.tensors[index].name!r} is never computed")
    # Only constants read by run-time steps become buffers.
    used = {i for _, ins, _ in b.steps for i in ins}
    consts = {i: v for i, v in b.runtime_consts.items() if i in used}
    module = TFLiteModule(
        b.steps, consts, graph.inputs[0], outputs, [len(graph.tensors[i].shape) == 4 for i in outputs],
        graph.tensors[graph.inputs[0]].shape, [graph.tensors[i].shape for i in outputs],
        {i: graph.tensors[i].name for i in [graph.inputs[0], *outputs]},
    )
    return module.to(memory_format=torch.channels_last)


def load_tflite(path: str | Path) -> TFLiteModule:
    """Read and convert a ``.tflite`` file (see :class:`TFLiteModule` for the calling convention)."""
    return convert_graph(read_tflite(path))


class TFLiteWeightsModule(nn.Module):
    """A model whose "weights file" is a ``.tflite`` graph: built empty, filled by the shared loader.

    :func:`posetool.hub.loader.load_model` calls :meth:`load_weights_file` instead of loading a
    state dict. ``input_shape`` (TFLite's (1, H, W, C)) guards against a wrong file.
    ``use_runtime("litert")`` runs the original graph in LiteRT instead (:mod:`posetool.hub.litert`).
    """

    def __init__(self, input_shape: tuple[int, ...] | None = None, num_outputs: int | None = None):
        super().__init__()
        self.expected_input = tuple(input_shape) if input_shape else None
        self.expected_outputs = num_outputs
        self.graph: TFLiteModule | None = None
        self.path: Path | None = None
        self.litert = None

    def load_weights_file(self, path: str | Path) -> None:
        graph = load_tflite(path)
        if self.expected_input and tuple(graph.input_shape[1:]) != self.expected_input[1:]:
            raise WeightsError(f"{path}: model input is {graph.input_shape}, expected {self.expected_input}; wrong .tflite file")
        if self.expected_outputs is not None and len(graph.output_indices) != self.expected_outputs:
            raise WeightsError(f"{path}: model has {len(graph.output_indices)} outputs, expected {self.expected_outputs}")
        self.graph = graph
        self.path = Path(path)

    def use_runtime(self, runtime: str) -> None:
        """Run in ``"torch"`` (the converted module) or ``"litert"`` (the original graph)."""
        from posetool.hub.litert import LiteRTGraph

        if runtime == "litert" and self.litert is None:
            if self.path is None:
                raise WeightsError("TFLite model used before its .tflite file was loaded (use posetool.hub.loader.load_model)")
            self.litert = LiteRTGraph(self.path)
        elif runtime == "torch":
            self.litert = None

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        if self.graph is None:
            raise WeightsError("TFLite model used before its .tflite file was loaded (use posetool.hub.loader.load_model)")
        if self.litert is not None:
            return self.litert(x)
        return self.graph(x)
