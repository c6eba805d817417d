"""MoveNet MultiPose on video frames: people boxes, scores and 17 coco17 keypoints, and its detect backend.

The network and its decoding are :class:`posetool.nn.movenet.MoveNet`. Around it:

1. input: the whole frame resized (no letterbox) so that its long side is ``input_size`` and
   both sides are multiples of 32 (the aspect ratio kept to within half a 32-pixel step), RGB
   uint8 (the graph scales to [-1, 1] itself); area interpolation when shrinking;
2. output: the graph's normalised rows mapped back by the frame's own width and height (the
   input covers the whole frame), keypoints as (x, y, score) pixels in coco17 order (MoveNet's
   own order), boxes ``[x1, y1, x2, y2]``.

Larger inputs find smaller people (the model's grid has stride 4); see docs/movenet.md for the
input size measured on hand-labelled street frames.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from posetool.detect.boxes import Detections
from posetool.detect.roi import to_rgb
from posetool.hub.loader import LoadedModel
from posetool.nn.movenet import STRIDE
from posetool.nn.movenet_decode import NUM_KEYPOINTS

DEFAULT_INPUT_SIZE = 512
DEFAULT_MAX_PEOPLE = 6
DEFAULT_SCORE = 0.15
# Frames per forward pass of the PyTorch network on a CPU: one frame at a time beat batches of 8
# on the 2-core machine of benchmarks/bench_movenet.py (14.4 against 10.9 frames/s at 512×384:
# a batch's activations leave the caches). Batches stay whole on a GPU; decoding is batched.
CPU_CHUNK = 1


def input_size_for(height: int, width: int, size: int) -> tuple[int, int]:
    """(height, width) of the network input for a ``height`` × ``width`` frame: long side ``size``
    (rounded to a multiple of 32), short side scaled alike and rounded to a multiple of 32."""
    if size < STRIDE:
        raise ValueError(f"input size must be at least {STRIDE}, got {size}")
    long_side = max(STRIDE, int(round(size / STRIDE)) * STRIDE)
    scale = long_side / max(height, width)
    h = max(STRIDE, int(round(height * scale / STRIDE)) * STRIDE)
    w = max(STRIDE, int(round(width * scale / STRIDE)) * STRIDE)
    return h, w


@dataclass
class People:
    """MoveNet's people in one frame, in pixels, best centre first.

    boxes: (K, 4) ``[x1, y1, x2, y2]``; scores: (K,) person scores; keypoints: (K, 17, 3)
    x, y, score (coco17).
    """

    boxes: np.ndarray
    scores: np.ndarray
    keypoints: np.ndarray


def rows_to_people(rows: np.ndarray, width: int, height: int) -> People:
    """The graph's (K, 56) normalised rows of one frame → :class:`People` in pixels."""
    kps = rows[:, :NUM_KEYPOINTS * 3].reshape(-1, NUM_KEYPOINTS, 3).astype(np.float64)
    keypoints = np.stack([kps[..., 1] * width, kps[..., 0] * height, kps[..., 2]], axis=-1)
    ymin, xmin, ymax, xmax = (rows[:, NUM_KEYPOINTS * 3 + i].astype(np.float64) for i in range(4))
    boxes = np.stack([xmin * width, ymin * height, xmax * width, ymax * height], axis=1)
    return People(boxes, rows[:, -1].astype(np.float64), keypoints)


