"""Training data for the lifter: VideoPose3D-format ``.npz`` files and posetool streams.

Formats (as VideoPose3D's ``data/prepare_data_*.py`` write them):

- ``data_3d_<dataset>.npz``: ``positions_3d[subject][action]`` = (N, J, 3) world coordinates
  in metres (Human3.6M: 32 joints, reduced to h36m17 here) -- or, as ``posetool synth`` and
  other camera-space sources write it, a list with one (N, J, 3) camera-space array per camera.
- ``data_2d_<dataset>_<detections>.npz``: ``positions_2d[subject][action]`` = list with one
  (N, K, 2+) pixel array per camera, and ``metadata`` (``layout_name``, ``keypoints_symmetry``,
  for custom data ``video_metadata`` with ``w``/``h``).

Camera handling: for subjects of Human3.6M (S1..S11) the official calibration
(:mod:`posetool.lift3d.h36m`) gives each camera's resolution, intrinsics and extrinsics; world
3D is moved into each camera (``world_to_camera``), made root-relative while joint 0 keeps
the root trajectory, and 2D sequences longer than the mocap are cut to its length. Other data
must bring its cameras in ``metadata['cameras'][subject]`` (list per camera of maps with
``res_w``, ``res_h`` and optionally ``focal_length``/``center``/distortion in pixels, or the
9-vector ``intrinsic``) or ``video_metadata``; then 3D must be camera-space.

These files pickle Python dicts inside ``.npy`` members; they are read with
:func:`posetool.data.videopose3d.read_npz` (restricted unpickler, never ``allow_pickle=True``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from posetool.data.videopose3d import H36M32_TO_17, read_npz
from posetool.errors import PosetoolError
from posetool.lift3d.camera import (
    intrinsics_from_header,
    intrinsics_vector,
    normalize_screen_coordinates,
    world_to_camera,
)
from posetool.lift3d.h36m import H36M_EXTRINSICS, h36m_camera
from posetool.stream.encoding import points_array


# --- sequences --------------------------------------------------------------------------------
@dataclass
class LiftSequence:
    """One training sequence.

    ``keypoints``: (T, J_in, F) normalised 2D. ``poses_3d``: (T, J_out, 3) camera space, joints
    1.. relative to joint 0, joint 0 the root position (trajectory) -- or None (unlabelled).
    ``camera``: (9,) normalised intrinsics or None. ``subject``/``action``/``camera_index`` name it.
    ``aspect``: frame height / width when known: the frame spans x in [-1, 1], y in [-aspect, aspect].
    """

    subject: str
    action: str
    camera_index: int
    keypoints: np.ndarray
    poses_3d: np.ndarray | None
    camera: np.ndarray | None
    aspect: float | None = None


def _camera_from_meta(meta: dict, subject: str, idx: int, action: str) -> dict | None:
    cams = (meta.get("cameras") or {}).get(subject)
    if cams is not None and idx < len(cams):
        c = dict(cams[idx])
        w, h = float(c["res_w"]), float(c["res_h"])
        if c.get("intrinsic") is not None:
            intr = np.asarray(c["intrinsic"], dtype=np.float32)
        elif c.get("focal_length") is not None:
            intr = intrinsics_vector(w, h, c["focal_length"], c.get("center"), c.get("radial_distortion", (0, 0, 0)),
                                     c.get("tangential_distortion", (0, 0)))
        else:
            intr = None
        return {"res_w": w, "res_h": h, "intrinsic": intr, "orientation": c.get("orientation"),
                "translation": c.get("translation")}
    one = meta.get("camera")  # one camera for every subject (posetool synth)
    if isinstance(one, dict) and one.get("res_w"):
        w, h = float(one["res_w"]), float(one["res_h"])
        if one.get("intrinsic") is not None:
            intr = np.asarray(one["intrinsic"], dtype=np.float32)
        elif one.get("fx") is not None:
            intr = intrinsics_vector(w, h, (one["fx"], one.get("fy", one["fx"])), (one.get("cx", w / 2), one.get("cy", h / 2)))
        else:
            intr = None
        return {"res_w": w, "res_h": h, "intrinsic": intr}
    vm = (meta.get("video_metadata") or {}).get(subject)
    if vm is not None:
        w, h = float(vm["w"]), float(vm["h"])
        return {"res_w": w, "res_h": h, "intrinsic": None}
    for key in ("res_w", "width"):
        if key in meta:
            w = float(meta[key])
            h = float(meta.get("res_h", meta.get("height")))
            intr = None
            if meta.get("intrinsic") is not None:
                intr = np.asarray(meta["intrinsic"], dtype=np.float32)
            return {"res_w": w, "res_h": h, "intrinsic": intr}
    if subject in H36M_EXTRINSICS or subject in ("S2", "S3", "S4"):
        return h36m_camera(subject, idx)
    return None


def sequences_from_npz(
    positions_2d: dict,
    metadata: dict,
    positions_3d: dict | None,
    subjects: Iterable[str] | None = None,
    *,
    source: str = "npz",
    labelled: bool = True,
    present: dict | None = None,
) -> list[LiftSequence]:
    """Build sequences for ``subjects`` (all if None) from loaded ``positions_2d``/``positions_3d``.

    Raises :class:`PosetoolError` naming the subject/action when a camera or 3D data is missing.
    """
    want = list(subjects) if subjects is not None else list(positions_2d)
    out: list[LiftSequence] = []
    for subject in want:
        if subject not in positions_2d:
            raise PosetoolError(f"{source}: subject {subject!r} not in the 2D file (has {', '.join(sorted(positions_2d))})")
        for action, per_cam in positions_2d[subject].items():
            if not isinstance(per_cam, (list, tuple)):
                per_cam = [per_cam]
            world = None
            cam3d = None
            if labelled and positions_3d is not None:
                if subject not in positions_3d or action not in positions_3d[subject]:
                    raise PosetoolError(f"{source}: no 3D poses for {subject}/{action}")
                p3 = positions_3d[subject][action]
                if isinstance(p3, (list, tuple)):
                    cam3d = list(p3)
                elif metadata.get("positions_3d_space") == "camera":
                    cam3d = [p3] * len(per_cam)
                else:
                    world = np.asarray(p3, dtype=np.float64)
                    if world.shape[1] == 32:
                        world = world[:, list(H36M32_TO_17)]
            for idx, kps in enumerate(per_cam):
                cam = _camera_from_meta(metadata, subject, idx, action)
                if cam is None:
                    raise PosetoolError(f"{source}: no camera (resolution) for {subject}/{action} camera {idx}; "
                                        "add metadata['cameras'] or video_metadata")
                kps = np.asarray(kps, dtype=np.float64)
                pose = None
                if world is not None:
                    if cam.get("orientation") is None:
                        raise PosetoolError(f"{source}: world-space 3D for {subject}/{action} but no extrinsics for camera {idx}")
                    pose = world_to_camera(world, cam["orientation"], cam["translation"])
                elif cam3d is not None:
                    pose = np.asarray(cam3d[idx], dtype=np.float64)
                if pose is not None:
                    if kps.shape[0] < pose.shape[0]:
                        raise PosetoolError(f"{source}: {subject}/{action} camera {idx}: {kps.shape[0]} 2D frames < {pose.shape[0]} 3D frames")
                    kps = kps[: pose.shape[0]]  # some H3.6M videos have extra frames
                    pose = pose.copy()
                    pose[:, 1:] -= pose[:, :1]  # root-relative; joint 0 keeps the trajectory
                xy = normalize_screen_coordinates(kps[..., :2], cam["res_w"], cam["res_h"])
                feats = (np.concatenate([xy, kps[..., 2:]], axis=-1) if kps.shape[-1] > 2 else xy).astype(np.float32)
                pose = pose.astype(np.float32) if pose is not None else None
                # frames where the person is in view (posetool synth's `present`): one sequence per run,
                # as a tracker would deliver them
                mask = None
                if present is not None and subject in present and action in present[subject]:
                    pm = np.asarray(present[subject][action])
                    mask = (pm[idx] if pm.ndim == 2 else pm).astype(bool)[: len(feats)]
                for a, b in _runs(mask, len(feats)):
                    out.append(LiftSequence(subject, action, idx, feats[a:b], pose[a:b] if pose is not None else None,
                                            cam.get("intrinsic"), float(cam["res_h"]) / float(cam["res_w"])))
    return out


def _runs(mask: np.ndarray | None, n: int) -> list[tuple[int, int]]:
    """[start, end) of the runs of True in ``mask`` (everything when None)."""
    if mask is None:
        return [(0, n)] if n else []
    m = np.concatenate([[False], mask, [False]]).astype(np.int8)
    d = np.diff(m)
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist()))


@dataclass
class NpzDataset:
    """A loaded VideoPose3D dataset: ``positions_2d``, ``metadata``, optional ``positions_3d``."""

    positions_2d: dict
    metadata: dict
    positions_3d: dict | None
    source: str
    present: dict | None = None

    @property
    def subjects(self) -> list[str]:
        return list(self.positions_2d)

    @property
    def layout(self) -> str | None:
        """posetool skeleton name of the 2D keypoints (from ``layout_name``), if known."""
        name = self.metadata.get("layout_name")
        return {"coco": "coco17", "h36m": "h36m17"}.get(name, name)

    def sequences(self, subjects: Iterable[str] | None = None, labelled: bool = True) -> list[LiftSequence]:
        return sequences_from_npz(self.positions_2d, self.metadata, self.positions_3d if labelled else None,
                                  subjects, source=self.source, labelled=labelled, present=self.present)


def detected_2d(data: dict, stream_path: Path) -> dict:
    """A synth folder's data with its ground-truth 2D replaced by a pose stream's keypoints.

    VideoPose3D trains its lifter on the 2D detections it will see at test time (CPN's, run on
    ground-truth boxes); here the stream is ``detect --model gt | pose2d`` on the folder's video,
    whose ``track_id`` n is the synth person ``S{n}``. A frame where the stream has no pose for a
    person leaves training (``present`` false there), as the tracker would deliver it.

    Returns:
        ``data`` with ``positions_2d[S][action] = [(T, 17, 2)]`` and ``present[S][action]`` (T,) replaced.
    """
    from posetool.export.common import keypoints_as
    from posetool.stream import StreamReader

    if not stream_path.is_file():
        raise PosetoolError(f"{stream_path}: no such 2D keypoint stream (make it with detect --model gt | pose2d)")
    reader = StreamReader(str(stream_path))
    skeleton = reader.header.get("skeleton")
    shapes = {s: (a, np.asarray(arr[0]).shape[0]) for s, acts in data["positions_2d"].items() for a, arr in acts.items()}
    found: dict[str, np.ndarray] = {s: np.full((n, 17, 2), np.nan, np.float32) for s, (_, n) in shapes.items()}
    for frame in reader.frames():
        for inst in frame["instances"]:
            subject = f"S{inst.get('track_id')}"
            kps = keypoints_as(inst, skeleton, "coco17")
            if subject in found and kps is not None and int(frame["frame"]) < len(found[subject]):
                found[subject][int(frame["frame"])] = kps[:, :2]
    out = dict(data)
    out["positions_2d"], out["present"] = {}, {}
    for subject, (action, _) in shapes.items():
        got = np.isfinite(found[subject]).all(axis=(1, 2))
        old = (data.get("present") or {}).get(subject, {}).get(action)
        was = np.ones(len(got), bool) if old is None else np.asarray(old[0] if isinstance(old, list) else old, bool)[: len(got)]
        out["positions_2d"][subject] = {action: [np.nan_to_num(found[subject])]}
        out["present"][subject] = {action: got & was}
    return out


def open_dataset(paths: Sequence[str | Path], keypoints: str | None = None) -> NpzDataset:
    """Load a dataset from ``.npz`` files and/or ``posetool synth`` folders (``gt_videopose3d.npz``).

    Several 2D sources are merged with subjects prefixed by the folder name when they clash
    (synth folders each use their own subject names). ``keypoints``: a pose stream's file name
    inside each synth folder whose 2D replaces the ground truth (:func:`detected_2d`).
    """
    p2: dict = {}
    p3: dict = {}
    present: dict = {}
    meta: dict = {}
    have3d = False
    names: list[str] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            path = path / "gt_videopose3d.npz"
            if not path.is_file():
                raise PosetoolError(f"{raw}: folder has no gt_videopose3d.npz (make one with posetool synth)")
        data = read_npz(path)
        if keypoints and path.name == "gt_videopose3d.npz":
            data = detected_2d(data, path.parent / keypoints)
        names.append(str(path))
        tag = path.parent.name if path.name == "gt_videopose3d.npz" else ""
        m = data.get("metadata") or {}
        sub_meta_cams = dict(m.get("cameras") or {})
        rename = {}
        for key in ("positions_2d", "positions_3d", "present"):
            if key not in data:
                continue
            for subject, actions in data[key].items():
                new = subject
                target = {"positions_2d": p2, "positions_3d": p3, "present": present}[key]
                if key == "positions_2d" and subject in p2:
                    new = f"{tag or path.stem}/{subject}"
                elif key != "positions_2d":
                    new = rename.get(subject, subject)
                rename[subject] = new
                target[new] = actions
                if key == "positions_3d":
                    have3d = True
        # cameras are kept per (renamed) subject, so folders with different cameras can be mixed
        for subject, new in rename.items():
            if subject in sub_meta_cams:
                meta.setdefault("cameras", {})[new] = sub_meta_cams[subject]
            elif isinstance(m.get("camera"), dict):
                meta.setdefault("cameras", {})[new] = [m["camera"]]
            elif subject in (m.get("video_metadata") or {}):
                meta.setdefault("video_metadata", {})[new] = m["video_metadata"][subject]
        for k, v in m.items():
            if k not in ("cameras", "camera", "video_metadata"):
                meta.setdefault(k, v)
    if not p2:
        raise PosetoolError(f"{', '.join(names)}: no positions_2d found (need a data_2d_*.npz or a synth folder)")
    return NpzDataset(p2, meta, p3 if have3d else None, ", ".join(names), present or None)


def sequences_from_stream(path: str, skeleton: str, *, min_length: int = 1) -> list[LiftSequence]:
    """Unlabelled sequences from a tracked 2D pose stream: one per track (split at gaps).

    The camera comes from the header's ``camera`` map; without one, the default pinhole camera
    of :func:`posetool.lift3d.camera.default_intrinsics` is assumed (stated in the docs).
    """
    from posetool.lift3d.stage import frame_size
    from posetool.stream import StreamReader

    reader = StreamReader(path)
    header = reader.header
    if header.get("skeleton") != skeleton:
        raise PosetoolError(f"{path}: stream keypoints are {header.get('skeleton')}, the model takes {skeleton}")
    w, h = frame_size(header)
    cam, _ = intrinsics_from_header(header.get("camera"), w, h)
    tracks: dict[Any, list[tuple[int, np.ndarray]]] = {}
    for frame in reader.frames():
        for inst in frame.get("instances") or []:
            tid, kps = inst.get("track_id"), inst.get("keypoints")
            if tid is None or kps is None:
                continue
            arr = points_array([p[:2] for p in kps])
            if not np.isfinite(arr).all():
                continue
            tracks.setdefault(tid, []).append((frame["frame"], arr))
    out = []
    for tid, items in tracks.items():
        runs: list[list[np.ndarray]] = [[]]
        last = None
        for f, arr in items:
            if last is not None and f != last + 1:
                runs.append([])
            runs[-1].append(arr)
            last = f
        for k, run in enumerate(runs):
            if len(run) >= min_length:
                xy = normalize_screen_coordinates(np.stack(run), w, h).astype(np.float32)
                out.append(LiftSequence(Path(path).name, f"track{tid}.{k}", 0, xy, None, cam))
    return out
