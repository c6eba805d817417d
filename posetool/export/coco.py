"""COCO keypoint results (``[{image_id, category_id, keypoints, score, bbox, track_id}]``).

Image ids: frame + 1 by default (as ``posetool synth``'s ``gt_coco.json``), or, with ``gt``, the
ids of that COCO file's images matched by :mod:`posetool.eval.frames`. Missing keypoints are
written as (0, 0, 0).
"""

from __future__ import annotations

import numpy as np

from posetool.export.common import keypoints_as, write_json
from posetool.stream import StreamReader


def export_coco(reader: StreamReader, output: str, gt: str | None = None, **_: object) -> int:
    image_of_frame = None
    if gt:
        from posetool.data.coco import read_coco_json
        from posetool.eval.frames import frames_of_images

        image_of_frame = {f: iid for iid, f in frames_of_images(read_coco_json(gt)["images"], gt).items()}
    skeleton = reader.header.get("skeleton")
    results = []
    for frame in reader.frames():
        iid = frame["frame"] + 1 if image_of_frame is None else image_of_frame.get(frame["frame"])
        if iid is None:
            continue
        for inst in frame["instances"]:
            kps = keypoints_as(inst, skeleton, "coco17")
            if kps is None:
                continue
            conf = kps[:, 2][np.isfinite(kps[:, 2])]
            score = inst.get("score")
            res = {"image_id": iid, "category_id": 1,
                   "keypoints": np.nan_to_num(kps, nan=0.0).reshape(-1).round(3).tolist(),
                   "score": float(score if score is not None else (conf.mean() if len(conf) else 0.0))}
            if inst.get("bbox") is not None:
                x1, y1, x2, y2 = inst["bbox"]
                res["bbox"] = [x1, y1, x2 - x1, y2 - y1]
            if inst.get("track_id") is not None:
                res["track_id"] = inst["track_id"]
            results.append(res)
    write_json(output, results)
    return len(results)
