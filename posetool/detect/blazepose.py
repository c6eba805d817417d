"""MediaPipe's BlazePose person detector, as MediaPipe's CPU graphs define it, and its detect backend.

The network is MediaPipe's own ``pose_detection.tflite`` converted to PyTorch on load
(:mod:`posetool.nn.blazepose`); everything around it follows the MediaPipe 0.10 graphs
``pose_detection_cpu.pbtxt`` and ``pose_detection_to_roi.pbtxt``:

1. detector input: the whole image, letterboxed (keep aspect ratio, zero border) to 224×224 RGB,
   values in [-1, 1];
2. 2254 SSD anchors (5 layers, strides 8/16/32/32/32, fixed size 1), boxes decoded as
   x, y, w, h / 224 around the anchor centre, 4 keypoints the same way; scores clipped to ±100
   and passed through a sigmoid, kept at ≥ 0.5; weighted NMS at IoU 0.3; letterbox removed;
3. detection → region of interest (:func:`posetool.detect.roi.detection_roi`): centre at
   keypoint 0 (mid-hip), side = 2 × |kp1 − kp0|, rotation = 90° − angle(kp0 → kp1), then
   side × 1.25 (square in pixels).

The landmark model that runs on those regions is :mod:`posetool.pose2d.blazepose`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from posetool.detect.boxes import Detections
from posetool.detect.roi import RotatedRect, crop_rotated, detection_roi, pad_roi, to_rgb
from posetool.hub.loader import LoadedModel

DETECTOR_SIZE = 224
# pose_detection_cpu.pbtxt: SsdAnchorsCalculatorOptions and TensorsToDetectionsCalculatorOptions.
ANCHOR_OPTIONS = {
    "num_layers": 5, "min_scale": 0.1484375, "max_scale": 0.75, "input_size": (224, 224),
    "anchor_offset": (0.5, 0.5), "strides": (8, 16, 32, 32, 32), "aspect_ratios": (1.0,),
    "fixed_anchor_size": True, "interpolated_scale_aspect_ratio": 1.0, "reduce_boxes_in_lowest_layer": False,
}
SCORE_CLIP = 100.0
MIN_SCORE = 0.5
NMS_IOU = 0.3


# --- detector: anchors, decoding, weighted NMS ------------------------------------------------

def _anchor_scale(min_scale: float, max_scale: float, index: int, count: int) -> float:
    if count == 1:
        return (min_scale + max_scale) * 0.5
    return min_scale + (max_scale - min_scale) * index / (count - 1.0)


def ssd_anchors(options: dict = ANCHOR_OPTIONS) -> np.ndarray:
    """SSD anchors as MediaPipe's SsdAnchorsCalculator (non-multiscale path).

    Returns:
        (N, 4) float32 ``[x_center, y_center, w, h]`` normalised to the input; N = 2254 for the
        pose detector (28²·2 + 14²·2 + 7²·6).
    """
    strides = options["strides"]
    in_h, in_w = options["input_size"]
    anchors: list[list[float]] = []
    layer = 0
    while layer < options["num_layers"]:
        heights: list[float] = []
        widths: list[float] = []
        ratios: list[float] = []
        scales: list[float] = []
        last = layer
        # Layers sharing a stride share one feature map; their anchors interleave per cell.
        while last < len(strides) and strides[last] == strides[layer]:
            scale = _anchor_scale(options["min_scale"], options["max_scale"], last, len(strides))
            if last == 0 and options["reduce_boxes_in_lowest_layer"]:
                ratios += [1.0, 2.0, 0.5]
                scales += [0.1, scale, scale]
            else:
                for ratio in options["aspect_ratios"]:
                    ratios.append(ratio)
                    scales.append(scale)
                if options["interpolated_scale_aspect_ratio"] > 0.0:
                    nxt = 1.0 if last == len(strides) - 1 else _anchor_scale(
                        options["min_scale"], options["max_scale"], last + 1, len(strides))
                    scales.append(math.sqrt(scale * nxt))
                    ratios.append(options["interpolated_scale_aspect_ratio"])
            last += 1
        for ratio, scale in zip(ratios, scales):
            heights.append(scale / math.sqrt(ratio))
            widths.append(scale * math.sqrt(ratio))
        stride = strides[layer]
        fh, fw = math.ceil(in_h / stride), math.ceil(in_w / stride)
        for y in range(fh):
            for x in range(fw):
                for k in range(len(heights)):
                    xc = (x + options["anchor_offset"][0]) / fw
                    yc = (y + options["anchor_offset"][1]) / fh
                    if options["fixed_anchor_size"]:
                        anchors.append([xc, yc, 1.0, 1.0])
                    else:
                        anchors.append([xc, yc, widths[k], heights[k]])
        layer = last
    return np.asarray(anchors, dtype=np.float32)


@dataclass
class RawDetections:
    """Decoded, score-filtered detections of one image in letterboxed, normalised coordinates.

    boxes: (N, 4) ``[xmin, ymin, xmax, ymax]``; keypoints: (N, 4, 2) ``(x, y)``; scores: (N,).
    """

    boxes: np.ndarray
    keypoints: np.ndarray
    scores: np.ndarray


def decode_detections(raw_boxes: np.ndarray, raw_scores: np.ndarray, anchors: np.ndarray,
                      min_score: float = MIN_SCORE, scale: float = DETECTOR_SIZE) -> RawDetections:
    """TensorsToDetectionsCalculator for one image (XYWH boxes, 4 keypoints, sigmoid scores).

    Args:
        raw_boxes: (N, 12) model output 0; raw_scores: (N,) or (N, 1) model output 1 (logits).
    """
    raw = raw_boxes.astype(np.float32)
    xc = raw[:, 0] / scale * anchors[:, 2] + anchors[:, 0]
    yc = raw[:, 1] / scale * anchors[:, 3] + anchors[:, 1]
    w = raw[:, 2] / scale * anchors[:, 2]
    h = raw[:, 3] / scale * anchors[:, 3]
    boxes = np.stack([xc - w / 2, yc - h / 2, xc + w / 2, yc + h / 2], axis=1)
    kps = raw[:, 4:12].reshape(-1, 4, 2) / scale * anchors[:, None, 2:4] + anchors[:, None, 0:2]
    logits = np.clip(raw_scores.reshape(-1).astype(np.float64), -SCORE_CLIP, SCORE_CLIP)
    scores = (1.0 / (1.0 + np.exp(-logits))).astype(np.float32)
    keep = (scores >= min_score) & (w >= 0) & (h >= 0) & np.isfinite(w) & np.isfinite(h)
    return RawDetections(boxes[keep].astype(np.float64), kps[keep].astype(np.float64), scores[keep].astype(np.float64))


def _iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    ix = np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0])
    iy = np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1])
    inter = np.where((ix >= 0) & (iy >= 0), np.maximum(ix, 0) * np.maximum(iy, 0), 0.0)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    union = area + areas - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)


def weighted_nms(dets: RawDetections, iou_threshold: float = NMS_IOU) -> RawDetections:
    """MediaPipe's WEIGHTED non-max suppression.

    Take the best remaining detection; every remaining one overlapping it by IoU > threshold
    (itself included) is removed and averaged into it, weighted by score (box corners and
    keypoints); the score stays the best one's.
    """
    order = np.argsort(-dets.scores, kind="stable")
    out_boxes, out_kps, out_scores = [], [], []
    while order.size:
        top = order[0]
        iou = _iou(dets.boxes[top], dets.boxes[order])
        members = order[iou > iou_threshold]
        rest = order[~(iou > iou_threshold)]
        box, kps = dets.boxes[top], dets.keypoints[top]
        if members.size:
            w = dets.scores[members]
            box = (dets.boxes[members] * w[:, None]).sum(0) / w.sum()
            kps = (dets.keypoints[members] * w[:, None, None]).sum(0) / w.sum()
        out_boxes.append(box)
        out_kps.append(kps)
        out_scores.append(dets.scores[top])
        if rest.size == order.size:  # degenerate (zero-area) box suppresses nothing: stop as MediaPipe
            break
        order = rest
    if not out_scores:
        return RawDetections(np.zeros((0, 4)), np.zeros((0, 4, 2)), np.zeros(0))
    return RawDetections(np.array(out_boxes), np.array(out_kps), np.array(out_scores))


def remove_letterbox(dets: RawDetections, padding: tuple[float, float, float, float]) -> RawDetections:
    """DetectionLetterboxRemovalCalculator: letterboxed normalised coordinates → image-normalised."""
    left, top, right, bottom = padding
    sx, sy = 1.0 - left - right, 1.0 - top - bottom
    boxes = dets.boxes.copy()
    boxes[:, [0, 2]] = (boxes[:, [0, 2]] - left) / sx
    boxes[:, [1, 3]] = (boxes[:, [1, 3]] - top) / sy
    kps = dets.keypoints.copy()
    kps[..., 0] = (kps[..., 0] - left) / sx
    kps[..., 1] = (kps[..., 1] - top) / sy
    return RawDetections(boxes, kps, dets.scores)


@dataclass
class Detection:
    """One BlazePose person detection in image pixels.

    ``box_xyxy``: the axis-aligned box around the rotated full-body square (what a person box
    means to posetool); ``face_box_xyxy``: the box the model regresses (MediaPipe's detection
    box is the face); ``keypoints``: (4, 2) mid-hip, full-body scale point, mid-shoulder,
    upper-body scale point; ``roi``: the landmark model's region (see
    :func:`posetool.detect.roi.detection_roi`).
    """

    box_xyxy: np.ndarray
    score: float
    keypoints: np.ndarray
    roi: RotatedRect
    face_box_xyxy: np.ndarray = field(default_factory=lambda: np.zeros(4))


# --- runners ----------------------------------------------------------------------------------

class BlazePoseDetector:
    """MediaPipe's pose detector on a batch of images.

    ``detect(images)`` takes (H, W, 3) uint8 images (BGR as OpenCV decodes them, or RGB with
    ``bgr=False``) and returns, per image, the :class:`Detection` list sorted by score.

    Args:
        module: the converted ``pose_detection.tflite`` network (NCHW in, boxes and scores out).
        device: where ``module`` lives.
        weights_sha256: provenance of the weights, recorded by the detect stage.
    """

    def __init__(self, module: Any, device: Any = "cpu", batch_size: int = 8, min_score: float = MIN_SCORE,
                 nms_iou: float = NMS_IOU, weights_sha256: str | None = None) -> None:
        self.module = module
        self.device = device
        self.batch_size = batch_size
        self.min_score = min_score
        self.nms_iou = nms_iou
        self.anchors = ssd_anchors()
        self.weights_sha256 = weights_sha256

    @classmethod
    def from_loaded(cls, loaded: LoadedModel, batch_size: int = 8, min_score: float = MIN_SCORE,
                    nms_iou: float = NMS_IOU) -> BlazePoseDetector:
        """The detector around a model from :func:`posetool.hub.loader.load_model` (``blazepose``)."""
        return cls(loaded.module, loaded.device, batch_size, min_score, nms_iou, loaded.weights_sha256)

    def preprocess(self, image_rgb: np.ndarray) -> tuple[np.ndarray, tuple[float, float, float, float]]:
        """(H, W, 3) RGB uint8 → (224, 224, 3) float32 in [-1, 1] and the letterbox padding."""
        h, w = image_rgb.shape[:2]
        roi, padding = pad_roi(RotatedRect(w / 2, h / 2, float(w), float(h)), DETECTOR_SIZE, DETECTOR_SIZE)
        crop = crop_rotated(image_rgb, roi, DETECTOR_SIZE, DETECTOR_SIZE, border_zero=True)
        return crop.astype(np.float32) * (2.0 / 255.0) - 1.0, padding

    def run_network(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(B, 224, 224, 3) float32 → raw boxes (B, 2254, 12) and score logits (B, 2254, 1)."""
        import torch

        x = torch.from_numpy(batch).to(self.device).permute(0, 3, 1, 2)
        with torch.inference_mode():
            boxes, scores = self.module(x)
        return boxes.float().cpu().numpy(), scores.float().cpu().numpy()

    def postprocess(self, raw_boxes: np.ndarray, raw_scores: np.ndarray, padding, width: int,
                    height: int) -> list[Detection]:
        """Decoding, weighted NMS, letterbox removal and ROIs for one image."""
        dets = decode_detections(raw_boxes, raw_scores, self.anchors, self.min_score)
        dets = remove_letterbox(weighted_nms(dets, self.nms_iou), padding)
        out = []
        for box, kps, score in zip(dets.boxes, dets.keypoints, dets.scores):
            kps_px = kps * [width, height]
            body, roi = detection_roi(kps_px)
            corners = body.corners()
            out.append(Detection(
                box_xyxy=np.concatenate([corners.min(0), corners.max(0)]), score=float(score), keypoints=kps_px,
                roi=roi, face_box_xyxy=box * [width, height, width, height]))
        return out

    def detect(self, images: list[np.ndarray], bgr: bool = True) -> list[list[Detection]]:
        """Detections per image, in batches of ``batch_size`` images."""
        results: list[list[Detection]] = []
        for start in range(0, len(images), self.batch_size):
            chunk = [to_rgb(im, bgr) for im in images[start:start + self.batch_size]]
            prepped = [self.preprocess(im) for im in chunk]
            boxes, scores = self.run_network(np.stack([p[0] for p in prepped]))
            for im, (_, padding), b, s in zip(chunk, prepped, boxes, scores):
                results.append(self.postprocess(b, s, padding, im.shape[1], im.shape[0]))
        return results


