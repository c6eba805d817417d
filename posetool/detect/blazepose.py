"""MediaPipe BlazePose (detector + full landmark model) as MediaPipe's CPU graphs define it.

The two networks are MediaPipe's own ``.tflite`` files converted to PyTorch on load
(:mod:`posetool.nn.tflite`); everything around them follows the MediaPipe 0.10 graphs
``pose_detection_cpu.pbtxt``, ``pose_detection_to_roi.pbtxt``, ``pose_landmark_by_roi_cpu.pbtxt``
and ``tensors_to_pose_landmarks_and_segmentation.pbtxt``:

1. detector input: the whole image, letterboxed (keep aspect ratio, zero border) to 224×224 RGB,
   values in [-1, 1];
2. 2254 SSD anchors (5 layers, strides 8/16/32/32/32, fixed size 1), boxes decoded as
   x, y, w, h / 224 around the anchor centre, 4 keypoints the same way; scores clipped to ±100
   and passed through a sigmoid, kept at ≥ 0.5; weighted NMS at IoU 0.3; letterbox removed;
3. detection → region of interest: centre at keypoint 0 (mid-hip), side = 2 × |kp1 − kp0|,
   rotation = 90° − angle(kp0 → kp1), then side × 1.25 (square in pixels);
4. landmark input: that rotated square sampled to 256×256 RGB (bilinear, replicated border),
   values in [0, 1];
5. 39 landmarks × (x, y, z, visibility, presence) in crop pixels → normalised, visibility and
   presence through a sigmoid, x/y refined from the 64×64 heatmap (7×7 window, sigmoid
   confidences ≥ 0.5), projected back through the rotated ROI; world landmarks (metres, hip
   origin) rotated by the ROI angle; the first 33 are the pose, mapped to coco17 with
   :func:`posetool.skeletons.map_keypoints`.

Image coordinates are pixels with the origin at the top-left corner of the top-left pixel, as
MediaPipe's normalised coordinates times the image size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

DETECTOR_SIZE = 224
LANDMARK_SIZE = 256
NUM_POSE_LANDMARKS = 33
NUM_ALL_LANDMARKS = 39
HEATMAP_KERNEL = 7
# pose_detection_cpu.pbtxt: SsdAnchorsCalculatorOptions and TensorsToDetectionsCalculatorOptions.
ANCHOR_OPTIONS = {
    "num_layers": 5, "min_scale": 0.1484375, "max_scale": 0.75, "input_size": (224, 224),
    "anchor_offset": (0.5, 0.5), "strides": (8, 16, 32, 32, 32), "aspect_ratios": (1.0,),
    "fixed_anchor_size": True, "interpolated_scale_aspect_ratio": 1.0, "reduce_boxes_in_lowest_layer": False,
}
SCORE_CLIP = 100.0
MIN_SCORE = 0.5
NMS_IOU = 0.3
ROI_SCALE = 1.25


# --- geometry ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class RotatedRect:
    """A region of interest in image pixels: centre, size and rotation (radians, clockwise on screen)."""

    cx: float
    cy: float
    width: float
    height: float
    rotation: float = 0.0

    def to_dict(self) -> dict:
        return {"center": [self.cx, self.cy], "size": [self.width, self.height], "rotation": self.rotation}

    def corners(self) -> np.ndarray:
        """(4, 2) corners: top-left, top-right, bottom-right, bottom-left of the unrotated rect, rotated."""
        c, s = math.cos(self.rotation), math.sin(self.rotation)
        half = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], dtype=np.float64) * [self.width / 2, self.height / 2]
        rot = np.array([[c, -s], [s, c]])
        return half @ rot.T + [self.cx, self.cy]


def normalize_radians(angle: float) -> float:
    """Wrap to [-pi, pi) as MediaPipe's NormalizeRadians."""
    return angle - 2 * math.pi * math.floor((angle + math.pi) / (2 * math.pi))


