"""Read a ``.tflite`` flatbuffer into plain Python objects (tensors, operators, options).

The generated accessors of the ``tflite`` package (TFLite's ``schema.fbs`` compiled for Python)
do the byte-level work; this module turns subgraph 0 into :class:`TFLiteGraph`: every tensor with
its NHWC shape, dtype and constant data (sparse constants keep their
:class:`SparsityInfo`), and every operator with its builtin name and the options the converter
needs. Nothing here imports torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from posetool.errors import WeightsError

# TensorType enum of schema.fbs -> numpy dtype (only the types a float model can carry).
_DTYPES: dict[int, Any] = {
    0: np.float32, 1: np.float16, 2: np.int32, 3: np.uint8, 4: np.int64, 6: np.bool_, 7: np.int16,
    9: np.int8, 10: np.float64,
}
# ActivationFunctionType and Padding enums of schema.fbs.
ACTIVATIONS = {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6", 4: "TANH", 5: "SIGN_BIT"}
PADDINGS = {0: "SAME", 1: "VALID"}


@dataclass
class SparsityInfo:
    """A sparse constant's encoding (TACO-style, see ``SparsityParameters`` in schema.fbs).

    ``dim_metadata`` lists, in traversal order, ``("DENSE", size)`` or
    ``("SPARSE_CSR", segments, indices)``.
    """

    traversal_order: list[int]
    block_map: list[int]
    dim_metadata: list[tuple]


@dataclass
class TensorInfo:
    """One tensor of the graph: TFLite (NHWC) ``shape``, numpy ``dtype``, constant ``data`` or None.

    For a sparse constant ``data`` holds the stored (non-zero) values and ``sparsity`` their layout.
    ``signature`` is the shape signature where the file has one: -1 marks a dimension fixed only at
    run time (a model exported for any input size stores 1 in ``shape`` there).
    """

    index: int
    name: str
    shape: tuple[int, ...]
    dtype: Any
    data: np.ndarray | None = None
    sparsity: SparsityInfo | None = None
    quantization: dict[str, np.ndarray] | None = None
    signature: tuple[int, ...] | None = None

    @property
    def is_constant(self) -> bool:
        return self.data is not None


@dataclass
class OperatorInfo:
    """One operator: builtin ``name`` (e.g. ``CONV_2D``), tensor indices (-1 = omitted input), options."""

    index: int
    name: str
    inputs: list[int]
    outputs: list[int]
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class TFLiteGraph:
    """Subgraph 0 of a model: tensors, operators in execution order, graph inputs and outputs."""

    tensors: list[TensorInfo]
    operators: list[OperatorInfo]
    inputs: list[int]
    outputs: list[int]
    version: int
    source: str = ""


def _builtin_names() -> dict[int, str]:
    from tflite.BuiltinOperator import BuiltinOperator

    return {v: k for k, v in vars(BuiltinOperator).items() if not k.startswith("_") and isinstance(v, int)}


def _index_vector(union_type: int, table: Any) -> np.ndarray:
    """Decode a SparseIndexVector union (Int32Vector=1, Uint16Vector=2, Uint8Vector=3)."""
    import tflite

    cls = {1: tflite.Int32Vector, 2: tflite.Uint16Vector, 3: tflite.Uint8Vector}.get(union_type)
    if cls is None or table is None:
        raise WeightsError(f"unsupported sparse index vector type {union_type}")
    vec = cls()
    vec.Init(table.Bytes, table.Pos)
    return np.asarray(vec.ValuesAsNumpy(), dtype=np.int64) if vec.ValuesLength() else np.zeros(0, np.int64)


def _sparsity(sp: Any) -> SparsityInfo:
    order = [int(v) for v in sp.TraversalOrderAsNumpy()] if sp.TraversalOrderLength() else []
    block_map = [int(v) for v in sp.BlockMapAsNumpy()] if sp.BlockMapLength() else []
    dims: list[tuple] = []
    for i in range(sp.DimMetadataLength()):
        dm = sp.DimMetadata(i)
        if dm.Format() == 0:
            dims.append(("DENSE", int(dm.DenseSize())))
        else:
            dims.append(("SPARSE_CSR", _index_vector(dm.ArraySegmentsType(), dm.ArraySegments()),
                         _index_vector(dm.ArrayIndicesType(), dm.ArrayIndices())))
    return SparsityInfo(order, block_map, dims)


def _options(name: str, op: Any) -> dict[str, Any]:
    """The builtin options the converter reads, as a plain dict (absent options -> {})."""
    import tflite

    table = op.BuiltinOptions()
    if table is None:
        return {}

    def load(cls: Any) -> Any:
        o = cls()
        o.Init(table.Bytes, table.Pos)
        return o

    if name in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        o = load(tflite.Conv2DOptions if name == "CONV_2D" else tflite.DepthwiseConv2DOptions)
        out = {"padding": PADDINGS[o.Padding()], "stride": (o.StrideH(), o.StrideW()),
               "dilation": (o.DilationHFactor(), o.DilationWFactor()),
               "activation": ACTIVATIONS.get(o.FusedActivationFunction(), str(o.FusedActivationFunction()))}
        if name == "DEPTHWISE_CONV_2D":
            out["depth_multiplier"] = o.DepthMultiplier()
        return out
    if name in ("MAX_POOL_2D", "AVERAGE_POOL_2D"):
        o = load(tflite.Pool2DOptions)
        return {"padding": PADDINGS[o.Padding()], "stride": (o.StrideH(), o.StrideW()),
                "filter": (o.FilterHeight(), o.FilterWidth()),
                "activation": ACTIVATIONS.get(o.FusedActivationFunction(), str(o.FusedActivationFunction()))}
    if name in ("ADD", "SUB", "MUL", "CONCATENATION"):
        cls = {"ADD": tflite.AddOptions, "SUB": tflite.SubOptions, "MUL": tflite.MulOptions,
               "CONCATENATION": tflite.ConcatenationOptions}[name]
        o = load(cls)
        out = {"activation": ACTIVATIONS.get(o.FusedActivationFunction(), str(o.FusedActivationFunction()))}
        if name == "CONCATENATION":
            out["axis"] = o.Axis()
        return out
    if name == "RESIZE_BILINEAR":
        o = load(tflite.ResizeBilinearOptions)
        return {"align_corners": bool(o.AlignCorners()), "half_pixel_centers": bool(o.HalfPixelCenters())}
    if name == "DEPTH_TO_SPACE":
        return {"block_size": load(tflite.DepthToSpaceOptions).BlockSize()}
    if name == "RESHAPE":
        o = load(tflite.ReshapeOptions)
        return {"new_shape": [int(v) for v in o.NewShapeAsNumpy()]} if o.NewShapeLength() else {}
    return {}


def read_tflite(path: str | Path) -> TFLiteGraph:
    """Parse ``path`` (a ``.tflite`` file) into a :class:`TFLiteGraph` of its first subgraph."""
    import tflite

    path = Path(path)
    try:
        buf = path.read_bytes()
    except OSError as exc:
        raise WeightsError(f"{path}: cannot read the TFLite model ({exc.strerror})") from None
    if len(buf) < 8 or buf[4:8] != b"TFL3":
        raise WeightsError(f"{path}: not a TFLite flatbuffer (no TFL3 identifier)")
    model = tflite.Model.GetRootAsModel(buf, 0)
    if model.SubgraphsLength() < 1:
        raise WeightsError(f"{path}: the TFLite model has no subgraph")
    names = _builtin_names()
    g = model.Subgraphs(0)

    tensors: list[TensorInfo] = []
    for i in range(g.TensorsLength()):
        t = g.Tensors(i)
        dtype = _DTYPES.get(t.Type())
        shape = tuple(int(v) for v in t.ShapeAsNumpy()) if t.ShapeLength() else ()
        info = TensorInfo(i, t.Name().decode("utf-8", "replace"), shape, dtype)
        if t.ShapeSignatureLength():
            info.signature = tuple(int(v) for v in t.ShapeSignatureAsNumpy())
        buffer = model.Buffers(t.Buffer())
        raw = None
        if buffer is not None and buffer.DataLength():
            raw = buffer.DataAsNumpy().tobytes()
        elif buffer is not None and buffer.Offset() > 1:
            # Models over 2 GB keep buffers after the flatbuffer (offset/size); read them the same way.
            raw = buf[buffer.Offset(): buffer.Offset() + buffer.Size()]
        if raw is not None:
            if dtype is None:
                raise WeightsError(f"{path}: constant tensor {info.name!r} has unsupported type {t.Type()}")
            values = np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder("<")).astype(dtype)
            sp = t.Sparsity()
            if sp is not None:
                info.sparsity = _sparsity(sp)
                info.data = values
            else:
                info.data = values.reshape(shape) if shape else values.reshape(())
        q = t.Quantization()
        if q is not None and q.ScaleLength():
            info.quantization = {"scale": q.ScaleAsNumpy().astype(np.float32),
                                 "zero_point": q.ZeroPointAsNumpy().astype(np.int64) if q.ZeroPointLength()
                                 else np.zeros(q.ScaleLength(), np.int64),
                                 "axis": np.int64(q.QuantizedDimension())}
        tensors.append(info)

    operators: list[OperatorInfo] = []
    for i in range(g.OperatorsLength()):
        op = g.Operators(i)
        code = model.OperatorCodes(op.OpcodeIndex())
        # Since schema v3a the real code lives in builtin_code; deprecated_builtin_code caps at 127.
        number = max(int(code.BuiltinCode()), int(code.DeprecatedBuiltinCode()))
        name = names.get(number, f"BUILTIN_{number}")
        if name == "CUSTOM":
            custom = code.CustomCode()
            name = f"CUSTOM:{custom.decode() if custom else '?'}"
        operators.append(OperatorInfo(
            i, name,
            [int(v) for v in op.InputsAsNumpy()] if op.InputsLength() else [],
            [int(v) for v in op.OutputsAsNumpy()] if op.OutputsLength() else [],
            _options(name, op),
        ))
    return TFLiteGraph(tensors, operators, [int(v) for v in g.InputsAsNumpy()],
                       [int(v) for v in g.OutputsAsNumpy()], int(model.Version()), str(path))