class BlazePoseDetectBackend:
    """Adapter to the ``posetool detect`` backend interface (``detect(frames) -> [Detections]``).

    Boxes are the full-body boxes of :class:`Detection`; each instance carries the MediaPipe
    extras ``blazepose_roi`` (centre, size, rotation) and ``blazepose_keypoints`` (4 × 2) so that
    ``pose2d --model blazepose_full`` can crop exactly as MediaPipe.
    """

    default_score_thr = MIN_SCORE
    # No second NMS: MediaPipe's weighted NMS (IoU 0.3 on the face boxes) has already merged
    # duplicates, and the boxes reported here are full-body squares (as wide as the person is
    # tall) that overlap by IoU > 0.5 for two people walking side by side, so the stage's
    # generic IoU-0.5 box NMS dropped the second of them.
    default_nms_thr = None

    def __init__(self, detector: BlazePoseDetector, name: str = "blazepose") -> None:
        self.detector = detector
        self.name = name
        self.weights_sha256 = detector.weights_sha256
        self.batch_size = detector.batch_size

    @classmethod
    def from_loaded(cls, loaded: LoadedModel, batch_size: int = 8) -> BlazePoseDetectBackend:
        """The backend :func:`posetool.detect.backends.build_detector` builds (the spec's runner)."""
        return cls(BlazePoseDetector.from_loaded(loaded, batch_size=batch_size), loaded.spec.name)

    def detect(self, frames: list[Any]) -> list[Detections]:
        """Boxes, scores and MediaPipe extras per frame (:class:`posetool.video.sources.Frame`)."""
        out = []
        for dets in self.detector.detect([f.image for f in frames]):
            if not dets:
                out.append(Detections.empty())
                continue
            out.append(Detections(
                np.array([d.box_xyxy for d in dets], dtype=np.float64), np.array([d.score for d in dets]),
                extras=[{"blazepose_roi": d.roi.to_dict(), "blazepose_keypoints": d.keypoints.tolist()} for d in dets]))
        return out
