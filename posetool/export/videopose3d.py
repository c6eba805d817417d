"""VideoPose3D custom-dataset 2D keypoints (the ``.npz`` its ``prepare_data_2d_custom.py`` writes).

Each track becomes one "video" named ``{name}_track{id}`` (split at gaps into ``_part{k}``, since
VideoPose3D needs contiguous sequences): ``positions_2d[video]["custom"] = [array (T, 17, 2)]``,
``metadata = {layout_name: "coco", num_joints: 17, keypoints_symmetry, video_metadata: {video:
{w, h}}}``. ``frame_indices[video]`` keeps the stream frames of each sequence.
"""

from __future__ import annotations

import os
from collections import defaultdict

import numpy as np

from posetool.errors import PosetoolError
from posetool.export.common import keypoints_as, output_file
from posetool.skeletons import COCO17
from posetool.stream import StreamReader


def export_videopose3d(reader: StreamReader, output: str, name: str | None = None, **_: object) -> int:
    if output == "-":
        raise PosetoolError("export videopose3d writes an .npz file; pass -o FILE.npz")
    src = reader.header.get("source") or {}
    w, h = src.get("width"), src.get("height")
    if not w or not h:
        raise PosetoolError("the stream header has no source width/height, which VideoPose3D needs")
    name = name or os.path.splitext(os.path.basename(src.get("path") or "video"))[0]
    skeleton = reader.header.get("skeleton")
    tracks: dict[int, list[tuple[int, np.ndarray]]] = defaultdict(list)
    for frame in reader.frames():
        for inst in frame["instances"]:
            kps = keypoints_as(inst, skeleton, "coco17")
            if kps is not None and inst.get("track_id") is not None:
                tracks[int(inst["track_id"])].append((frame["frame"], kps[:, :2]))
    if not tracks:
        raise PosetoolError("no tracked instance with keypoints; run posetool track first")
    positions, frames, meta = {}, {}, {}
    for tid, rows in sorted(tracks.items()):
        idx = np.array([f for f, _ in rows])
        parts = np.split(np.arange(len(rows)), np.flatnonzero(np.diff(idx) != 1) + 1)
        for k, part in enumerate(parts):
            video = f"{name}_track{tid}" + (f"_part{k}" if len(parts) > 1 else "")
            arr = np.stack([rows[i][1] for i in part]).astype(np.float32)
            positions[video] = {"custom": [arr]}
            frames[video] = idx[part]
            meta[video] = {"w": int(w), "h": int(h)}
    metadata = {"layout_name": "coco", "num_joints": 17,
                "keypoints_symmetry": [COCO17.left, COCO17.right], "video_metadata": meta}
    # written through a file object, so the file is exactly the one named by -o (numpy would add
    # .npz to a bare name, and write somewhere other than the output checked by the CLI)
    with output_file(output, binary=True) as f:
        np.savez_compressed(f, positions_2d=positions, metadata=metadata, frame_indices=frames)
    return len(positions)