def pad_roi(roi: RotatedRect, out_w: int, out_h: int) -> tuple[RotatedRect, tuple[float, float, float, float]]:
    """Grow ``roi`` to the tensor's aspect ratio (ImageToTensor ``keep_aspect_ratio``).

    Returns the padded ROI and the letterbox padding (left, top, right, bottom) as fractions of
    the tensor.
    """
    tensor_ar = out_h / out_w
    roi_ar = roi.height / roi.width
    if tensor_ar > roi_ar:
        vertical = (1.0 - roi_ar / tensor_ar) / 2.0
        padded = RotatedRect(roi.cx, roi.cy, roi.width, roi.width * tensor_ar, roi.rotation)
        return padded, (0.0, vertical, 0.0, vertical)
    horizontal = (1.0 - tensor_ar / roi_ar) / 2.0
    padded = RotatedRect(roi.cx, roi.cy, roi.height / tensor_ar, roi.height, roi.rotation)
    return padded, (horizontal, 0.0, horizontal, 0.0)


def crop_rotated(image_rgb: np.ndarray, roi: RotatedRect, out_w: int, out_h: int, border_zero: bool) -> np.ndarray:
    """Sample ``roi`` of an (H, W, 3) uint8 image into (out_h, out_w, 3) uint8.

    As MediaPipe's OpenCV ImageToTensor converter: the rotated rect's corners (cv2.boxPoints) map
    to the output's corners by a perspective transform, bilinear sampling, zero or replicated border.
    """
    import cv2

    box = cv2.boxPoints(((roi.cx, roi.cy), (roi.width, roi.height), math.degrees(roi.rotation)))
    dst = np.array([[0, out_h], [0, 0], [out_w, 0], [out_w, out_h]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(box.astype(np.float32), dst)
    border = cv2.BORDER_CONSTANT if border_zero else cv2.BORDER_REPLICATE
    return cv2.warpPerspective(image_rgb, matrix, (out_w, out_h), flags=cv2.INTER_LINEAR, borderMode=border,
                               borderValue=(0, 0, 0))


def roi_from_box(box_xyxy, scale: float = ROI_SCALE) -> RotatedRect:
    """An upright square ROI for a person box from any detector: the box's long side × ``scale``.

    MediaPipe derives its ROI from the detector's keypoints; this is posetool's equivalent for
    plain boxes (centre of the box, no rotation), with the same 1.25 margin.
    """
    x1, y1, x2, y2 = (float(v) for v in box_xyxy)
    side = max(x2 - x1, y2 - y1) * scale
    return RotatedRect((x1 + x2) / 2, (y1 + y2) / 2, side, side, 0.0)


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


def detection_roi(keypoints_px: np.ndarray, scale: float = ROI_SCALE) -> tuple[RotatedRect, RotatedRect]:
    """AlignmentPointsRectsCalculator + RectTransformationCalculator for the full body.

    Args:
        keypoints_px: (4, 2) detector keypoints in image pixels (0 mid-hip, 1 full-body scale point).

    Returns:
        (body, roi): the square through the scale point (side 2·|kp1 − kp0|) and the landmark
        model's ROI (that side × ``scale``), both centred at the mid-hip and rotated so that the
        hip → scale-point direction points up in the crop.
    """
    (x0, y0), (x1, y1) = keypoints_px[0], keypoints_px[1]
    side = math.hypot(x1 - x0, y1 - y0) * 2.0
    rotation = normalize_radians(math.pi / 2 - math.atan2(-(y1 - y0), x1 - x0))
    body = RotatedRect(float(x0), float(y0), side, side, rotation)
    return body, RotatedRect(float(x0), float(y0), side * scale, side * scale, rotation)


@dataclass
class Detection:
    """One BlazePose person detection in image pixels.

    ``box_xyxy``: the axis-aligned box around the rotated full-body square (what a person box
    means to posetool); ``face_box_xyxy``: the box the model regresses (MediaPipe's detection
    box is the face); ``keypoints``: (4, 2) mid-hip, full-body scale point, mid-shoulder,
    upper-body scale point; ``roi``: the landmark model's region (see :func:`detection_roi`).
    """

    box_xyxy: np.ndarray
    score: float
    keypoints: np.ndarray
    roi: RotatedRect
    face_box_xyxy: np.ndarray = field(default_factory=lambda: np.zeros(4))


# --- landmarks --------------------------------------------------------------------------------

def refine_from_heatmap(xy: np.ndarray, heatmap: np.ndarray, kernel: int = HEATMAP_KERNEL,
                        min_confidence: float = 0.5) -> np.ndarray:
    """RefineLandmarksFromHeatmapCalculator.

    Args:
        xy: (N, L, 2) normalised landmark coordinates; heatmap: (N, h, w, L) logits.

    Returns:
        (N, L, 2): where the landmark's heatmap cell lies inside the map and the window's highest
        sigmoid confidence is ≥ ``min_confidence``, the confidence-weighted mean cell (col / w,
        row / h) of the ``kernel``² window (clipped at the edges); elsewhere the input.
    """
    n, hh, ww, nl = heatmap.shape
    off = (kernel - 1) // 2
    conf = 1.0 / (1.0 + np.exp(-heatmap.astype(np.float64)))
    # Zero confidence outside the map: equivalent to MediaPipe's clipped window.
    padded = np.pad(conf, ((0, 0), (off, off), (off, off), (0, 0)))
    col = np.trunc(xy[..., 0] * ww).astype(np.int64)  # C++ int conversion truncates toward zero
    row = np.trunc(xy[..., 1] * hh).astype(np.int64)
    inside = (col >= 0) & (col < ww) & (row >= 0) & (row < hh)
    col_c, row_c = np.clip(col, 0, ww - 1), np.clip(row, 0, hh - 1)
    d = np.arange(-off, off + 1)
    rows = row_c[..., None, None] + d[:, None]  # (N, L, k, 1)
    cols = col_c[..., None, None] + d[None, :]  # (N, L, 1, k)
    b = np.arange(n)[:, None, None, None]
    lm = np.arange(nl)[None, :, None, None]
    window = padded[b, rows + off, cols + off, lm]  # (N, L, k, k)
    total = window.sum(axis=(2, 3))
    peak = window.max(axis=(2, 3))
    safe = np.where(total > 0, total, 1.0)
    mean_col = (window * cols).sum(axis=(2, 3)) / safe
    mean_row = (window * rows).sum(axis=(2, 3)) / safe
    refine = inside & (peak >= min_confidence) & (total > 0)
    out = xy.astype(np.float64).copy()
    out[..., 0] = np.where(refine, mean_col / ww, out[..., 0])
    out[..., 1] = np.where(refine, mean_row / hh, out[..., 1])
    return out


def decode_landmarks(raw_landmarks: np.ndarray, heatmap: np.ndarray, raw_world: np.ndarray,
                     rois: list[RotatedRect], size: int = LANDMARK_SIZE) -> tuple[np.ndarray, np.ndarray]:
    """Landmark-model outputs of N crops → image landmarks and world landmarks.

    Args:
        raw_landmarks: (N, 195) model output 0 (39 × x, y, z, visibility, presence in crop pixels,
            logits for the last two); heatmap: (N, 64, 64, 39) output 3; raw_world: (N, 117) output 4.
        rois: the N regions the crops were sampled from (before letterbox padding).

    Returns:
        landmarks (N, 33, 5): x, y (image pixels), z (pixels, same scale as x, hip-relative depth),
        visibility, presence (probabilities); world (N, 33, 3): metres, rotated back into the image
        frame (x right, y down), origin between the hips.
    """
    n = raw_landmarks.shape[0]
    lm = raw_landmarks.reshape(n, NUM_ALL_LANDMARKS, 5).astype(np.float64)
    xy = lm[..., :2] / size
    z = lm[..., 2] / size
    vis = 1.0 / (1.0 + np.exp(-lm[..., 3]))
    pres = 1.0 / (1.0 + np.exp(-lm[..., 4]))
    xy = refine_from_heatmap(xy, heatmap)
    out = np.zeros((n, NUM_POSE_LANDMARKS, 5))
    world = raw_world.reshape(n, NUM_ALL_LANDMARKS, 3)[:, :NUM_POSE_LANDMARKS].astype(np.float64)
    world_out = world.copy()
    for i, roi in enumerate(rois):
        _, (left, top, right, bottom) = pad_roi(roi, size, size)
        sx, sy = 1.0 - left - right, 1.0 - top - bottom
        x = (xy[i, :NUM_POSE_LANDMARKS, 0] - left) / sx - 0.5
        y = (xy[i, :NUM_POSE_LANDMARKS, 1] - top) / sy - 0.5
        c, s = math.cos(roi.rotation), math.sin(roi.rotation)
        out[i, :, 0] = (c * x - s * y) * roi.width + roi.cx
        out[i, :, 1] = (s * x + c * y) * roi.height + roi.cy
        out[i, :, 2] = z[i, :NUM_POSE_LANDMARKS] / sx * roi.width
        out[i, :, 3] = vis[i, :NUM_POSE_LANDMARKS]
        out[i, :, 4] = pres[i, :NUM_POSE_LANDMARKS]
        world_out[i, :, 0] = c * world[i, :, 0] - s * world[i, :, 1]
        world_out[i, :, 1] = s * world[i, :, 0] + c * world[i, :, 1]
    return out, world_out


@dataclass
class PoseResult:
    """Landmarks of the people of one image.

    landmarks: (K, 33, 5) x, y, z (pixels), visibility, presence; world: (K, 33, 3) metres;
    score: (K,) pose presence (the model's flag, a probability; MediaPipe drops poses < 0.5);
    coco17: (K, 17, 3) x, y, confidence (= visibility); rois: the K regions.
    """

    landmarks: np.ndarray
    world: np.ndarray
    score: np.ndarray
    coco17: np.ndarray
    rois: list[RotatedRect]


# --- runners ----------------------------------------------------------------------------------

def build_module(input_shape: tuple[int, ...], num_outputs: int, **_unused):
    """Builder for the zoo: an empty :class:`~posetool.nn.tflite.converter.TFLiteWeightsModule`.

    The shared loader fills it from the ``.tflite`` file.
    """
    from posetool.nn.tflite.converter import TFLiteWeightsModule

    return TFLiteWeightsModule(input_shape, num_outputs)


def _to_rgb(image: np.ndarray, bgr: bool) -> np.ndarray:
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) uint8 image, got {image.dtype} {image.shape}")
    return np.ascontiguousarray(image[..., ::-1]) if bgr else image


class BlazePoseDetector:
    """MediaPipe's pose detector on a batch of images.

    ``detect(images)`` takes (H, W, 3) uint8 images (BGR as OpenCV decodes them, or RGB with
    ``bgr=False``) and returns, per image, the :class:`Detection` list sorted by score.
    """

    def __init__(self, device: str = "auto", weights: str | None = None, batch_size: int = 8,
                 min_score: float = MIN_SCORE, nms_iou: float = NMS_IOU, model: str = "blazepose"):
        from posetool.hub.loader import load_model

        self.loaded = load_model(model, task="detect", weights=weights, device=device)
        self.batch_size = batch_size
        self.min_score = min_score
        self.nms_iou = nms_iou
        self.anchors = ssd_anchors()
        self.weights_sha256 = self.loaded.weights_sha256

    def preprocess(self, image_rgb: np.ndarray) -> tuple[np.ndarray, tuple[float, float, float, float]]:
        """(H, W, 3) RGB uint8 → (224, 224, 3) float32 in [-1, 1] and the letterbox padding."""
        h, w = image_rgb.shape[:2]
        roi, padding = pad_roi(RotatedRect(w / 2, h / 2, float(w), float(h)), DETECTOR_SIZE, DETECTOR_SIZE)
        crop = crop_rotated(image_rgb, roi, DETECTOR_SIZE, DETECTOR_SIZE, border_zero=True)
        return crop.astype(np.float32) * (2.0 / 255.0) - 1.0, padding

    def run_network(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(B, 224, 224, 3) float32 → raw boxes (B, 2254, 12) and score logits (B, 2254, 1)."""
        import torch

        x = torch.from_numpy(batch).to(self.loaded.device).permute(0, 3, 1, 2)
        with torch.inference_mode():
            boxes, scores = self.loaded.module(x)
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
        results: list[list[Detection]] = []
        for start in range(0, len(images), self.batch_size):
            chunk = [_to_rgb(im, bgr) for im in images[start:start + self.batch_size]]
            prepped = [self.preprocess(im) for im in chunk]
            boxes, scores = self.run_network(np.stack([p[0] for p in prepped]))
            for im, (_, padding), b, s in zip(chunk, prepped, boxes, scores):
                results.append(self.postprocess(b, s, padding, im.shape[1], im.shape[0]))
        return results


class BlazePoseLandmarks:
    """MediaPipe's full pose landmark model on rotated regions of images, batched across crops.

    ``estimate(images, rois)``: ``rois[i]`` lists the :class:`RotatedRect` regions of
    ``images[i]`` (from :class:`BlazePoseDetector` or :func:`roi_from_box`); returns one
    :class:`PoseResult` per image.
    """

    def __init__(self, device: str = "auto", weights: str | None = None, batch_size: int = 8,
                 model: str = "blazepose_full"):
        from posetool.hub.loader import load_model

        self.loaded = load_model(model, task="pose2d", weights=weights, device=device)
        self.batch_size = batch_size
        self.weights_sha256 = self.loaded.weights_sha256

    @staticmethod
    def preprocess(image_rgb: np.ndarray, roi: RotatedRect) -> np.ndarray:
        """The (256, 256, 3) float32 crop in [0, 1] of ``roi`` (letterboxed if not square)."""
        padded, _ = pad_roi(roi, LANDMARK_SIZE, LANDMARK_SIZE)
        crop = crop_rotated(image_rgb, padded, LANDMARK_SIZE, LANDMARK_SIZE, border_zero=False)
        return crop.astype(np.float32) * (1.0 / 255.0)

    def run_network(self, crops: np.ndarray) -> tuple[np.ndarray, ...]:
        """(B, 256, 256, 3) float32 → the five outputs (landmarks, flag, segmentation, heatmap, world)."""
        import torch

        x = torch.from_numpy(crops).to(self.loaded.device).permute(0, 3, 1, 2)
        with torch.inference_mode():
            outs = self.loaded.module(x)
        return tuple(o.float().cpu().numpy() for o in outs)

    def estimate(self, images: list[np.ndarray], rois: list[list[RotatedRect]], bgr: bool = True) -> list[PoseResult]:
        from posetool.skeletons import map_keypoints

        if len(images) != len(rois):
            raise ValueError(f"estimate: {len(images)} images but {len(rois)} ROI lists")
        jobs = [(i, roi) for i, rs in enumerate(rois) for roi in rs]
        rgb: dict[int, np.ndarray] = {}
        lms, worlds, scores = [], [], []
        for start in range(0, len(jobs), self.batch_size):
            chunk = jobs[start:start + self.batch_size]
            crops = []
            for i, roi in chunk:
                if i not in rgb:
                    rgb.clear()
                    rgb[i] = _to_rgb(images[i], bgr)
                crops.append(self.preprocess(rgb[i], roi))
            raw, flag, _seg, heatmap, raw_world = self.run_network(np.stack(crops))
            lm, world = decode_landmarks(raw, heatmap, raw_world, [r for _, r in chunk])
            lms.append(lm)
            worlds.append(world)
            scores.append(flag.reshape(-1).astype(np.float64))
        all_lm = np.concatenate(lms) if lms else np.zeros((0, NUM_POSE_LANDMARKS, 5))
        all_world = np.concatenate(worlds) if worlds else np.zeros((0, NUM_POSE_LANDMARKS, 3))
        all_score = np.concatenate(scores) if scores else np.zeros(0)
        results, k = [], 0
        for rs in rois:
            sl = slice(k, k + len(rs))
            lm = all_lm[sl]
            coco = map_keypoints(lm[..., [0, 1, 3]], "blazepose33", "coco17") if len(rs) else np.zeros((0, 17, 3))
            results.append(PoseResult(lm, all_world[sl], all_score[sl], coco, list(rs)))
            k += len(rs)
        return results


class BlazePoseDetectBackend:
    """Adapter to the ``posetool detect`` backend interface (``detect(frames) -> [Detections]``).

    Boxes are the full-body boxes of :class:`Detection`; each instance carries the MediaPipe
    extras ``blazepose_roi`` (centre, size, rotation) and ``blazepose_keypoints`` (4 × 2) so that
    ``pose2d --model blazepose_full`` can crop exactly as MediaPipe.
    """

    default_score_thr = MIN_SCORE

    def __init__(self, model: str = "blazepose", device: str = "auto", weights: str | None = None,
                 batch_size: int = 8):
        self.detector = BlazePoseDetector(device=device, weights=weights, batch_size=batch_size, model=model)
        self.name = model
        self.weights_sha256 = self.detector.weights_sha256
        self.batch_size = batch_size

    def detect(self, frames) -> list:
        from posetool.detect.boxes import Detections

        out = []
        for dets in self.detector.detect([f.image for f in frames]):
            if not dets:
                out.append(Detections.empty())
                continue
            out.append(Detections(
                np.array([d.box_xyxy for d in dets], dtype=np.float64), np.array([d.score for d in dets]),
                extras=[{"blazepose_roi": d.roi.to_dict(), "blazepose_keypoints": d.keypoints.tolist()} for d in dets]))
        return out
