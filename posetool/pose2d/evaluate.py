"""COCO keypoint AP of a top-down model on a keypoint dataset, with ground-truth boxes.

This is the official ``TEST.USE_GT_BBOX: true`` protocol: every annotated person's sanitised box
(score 1) goes through the full test pipeline (flip test, decoding, rescoring, OKS-NMS per
image) and the results are scored by pycocotools' ``COCOeval`` through :mod:`posetool.eval.coco`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import numpy as np

from posetool.data.coco import keypoint_category, read_coco_json
from posetool.data.coco_keypoints import KeypointDataset
from posetool.pose2d.estimator import TopDownEstimator


def gt_box_results(estimator: TopDownEstimator, dataset: KeypointDataset) -> list[dict[str, Any]]:
    """COCO results (``image_id``, ``category_id``, ``keypoints``, ``score``) for every GT box."""
    by_image: dict[Any, list] = defaultdict(list)
    keys: dict[Any, Any] = {}
    for s in dataset.samples:
        by_image[s.image_id].append(s)
        keys[s.image_id] = s.key
    cat = keypoint_category(read_coco_json(dataset.gt_path))["id"]

    def items() -> Iterator[tuple[Any, np.ndarray, np.ndarray, None]]:
        for image_id, samples in by_image.items():
            boxes = np.array([[x, y, x + w, y + h] for x, y, w, h in (s.bbox for s in samples)], dtype=np.float64)
            yield image_id, dataset.image(keys[image_id]), boxes, None

    results = []
    for image_id, res in estimator.estimate_many(items()):
        for n in res.keep:
            results.append({
                "image_id": image_id,
                "category_id": cat,
                "keypoints": [round(float(v), 3) for v in res.keypoints[n].ravel()],
                "score": float(res.scores[n]),
            })
    return results


def evaluate_gt_boxes(estimator: TopDownEstimator, dataset: KeypointDataset) -> dict[str, Any]:
    """``{"stats": [AP, AP50, AP75, APm, APl, AR, …], "detections": n}`` on ``dataset`` with GT boxes."""
    from posetool.eval.coco import evaluate_coco_keypoints

    return evaluate_coco_keypoints(str(dataset.gt_path), gt_box_results(estimator, dataset))
