"""Ground-truth writers: posetool stream, COCO keypoints, PoseTrack18, MOTChallenge, VideoPose3D.

Every writer is deterministic: the same :class:`SynthSequence` gives the same bytes (JSON with
fixed key order and Python's shortest float repr, a zip with fixed timestamps for the .npz).
The exact formats are documented in docs/synth.md.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from typing import Any

import numpy as np

from posetool import __version__
from posetool.skeletons import COCO17, H36M17, POSETRACK18
from posetool.stream import make_frame, make_header, make_stage
from posetool.stream.encoding import to_plain
from posetool.synth.groundtruth import SynthSequence

XY_DECIMALS = 4  # pixels
XYZ_DECIMALS = 7  # metres: 0.1 µm, so projecting stored 3D reproduces stored 2D to ~1e-5 px
COCO_SKELETON_1BASED = [[a + 1, b + 1] for a, b in COCO17.bones]
POSETRACK_SEQ_TYPE = "mpii"  # poseval derives image ids from "NNNNNN_{mpii|bonn|mpiinew}_..."


def sequence_name(seq: SynthSequence) -> str:
    """PoseTrack-style folder name of the sequence: ``{seed % 10^6:06d}_mpii_synth``."""
    return f"{seq.world.config.seed % 1_000_000:06d}_{POSETRACK_SEQ_TYPE}_synth"


def posetrack_image_id(seq: SynthSequence, frame: int) -> int:
    """poseval's ``posetrack18_fname2id``: type·10^10 + sequence·10^4 + frame (type 1 = mpii)."""
    return 1 * 10_000_000_000 + (seq.world.config.seed % 1_000_000) * 10_000 + frame


def _r(a: np.ndarray, d: int) -> list:
    return np.round(np.asarray(a, dtype=np.float64), d).tolist()


# --- the posetool stream --------------------------------------------------------------------

def stream_header(seq: SynthSequence, video_path: str | None) -> dict[str, Any]:
    cfg = seq.world.config
    source = {"path": video_path, "width": cfg.width, "height": cfg.height, "fps": float(cfg.fps), "frames": cfg.frames}
    params = cfg.to_dict()
    take = getattr(seq.world, "take", None)
    if take is not None:  # a single-action take (posetool.synth.takes): its resolved parameters
        params["take"] = to_plain(take)
    return make_header(source, "coco17", camera=to_plain(seq.camera.to_header()), skeleton_3d="h36m17",
                       stages=[make_stage("synth", params=params)])


def stream_frames(seq: SynthSequence) -> Iterator[dict[str, Any]]:
    """One frame record per frame; people entirely outside the image are left out."""
    cfg = seq.world.config
    kp = seq.coco17()
    vis = seq.coco17_visibility()
    pt = seq.posetrack18()
    root = seq.root_3d()
    rel = seq.h36m17_3d() - root[:, :, None]
    phase = getattr(seq.world, "phase", None)  # (P, T) the action's phase in a take
    phase_class = None
    if phase is not None:
        from posetool.synth.actions import get_action

        phase_class = get_action(seq.world.take["action"]).phase_class(phase)
    for t in range(cfg.frames):
        instances = []
        for i in np.flatnonzero(seq.present[:, t]):
            instances.append({
                "track_id": seq.world.people[i].track_id,
                "bbox": _r(seq.bbox[i, t], XY_DECIMALS),
                "score": 1.0,
                "keypoints": _r(kp[i, t], XY_DECIMALS),
                "visibility": vis[i, t].tolist(),
                "keypoints_3d": _r(rel[i, t], XYZ_DECIMALS),
                "root_3d": _r(root[i, t], XYZ_DECIMALS),
                "keypoints_posetrack18": _r(pt[i, t], XY_DECIMALS),
                "head_bbox": _r(seq.head_bbox[i, t], XY_DECIMALS),
                "area": round(float(seq.area[i, t]), 2),
                "visible_ratio": round(float(seq.visible_ratio[i, t]), 4),
            })
            if phase is not None:
                instances[-1].update(phase=round(float(phase[i, t]), 6), phase_class=int(phase_class[i, t]))
        yield make_frame(t, round(t / cfg.fps, 6), instances)


# --- COCO keypoints ---------------------------------------------------------------------------

