"""COCO keypoint AP/AR through pycocotools' ``COCOeval`` (iouType ``keypoints``).

The 10 stats are ``COCOeval.stats``: AP@[.5:.95], AP@.5, AP@.75, AP (medium), AP (large),
AR@[.5:.95], AR@.5, AR@.75, AR (medium), AR (large), with up to 20 detections per image.

Predictions are a COCO results list (``image_id``, ``category_id``, ``keypoints``, ``score``)
or a pose stream. Stream frames become results on the GT image of that frame
(:mod:`posetool.eval.frames`); keypoints are converted to coco17 when the stream uses another
layout with a mapping; null keypoints become (0, 0), far from any GT point; the detection score
is the instance ``score`` or, without one, the mean keypoint confidence. pycocotools prints
its progress on stdout; it is dropped here (stdout holds only our output), or sent to stderr
under ``--debug``. Results name each stat (:data:`KEYPOINT_METRICS`, :data:`BOX_METRICS`).
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Any

import numpy as np

from posetool.data.coco import check_keypoint_dataset, keypoint_category, read_coco_json
from posetool.errors import PosetoolError
from posetool.eval.frames import frames_of_images
from posetool.skeletons import has_mapping, map_keypoints
from posetool.stream.encoding import points_array


# The names of COCOeval.stats, in its order (s/m/l: small/medium/large areas; AR1/10/100: at most
# that many detections per image).
KEYPOINT_METRICS = ("AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75", "ARm", "ARl")
BOX_METRICS = ("AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl")


def _stream_results(path: str, gt: dict[str, Any], cat_id: int) -> list[dict[str, Any]]:
    from posetool.stream import StreamReader

    image_of_frame = {f: iid for iid, f in frames_of_images(gt["images"], "ground truth").items()}
    reader = StreamReader(path)
    skeleton = reader.header.get("skeleton")
    if skeleton is None or not has_mapping(skeleton, "coco17"):
        raise PosetoolError(f"{path}: stream skeleton {skeleton!r} has no mapping to coco17; COCO evaluation needs coco17 keypoints")
    results: list[dict[str, Any]] = []
    n_frames = 0
    for rec in reader.frames():
        n_frames += 1
        iid = image_of_frame.get(int(rec["frame"]))
        if iid is None:
            continue  # a frame without ground truth is not evaluated
        for inst in rec.get("instances") or []:
            if inst.get("keypoints") is None:
                continue
            kps = points_array(inst["keypoints"])
            if skeleton != "coco17":
                kps = map_keypoints(kps, skeleton, "coco17")
            score = inst.get("score")
            if score is None:
                conf = kps[:, 2][np.isfinite(kps[:, 2])]
                score = float(conf.mean()) if len(conf) else 0.0
            kps = np.nan_to_num(kps, nan=0.0)
            results.append({"image_id": iid, "category_id": cat_id, "keypoints": kps.reshape(-1).tolist(), "score": float(score)})
    late = sorted(f for f in image_of_frame if f >= n_frames)
    if late:
        raise PosetoolError(
            f"{path} has {n_frames} frames but the ground truth has images for frames up to {late[-1]} "
            f"({len(late)} images beyond the stream); evaluate a stream of the same video"
        )
    return results


def load_coco_predictions(pred: str, gt_path: str) -> list[dict[str, Any]]:
    """A COCO results list from a results JSON or a pose stream (checked against the GT images)."""
    gt = check_keypoint_dataset(read_coco_json(gt_path), gt_path)
    cat_id = keypoint_category(gt)["id"]
    if Path(pred).suffix.lower() == ".json":
        res = read_coco_json(pred)
        if not isinstance(res, list):
            raise PosetoolError(f"{pred}: a COCO results file is a JSON list of detections")
        ids = {im["id"] for im in gt["images"]}
        for k, r in enumerate(res):
            if not isinstance(r, dict) or not all(f in r for f in ("image_id", "keypoints", "score")):
                raise PosetoolError(f"{pred}: result {k} needs image_id, keypoints and score")
            if r["image_id"] not in ids:
                raise PosetoolError(f"{pred}: result {k} is for image {r['image_id']!r}, which {gt_path} does not have")
            if len(r["keypoints"]) != 3 * len(keypoint_category(gt)["keypoints"]):
                raise PosetoolError(f"{pred}: result {k} has {len(r['keypoints'])} keypoint numbers, expected "
                                    f"{3 * len(keypoint_category(gt)['keypoints'])}")
            r.setdefault("category_id", cat_id)
        return res
    return _stream_results(pred, gt, cat_id)


def evaluate_coco_keypoints(gt_path: str, results: list[dict[str, Any]]) -> dict[str, Any]:
    """Run ``COCOeval(gt, dt, "keypoints")``; returns ``{"metrics": {name: fraction or None}, "stats":
    [10 floats, -1 undefined], "images", "detections"}`` (names: :data:`KEYPOINT_METRICS`)."""
    if not results:
        raise PosetoolError("no predicted keypoints on any ground-truth image; nothing to evaluate")
    gt = check_keypoint_dataset(read_coco_json(gt_path), gt_path)
    return _run_cocoeval(gt, results, "keypoints")


def load_coco_box_predictions(pred: str, gt_path: str) -> list[dict[str, Any]]:
    """Person-box results (``image_id``, ``category_id``, ``bbox`` [x, y, w, h], ``score``) from a
    COCO results JSON or the ``bbox`` of each instance of a pose stream."""
    gt = read_coco_json(gt_path)
    if not isinstance(gt, dict) or "images" not in gt or "annotations" not in gt:
        raise PosetoolError(f"{gt_path}: not a COCO dataset (needs 'images' and 'annotations')")
    cat_id = (gt.get("categories") or [{"id": 1}])[0]["id"]
    if Path(pred).suffix.lower() == ".json":
        res = read_coco_json(pred)
        if not isinstance(res, list) or not all(isinstance(r, dict) and {"image_id", "bbox", "score"} <= set(r) for r in res):
            raise PosetoolError(f"{pred}: a COCO box results file is a JSON list of {{image_id, bbox, score}}")
        return [dict(r, category_id=r.get("category_id", cat_id)) for r in res]
    from posetool.stream import StreamReader

    image_of_frame = {f: iid for iid, f in frames_of_images(gt["images"], gt_path).items()}
    results = []
    for rec in StreamReader(pred).frames():
        iid = image_of_frame.get(int(rec["frame"]))
        for inst in rec.get("instances") or []:
            box = inst.get("bbox")
            if iid is None or box is None:
                continue
            x1, y1, x2, y2 = box
            results.append({"image_id": iid, "category_id": cat_id, "bbox": [x1, y1, x2 - x1, y2 - y1],
                            "score": float(inst.get("score") if inst.get("score") is not None else 1.0)})
    return results


def evaluate_coco_boxes(gt_path: str, results: list[dict[str, Any]]) -> dict[str, Any]:
    """Run ``COCOeval(gt, dt, "bbox")`` (person boxes); the 12 standard box stats, named as in
    :data:`BOX_METRICS` under ``"metrics"`` (like :func:`evaluate_coco_keypoints`)."""
    if not results:
        raise PosetoolError("no predicted boxes on any ground-truth image; nothing to evaluate")
    return _run_cocoeval(read_coco_json(gt_path), results, "bbox")


def _run_cocoeval(gt: dict[str, Any], results: list[dict[str, Any]], iou_type: str) -> dict[str, Any]:
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(sys.stderr if _debug() else _Null()):
        coco = COCO()
        coco.dataset = gt
        coco.createIndex()
        dt = coco.loadRes([dict(r) for r in results])
        ev = COCOeval(coco, dt, iou_type)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    stats = [float(s) for s in ev.stats]
    names = KEYPOINT_METRICS if iou_type == "keypoints" else BOX_METRICS
    # pycocotools writes -1 for a stat with nothing to measure (no large people): null, not a score.
    metrics = {name: (None if v < 0 else v) for name, v in zip(names, stats)}
    return {"metrics": metrics, "stats": stats, "images": len(gt["images"]), "detections": len(results)}


def _debug() -> bool:
    from posetool.console import is_debug

    return is_debug()


class _Null:
    def write(self, s: str) -> int:
        return len(s)

    def flush(self) -> None:
        pass
