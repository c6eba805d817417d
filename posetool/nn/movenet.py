"""MoveNet MultiPose Lightning as a PyTorch model: the TFLite network up to its heads, converted,
and the graph's CenterNet decoding rewritten in torch (:mod:`posetool.nn.movenet_decode`).

Google's ``movenet.tflite`` (float16 weights, any input size that is a multiple of 32) is the
"weights file": the registry's builder returns an empty :class:`MoveNet` and the shared loader
fills it (its ``load_weights_file`` hook), as for BlazePose. Only the operators that compute the
six heads are converted (:func:`posetool.nn.tflite.converter.convert_graph` with ``outputs``);
the graph's own decoding (SHAPE, TOPK_V2, GATHER_ND, ARG_MAX…) is replaced by
:func:`~posetool.nn.movenet_decode.decode_people`, which runs batched on any device and takes the
number of people as an option (the graph's is fixed at 6).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from posetool.errors import WeightsError
from posetool.nn.movenet_decode import GRAPH_MAX_PEOPLE, MoveNetHeads, decode_people

# Head name prefix in the graph -> field of MoveNetHeads. The heatmaps are taken after their
# LOGISTIC (as the decoding reads them), the regressions straight from their last convolution.
HEADS = {"center_0": "center", "kpt_heatmap_0": "heatmap", "kpt_regress_0": "regress",
         "kpt_offset_0": "offset", "box_scale_0": "box_scale", "box_offset_0": "box_offset"}
STRIDE = 32  # the input's height and width must be multiples of this


def head_tensors(graph: Any) -> list[int]:
    """Tensor indices of the six heads of a MoveNet graph, in :class:`MoveNetHeads` order.

    Each head is the last CONV_2D whose output name starts with ``<head>/conv2d``, followed by its
    LOGISTIC where there is one (centre and keypoint heatmaps).
    """
    found: dict[str, int] = {}
    for op in graph.operators:
        name = graph.tensors[op.outputs[0]].name if op.outputs else ""
        for prefix, field in HEADS.items():
            if op.name == "CONV_2D" and name.startswith(prefix + "/conv2d"):
                found[field] = op.outputs[0]
    for op in graph.operators:
        if op.name == "LOGISTIC":
            for field, index in list(found.items()):
                if op.inputs[0] == index:
                    found[field] = op.outputs[0]
    missing = [f for f in MoveNetHeads._fields if f not in found]
    if missing:
        raise WeightsError(f"{graph.source}: not a MoveNet MultiPose graph (no {', '.join(missing)} head)")
    return [found[f] for f in MoveNetHeads._fields]


class MoveNet(nn.Module):
    """MoveNet MultiPose: ``forward(x)`` takes RGB images (B, 3, H, W), uint8 or float in
    [0, 255], H and W multiples of 32, and returns the people (B, K, 56) as the graph does
    (see :func:`~posetool.nn.movenet_decode.decode_people`), K = min(H·W/16, ``max_people``).

    :meth:`heads` gives the six head tensors instead. ``use_runtime("litert")`` runs the network in
    LiteRT (:mod:`posetool.hub.litert`) instead of PyTorch; the decoding stays in torch.
    """

    def __init__(self, max_people: int = GRAPH_MAX_PEOPLE, **_unused: Any) -> None:
        super().__init__()
        self.max_people = max_people
        self.network: nn.Module | None = None
        self.path: Path | None = None
        self.head_indices: list[int] = []
        self.runtime = "torch"
        self.litert: Any = None

    def load_weights_file(self, path: str | Path) -> None:
        """Read ``movenet.tflite`` and convert its network up to the heads."""
        from posetool.nn.tflite.converter import convert_graph
        from posetool.nn.tflite.flatbuffer import read_tflite

        graph = read_tflite(path)
        shape = graph.tensors[graph.inputs[0]].shape if len(graph.inputs) == 1 else ()
        if len(shape) != 4 or shape[3] != 3:
            raise WeightsError(f"{path}: model input is {shape}, expected an RGB image (1, H, W, 3); wrong .tflite file")
        self.head_indices = head_tensors(graph)
        self.network = convert_graph(graph, self.head_indices).eval()
        self.path = Path(path)

    def use_runtime(self, runtime: str) -> None:
        """Run the network in ``"torch"`` (the converted module) or ``"litert"`` (the original graph,
        its heads read after each invocation)."""
        from posetool.hub.litert import LiteRTGraph

        if runtime == "litert" and self.litert is None:
            if self.path is None:
                raise WeightsError("MoveNet used before its .tflite file was loaded (use posetool.hub.loader.load_model)")
            self.litert = LiteRTGraph(self.path, tensors=self.head_indices)
        self.runtime = runtime

    def heads(self, x: torch.Tensor) -> MoveNetHeads:
        """The six heads of a batch (see :class:`MoveNetHeads`), each (B, H/4, W/4, C)."""
        if self.network is None:
            raise WeightsError("MoveNet used before its .tflite file was loaded (use posetool.hub.loader.load_model)")
        if x.dim() != 4 or x.shape[1] != 3 or x.shape[2] % STRIDE or x.shape[3] % STRIDE:
            raise ValueError(f"expected RGB images (B, 3, H, W) with H and W multiples of {STRIDE}, got {tuple(x.shape)}")
        if self.runtime == "litert":
            return MoveNetHeads(*self.litert(x))
        return MoveNetHeads(*self.network(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return decode_people(self.heads(x), self.max_people)


def build_movenet(max_people: int = GRAPH_MAX_PEOPLE, **_unused: Any) -> MoveNet:
    """Builder for the ``movenet`` spec: an empty :class:`MoveNet` the shared loader fills."""
    return MoveNet(max_people)