def coco_json(seq: SynthSequence) -> dict[str, Any]:
    """COCO person-keypoints annotations (pycocotools loads them); image id = frame + 1."""
    cfg = seq.world.config
    kp, vis = seq.coco17(), seq.coco17_visibility()
    images, anns = [], []
    for t in range(cfg.frames):
        images.append({"id": t + 1, "file_name": f"{t:06d}.jpg", "width": cfg.width, "height": cfg.height,
                       "frame_index": t})
        for i in np.flatnonzero(seq.present[:, t]):
            v = vis[i, t]
            xyv = np.where((v > 0)[:, None], np.concatenate([np.round(kp[i, t, :, :2], XY_DECIMALS), v[:, None]], -1), 0)
            x1, y1, x2, y2 = seq.bbox[i, t]
            anns.append({
                "id": len(anns) + 1, "image_id": t + 1, "category_id": 1, "iscrowd": 0,
                "track_id": seq.world.people[i].track_id,
                "keypoints": [float(c) if k % 3 < 2 else int(c) for k, c in enumerate(xyv.reshape(-1))],
                "num_keypoints": int((v > 0).sum()),
                "bbox": _r([x1, y1, x2 - x1, y2 - y1], 2),
                "area": round(float(seq.area[i, t]), 2),
            })
    return {
        "info": {"description": f"posetool synth seed {cfg.seed}", "version": __version__},
        "licenses": [],
        "images": images,
        "annotations": anns,
        "categories": [{"supercategory": "person", "id": 1, "name": "person", "keypoints": list(COCO17.keypoints),
                        "skeleton": COCO_SKELETON_1BASED}],
    }


# --- PoseTrack18 --------------------------------------------------------------------------------

def posetrack18_json(seq: SynthSequence) -> dict[str, Any]:
    """One PoseTrack18 sequence file in the layout poseval reads (see docs/synth.md)."""
    cfg = seq.world.config
    name = sequence_name(seq)
    pt = seq.posetrack18()
    images, anns = [], []
    for t in range(cfg.frames):
        image_id = posetrack_image_id(seq, t)
        images.append({"file_name": f"images/synth/{name}/{t:06d}.jpg", "id": image_id, "frame_id": image_id,
                       "vid_id": name.split("_")[0], "nframes": cfg.frames, "is_labeled": True,
                       "has_no_densepose": True, "width": cfg.width, "height": cfg.height,
                       "ignore_regions_x": [], "ignore_regions_y": []})
        person_idx = 0
        for i in np.flatnonzero(seq.present[:, t]):
            k = pt[i, t]
            labelled = int((k[:, 2] > 0).sum())
            if labelled == 0:  # poseval drops people without points; so do we
                continue
            x1, y1, x2, y2 = seq.bbox[i, t]
            hx1, hy1, hx2, hy2 = seq.head_bbox[i, t]
            flat = []
            for x, y, v in k:
                flat += [round(float(x), XY_DECIMALS), round(float(y), XY_DECIMALS), int(v)]
            anns.append({
                "id": image_id * 100 + person_idx, "image_id": image_id, "category_id": 1,
                "track_id": seq.world.people[i].track_id, "keypoints": flat, "num_keypoints": labelled,
                "scores": [], "iscrowd": 0,
                "bbox": _r([x1, y1, x2 - x1, y2 - y1], 2),
                "bbox_head": _r([hx1, hy1, hx2 - hx1, hy2 - hy1], 2),
            })
            person_idx += 1
    return {
        "images": images,
        "annotations": anns,
        "categories": [{"supercategory": "person", "id": 1, "name": "person", "keypoints": list(POSETRACK18.keypoints),
                        "skeleton": COCO_SKELETON_1BASED}],
    }


# --- MOTChallenge ---------------------------------------------------------------------------

def mot_lines(seq: SynthSequence) -> list[str]:
    """MOTChallenge gt.txt rows ``frame,id,left,top,width,height,1,1,visibility``.

    Frames are 1-based and so are pixel coordinates (left = x1 + 1), as the MOTChallenge devkit
    and ``motmetrics.io.loadtxt`` (which subtracts 1) expect.
    """
    rows = []
    for t in range(seq.world.config.frames):
        for i in np.flatnonzero(seq.present[:, t]):
            x1, y1, x2, y2 = seq.bbox[i, t]
            rows.append(f"{t + 1},{seq.world.people[i].track_id},{x1 + 1:.2f},{y1 + 1:.2f},{x2 - x1:.2f},{y2 - y1:.2f},"
                        f"1,1,{seq.visible_ratio[i, t]:.4f}")
    return rows


# --- VideoPose3D --------------------------------------------------------------------------------

