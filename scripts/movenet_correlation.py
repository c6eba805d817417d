"""Correspondences from MoveNet's frozen features, no training: the Siamese stage's correlation alone.

    python scripts/movenet_correlation.py chain.msgpack [--video V] [--step 1] [--layers both]
        [--temperature 20] [--size 128] [--context 1.25]

Issue #16 asks which backbone to build the real correspondence model on. This measures the
converted MoveNet MultiPose network (``posetool weights pull movenet``) as a frozen backbone: its
stride-4 features (``fpn``: the feature pyramid's 24 channels that every head reads; ``heat``: the
96-channel hidden layer of the keypoint-heatmap head; ``both``: the two concatenated) replace the
correspondence network's backbone in :func:`posetool.nn.correspondence.correlate` (L2-normalised
3×3 patches, softmax with ``--temperature``), on the same person windows, decoded as ``posetool
correspond`` decodes (DARK + query offset), and scored as ``posetool eval correspond STREAM``
scores (the stream's own confident keypoints as pseudo ground truth). No refinement stage: nothing
is learnt. Figures: docs/correspond.md ("Learning from real footage").
"""

from __future__ import annotations

import argparse
import json

import torch
from torch import nn

LAYERS = ("fpn", "heat", "both")


def feature_tensors(graph: object, layers: str) -> list[int]:
    """Tensor indices in MoveNet's graph: the pyramid output (the input of the centre head's first
    depthwise convolution) and/or the keypoint-heatmap head's hidden ReLU."""
    ops = graph.operators  # type: ignore[attr-defined]
    names = [graph.tensors[op.outputs[0]].name if op.outputs else "" for op in ops]  # type: ignore[attr-defined]
    fpn = next(op.inputs[0] for op, n in zip(ops, names)
               if op.name == "DEPTHWISE_CONV_2D" and n.startswith("center_0/separable_conv2d"))
    heat = next(op.outputs[0] for op, n in zip(ops, names)
                if op.name == "CONV_2D" and n.startswith("kpt_heatmap_0/re_lu"))
    return {"fpn": [fpn], "heat": [heat], "both": [fpn, heat]}[layers]


class FrozenMoveNet(nn.Module):
    """The parts of :class:`~posetool.correspond.infer.CorrespondenceEstimator`'s module interface
    that affinity maps need: ``features`` (B, C, H/4, W/4) and ``affinity``."""

    stride = 4

    def __init__(self, network: nn.Module, temperature: float) -> None:
        super().__init__()
        self.network = network.eval()
        self.temperature = temperature

    def features(self, x: torch.Tensor) -> torch.Tensor:
        outs = self.network(x)  # NHWC tensors, as the graph computes them
        return torch.cat([o.permute(0, 3, 1, 2) for o in outs], 1).contiguous()

    def affinity(self, fa: torch.Tensor, fb: torch.Tensor, queries: torch.Tensor,
                 valid: torch.Tensor | None = None) -> torch.Tensor:
        from posetool.nn.correspondence import correlate

        return correlate(fa, fb, queries / self.stride, valid, "l2", self.temperature)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("stream", help="a tracked pose stream of real video (e.g. posetool run VIDEO --no-correspond)")
    ap.add_argument("--video", default=None, help="the video, if not the one the stream's header names")
    ap.add_argument("--step", type=int, default=1)
    ap.add_argument("--layers", choices=LAYERS, default="both")
    ap.add_argument("--temperature", type=float, default=20.0)
    ap.add_argument("--size", type=int, default=128, help="person-window input side (multiple of 32)")
    ap.add_argument("--context", type=float, default=1.25, help="window side / the person's longer box side")
    ap.add_argument("--kp-thr", type=float, default=0.5)
    args = ap.parse_args()

    from posetool.correspond.evaluate import evaluate_inputs
    from posetool.correspond.infer import CorrespondenceEstimator
    from posetool.hub.loader import load_model
    from posetool.nn.tflite.converter import convert_graph
    from posetool.nn.tflite.flatbuffer import read_tflite

    torch.set_grad_enabled(False)
    path = load_model("movenet", task="detect", device="cpu").weights_path
    graph = read_tflite(path)
    module = FrozenMoveNet(convert_graph(graph, feature_tensors(graph, args.layers)), args.temperature)
    # MoveNet reads RGB in [0, 255]: mean 0, std 1/255 undo normalize's division
    est = CorrespondenceEstimator(module, args.size, (0.0,) * 3, (1 / 255,) * 3, "RGB", "cpu", context=args.context,
                                  maps="affinity")
    result = evaluate_inputs([args.stream], est, pixels=5.0, step=args.step, kp_thr=args.kp_thr, video=args.video)
    result.update(layers=args.layers, temperature=args.temperature, size=args.size, context=args.context, step=args.step)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