class MoveNetDetector:
    """MoveNet MultiPose on batches of frames.

    ``detect(images)`` takes (H, W, 3) uint8 images (BGR as OpenCV decodes them, or RGB with
    ``bgr=False``) and returns one :class:`People` per image.

    Args:
        module: the loaded :class:`posetool.nn.movenet.MoveNet`.
        input_size: long side of the network input in pixels (a multiple of 32).
        max_people: people decoded per frame (the graph's own cap is 6).
    """

    def __init__(self, module: Any, device: Any = "cpu", batch_size: int = 8, input_size: int = DEFAULT_INPUT_SIZE,
                 max_people: int = DEFAULT_MAX_PEOPLE, weights_sha256: str | None = None) -> None:
        self.module = module
        self.device = device
        self.batch_size = batch_size
        self.input_size = input_size
        self.max_people = max_people
        self.weights_sha256 = weights_sha256
        self.runtime = "torch"

    @classmethod
    def from_loaded(cls, loaded: LoadedModel, batch_size: int = 8, input_size: int | None = None,
                    max_people: int | None = None, runtime: str = "torch") -> MoveNetDetector:
        """The detector around a model from :func:`posetool.hub.loader.load_model` (``movenet``).

        ``runtime``: ``torch``, ``litert`` or ``auto`` (:func:`posetool.hub.litert.choose_runtime`):
        PyTorch, because on a CPU the converted network runs as fast as LiteRT's whole graph at
        batch 1 while LiteRT has to keep every intermediate tensor to hand out the heads (25 %
        slower; benchmarks/bench_movenet.py).
        """
        from posetool.hub.litert import choose_runtime

        det = cls(loaded.module, loaded.device, batch_size, input_size or DEFAULT_INPUT_SIZE,
                  max_people or DEFAULT_MAX_PEOPLE, loaded.weights_sha256)
        det.runtime = choose_runtime(runtime, loaded.device, prefer="torch")
        loaded.module.use_runtime(det.runtime)
        return det

    def preprocess(self, image_rgb: np.ndarray) -> np.ndarray:
        """(H, W, 3) RGB uint8 → the (h, w, 3) uint8 network input (see the module docstring)."""
        import cv2

        h, w = input_size_for(image_rgb.shape[0], image_rgb.shape[1], self.input_size)
        shrink = h < image_rgb.shape[0] or w < image_rgb.shape[1]
        return cv2.resize(image_rgb, (w, h), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)

    def run_network(self, batch: np.ndarray) -> np.ndarray:
        """(B, h, w, 3) uint8 RGB → the decoded rows (B, K, 56), K = ``max_people`` (at most)."""
        import torch

        from posetool.nn.movenet_decode import decode_people

        from posetool.nn.movenet_decode import MoveNetHeads

        x = torch.from_numpy(batch).permute(0, 3, 1, 2)
        x = x if self.runtime == "litert" else x.to(self.device)
        on_cpu = getattr(self.device, "type", str(self.device)) == "cpu"
        chunk = CPU_CHUNK if self.runtime == "torch" and on_cpu else len(x)
        with torch.inference_mode():
            parts = [self.module.heads(x[s:s + chunk]) for s in range(0, len(x), chunk)]
            heads = parts[0] if len(parts) == 1 else MoveNetHeads(*(torch.cat(t) for t in zip(*parts)))
            rows = decode_people(heads, self.max_people)
        return rows.float().cpu().numpy()

    def detect(self, images: list[np.ndarray], bgr: bool = True) -> list[People]:
        """People per image, in batches of ``batch_size`` images of the same size."""
        out: list[People | None] = [None] * len(images)
        prepped = [self.preprocess(to_rgb(im, bgr)) for im in images]
        by_shape: dict[tuple[int, ...], list[int]] = {}
        for i, x in enumerate(prepped):
            by_shape.setdefault(x.shape, []).append(i)
        for indices in by_shape.values():
            for start in range(0, len(indices), self.batch_size):
                chunk = indices[start:start + self.batch_size]
                rows = self.run_network(np.stack([prepped[i] for i in chunk]))
                for i, r in zip(chunk, rows):
                    out[i] = rows_to_people(r, images[i].shape[1], images[i].shape[0])
        return out  # type: ignore[return-value]


class MoveNetDetectBackend:
    """Adapter to the ``posetool detect`` backend interface (``detect(frames) -> [Detections]``).

    Each box carries MoveNet's ``keypoints`` (17 × x, y, score pixels, coco17), which ``pose2d
    --model blazepose_full`` turns into MediaPipe's rotated region of interest.
    """

    default_score_thr = DEFAULT_SCORE
    skeleton = "coco17"

    def __init__(self, detector: MoveNetDetector, name: str = "movenet") -> None:
        self.detector = detector
        self.name = name
        self.weights_sha256 = detector.weights_sha256
        self.batch_size = detector.batch_size

    @classmethod
    def from_loaded(cls, loaded: LoadedModel, batch_size: int = 8, input_size: int | None = None,
                    max_people: int | None = None, runtime: str = "torch") -> MoveNetDetectBackend:
        """The backend :func:`posetool.detect.backends.build_detector` builds (the spec's runner)."""
        return cls(MoveNetDetector.from_loaded(loaded, batch_size, input_size, max_people, runtime), loaded.spec.name)

    @property
    def params(self) -> dict[str, Any]:
        """What the detect stage records in its provenance entry."""
        return {"input_size": self.detector.input_size, "max_people_decoded": self.detector.max_people,
                "runtime": self.detector.runtime}

    def detect(self, frames: list[Any]) -> list[Detections]:
        """Boxes, person scores and keypoints per frame (:class:`posetool.video.sources.Frame`)."""
        out = []
        for people in self.detector.detect([f.image for f in frames]):
            if len(people.scores) == 0:
                out.append(Detections.empty())
                continue
            extras = [{"keypoints": np.round(k, 3).tolist()} for k in people.keypoints]
            out.append(Detections(people.boxes, people.scores, extras=extras))
        return out