def _quaternion(R: np.ndarray) -> list[float]:
    """(w, x, y, z) of a rotation matrix (VideoPose3D's quaternion order)."""
    w = np.sqrt(max(0.0, 1 + R[0, 0] + R[1, 1] + R[2, 2])) / 2
    x = np.sqrt(max(0.0, 1 + R[0, 0] - R[1, 1] - R[2, 2])) / 2
    y = np.sqrt(max(0.0, 1 - R[0, 0] + R[1, 1] - R[2, 2])) / 2
    z = np.sqrt(max(0.0, 1 - R[0, 0] - R[1, 1] + R[2, 2])) / 2
    x = np.copysign(x, R[2, 1] - R[1, 2])
    y = np.copysign(y, R[0, 2] - R[2, 0])
    z = np.copysign(z, R[1, 0] - R[0, 1])
    return [float(w), float(x), float(y), float(z)]


def videopose3d_arrays(seq: SynthSequence) -> dict[str, Any]:
    """The dicts VideoPose3D's loaders expect (subject ``S{track_id}``, action ``synth``)."""
    cfg, cam = seq.world.config, seq.camera
    kp3d = seq.h36m17_3d().astype(np.float32)
    kp2d = seq.coco17()[..., :2].astype(np.float32)
    vis = seq.coco17_visibility().astype(np.uint8)
    pos3d, pos2d, vis2d, present, video_meta = {}, {}, {}, {}, {}
    for i, person in enumerate(seq.world.people):
        subj = f"S{person.track_id}"
        pos3d[subj] = {"synth": kp3d[i]}
        pos2d[subj] = {"synth": [kp2d[i]]}
        vis2d[subj] = {"synth": [vis[i]]}
        present[subj] = {"synth": [seq.present[i].copy()]}
        video_meta[subj] = {"w": cfg.width, "h": cfg.height, "res_w": cfg.width, "res_h": cfg.height}
    w = cfg.width
    # VideoPose3D normalises intrinsics: f/res_w*2 and normalize_screen_coordinates(c).
    intrinsic = [cam.fx / w * 2, cam.fy / w * 2, cam.cx / w * 2 - 1, cam.cy / w * 2 - cfg.height / w, 0, 0, 0, 0, 0]
    camera = {"id": "synth", "res_w": cfg.width, "res_h": cfg.height, "fx": cam.fx, "fy": cam.fy, "cx": cam.cx,
              "cy": cam.cy, "intrinsic": [float(v) for v in intrinsic],
              "orientation": _quaternion(cam.R.T), "translation": [float(v) for v in cam.C]}
    metadata = {
        "layout_name": "coco", "num_joints": 17,
        "keypoints_symmetry": [[1, 3, 5, 7, 9, 11, 13, 15], [2, 4, 6, 8, 10, 12, 14, 16]],
        "layout_name_3d": "h36m", "num_joints_3d": 17,
        "joints_symmetry_3d": [[4, 5, 6, 11, 12, 13], [1, 2, 3, 14, 15, 16]],
        "skeleton_3d_parents": list(H36M17.parents or ()),
        "positions_3d_space": "camera", "fps": float(cfg.fps),
        "video_metadata": video_meta, "camera": camera, "seed": cfg.seed,
    }
    return {"positions_3d": pos3d, "positions_2d": pos2d, "visibility_2d": vis2d, "present": present,
            "metadata": metadata, "cameras": {"synth": camera}}


def write_npz(path: str, arrays: dict[str, Any]) -> None:
    """Like ``np.savez_compressed`` but byte-reproducible (fixed zip timestamps)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for key, value in arrays.items():
            buf = io.BytesIO()
            arr = value if isinstance(value, np.ndarray) else np.array(value, dtype=object)
            np.lib.format.write_array(buf, arr, allow_pickle=True)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, buf.getvalue())


# --- synth.json ---------------------------------------------------------------------------------

def synth_summary(seq: SynthSequence, files: dict[str, str]) -> dict[str, Any]:
    """The parameters used: config, camera, and every person's body, clothes and action plan."""
    people = []
    for p in seq.world.people:
        people.append({
            "track_id": p.track_id, "height_m": round(p.shape.height, 4), "child": p.shape.child,
            "appearance": to_plain(vars(p.appearance)),
            "plan": [[s.action, s.start, s.end, round(s.param, 4)] for s in p.plan],
        })
    summary = {"posetool": __version__, "config": seq.world.config.to_dict(),
               "camera": seq.camera.to_header(), "sequence_name": sequence_name(seq),
               "files": files, "people": people}
    if getattr(seq.world, "take", None) is not None:
        summary["take"] = seq.world.take
    return to_plain(summary)


def dump_json(path: str, obj: Any) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, separators=(",", ":"), allow_nan=False)
        f.write("\n")
