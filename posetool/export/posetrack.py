"""One PoseTrack18 sequence file as the official poseval reads predictions.

poseval derives image ids from the sequence folder name ``NNNNNN_{mpii|bonn|mpiinew}_...``
(``posetrack18_fname2id``): id = type·10^10 + NNNNNN·10^4 + frame, type 1 for mpii. Pass the
sequence name of the ground truth (``--sequence``); the default ``000000_mpii_posetool`` suits
streams without a PoseTrack counterpart. Keypoints are posetrack18 (coco17 streams are mapped,
see :mod:`posetool.skeletons`), with per-keypoint ``scores``; joints with confidence ≤ ``kp_thr``
(default 0; one value or per joint, :func:`posetool.data.posetrack.parse_kp_thresholds`) are
written as absent, since poseval counts every listed joint.
"""

from __future__ import annotations

import re

import numpy as np

from posetool.data.posetrack import parse_kp_thresholds
from posetool.errors import UsageError
from posetool.export.common import keypoints_as, write_json
from posetool.skeletons import POSETRACK18
from posetool.stream import StreamReader

_TYPES = {"mpii": 1, "bonn": 2, "mpiinew": 3}
_SEQ = re.compile(r"^(\d{1,6})_(mpii|bonn|mpiinew)(_.*)?$")


def export_posetrack18(reader: StreamReader, output: str, sequence: str = "000000_mpii_posetool",
                       kp_thr: float | str = 0.0, **_: object) -> int:
    m = _SEQ.match(sequence)
    thr = parse_kp_thresholds(kp_thr)
    if not m:
        raise UsageError(f"--sequence must look like NNNNNN_mpii_name (PoseTrack's naming), got {sequence!r}")
    base = _TYPES[m.group(2)] * 10_000_000_000 + int(m.group(1)) * 10_000
    skeleton = reader.header.get("skeleton")
    nframes = (reader.header.get("source") or {}).get("frames") or 0
    images, anns = [], []
    for frame in reader.frames():
        f = frame["frame"]
        iid = base + f
        images.append({"file_name": f"images/{sequence}/{f:06d}.jpg", "id": iid, "frame_id": iid,
                       "vid_id": m.group(1).zfill(6), "nframes": nframes, "is_labeled": True})
        for inst in frame["instances"]:
            kps = keypoints_as(inst, skeleton, "posetrack18")
            if kps is None:
                continue
            # poseval counts every listed joint, so joints at or below kp_thr are left out
            ok = np.isfinite(kps[:, 0]) & np.isfinite(kps[:, 1]) & (np.nan_to_num(kps[:, 2], nan=0.0) > thr)
            flat = []
            for (x, y, _), good in zip(kps, ok):
                flat += [round(float(x), 3), round(float(y), 3), 1] if good else [0.0, 0.0, 0]
            conf = kps[:, 2][np.isfinite(kps[:, 2])]
            ann = {"image_id": iid, "category_id": 1, "keypoints": flat,
                   "scores": [float(c) if np.isfinite(c) else 0.0 for c in kps[:, 2]],
                   "score": float(inst["score"]) if inst.get("score") is not None else
                   float(conf.mean()) if len(conf) else 0.0}
            if inst.get("track_id") is not None:
                ann["track_id"] = int(inst["track_id"])
            if inst.get("bbox") is not None:
                x1, y1, x2, y2 = inst["bbox"]
                ann["bbox"] = [x1, y1, x2 - x1, y2 - y1]
            anns.append(ann)
    write_json(output, {"images": images, "annotations": anns,
                        "categories": [{"supercategory": "person", "id": 1, "name": "person",
                                        "keypoints": list(POSETRACK18.keypoints),
                                        "skeleton": [[a + 1, b + 1] for a, b in POSETRACK18.bones]}]})
    return len(anns)
