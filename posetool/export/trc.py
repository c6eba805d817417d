"""OpenSim TRC marker files, one per track, in the ground-plane world frame (metres, Y up).

Each track's 3D joints become markers named after the stream's ``skeleton_3d`` joints (h36m17:
pelvis, right_hip, …). Coordinates are ``keypoints_world`` when the stream has them
(``lift3d --world``); otherwise the absolute camera-space joints (``keypoints_3d`` placed at
``root_3d``) are moved into a world frame whose camera height, pitch and roll are estimated from
the feet (:func:`posetool.lift3d.world.ground_from_feet`); the estimate is printed on stderr.
A stream without ``root_3d`` cannot give world positions and is refused.

Layout (OpenSim's TRC, tab-separated): ``PathFileType 4 (X/Y/Z) name``; the rate/count line
(``DataRate CameraRate NumFrames NumMarkers Units OrigDataRate OrigDataStartFrame OrigNumFrames``);
``Frame# Time name…`` and ``X1 Y1 Z1 …``; an empty line; then one row per frame from the
track's first to its last frame (``Frame#`` = stream frame + 1, ``Time`` = frame / fps), with
empty fields where the track is missing or a joint is unknown.
"""

from __future__ import annotations

import os

import numpy as np

from posetool import console
from posetool.errors import OutputError, PosetoolError
from posetool.lift3d.world import H36M_ANKLES, WorldFrame, ground_from_feet
from posetool.skeletons import get_skeleton
from posetool.stream import StreamReader
from posetool.stream.encoding import points_array


def _absolute_camera(inst: dict) -> np.ndarray | None:
    """(J, 3) camera-space joints of an instance: the root-relative pose placed at ``root_3d``."""
    root, kps = inst.get("root_3d"), inst.get("keypoints_3d")
    if root is None or kps is None or any(v is None for v in root):
        return None
    rel = points_array(kps)
    return rel - rel[:1] + np.asarray(root, dtype=np.float64)


def track_positions(reader: StreamReader) -> tuple[dict[int, dict[int, np.ndarray]], WorldFrame | None]:
    """Track id → frame → (J, 3) world positions, and the estimated frame (``None`` when the stream had one)."""
    world: dict[int, dict[int, np.ndarray]] = {}
    camera: dict[int, dict[int, np.ndarray]] = {}
    for frame in reader.frames():
        for inst in frame["instances"]:
            tid = inst.get("track_id")
            if tid is None:
                continue
            if inst.get("keypoints_world") is not None:
                world.setdefault(int(tid), {})[frame["frame"]] = points_array(inst["keypoints_world"])
            else:
                cam = _absolute_camera(inst)
                if cam is not None:
                    camera.setdefault(int(tid), {})[frame["frame"]] = cam
    if world or not camera:
        return world, None
    ankles = np.stack([p[list(H36M_ANKLES)] for frames in camera.values() for p in frames.values()])
    est = ground_from_feet(ankles)
    return {tid: {f: est.to_world(p) for f, p in frames.items()} for tid, frames in camera.items()}, est


def export_trc(reader: StreamReader, output: str, name: str | None = None, **_: object) -> int:
    """Write ``OUTPUT/{name}_track{id}.trc`` per track; returns the number of files."""
    if output == "-":
        raise PosetoolError("--to trc writes one file per track: give a folder with -o")
    skel = reader.header.get("skeleton_3d")
    if not skel:
        raise PosetoolError("the stream has no 3D poses (no skeleton_3d); run posetool lift3d first")
    markers = get_skeleton(skel).keypoints
    fps = float((reader.header.get("source") or {}).get("fps") or 25.0)
    base = name or os.path.splitext(os.path.basename((reader.header.get("source") or {}).get("path") or "poses"))[0]
    tracks, estimated = track_positions(reader)
    if not tracks:
        raise PosetoolError("no track has 3D positions in the world (keypoints_world, or keypoints_3d with root_3d); "
                            "lift with a trajectory model")
    if estimated is not None:
        console.info(f"export trc: ground estimated from the feet: camera {estimated.height:.2f} m high, "
                     f"pitch {estimated.pitch:.1f}°, roll {estimated.roll:.1f}°")
    try:
        os.makedirs(output, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{output}: cannot create the output folder: {exc.strerror}") from None
    for tid, frames in sorted(tracks.items()):
        write_trc(os.path.join(output, f"{base}_track{tid}.trc"), frames, markers, fps)
    return len(tracks)


def write_trc(path: str, frames: dict[int, np.ndarray], markers: tuple[str, ...], fps: float) -> None:
    """One TRC file of a track: ``frames`` maps stream frame → (J, 3) positions in metres."""
    first, last = min(frames), max(frames)
    n, m = last - first + 1, len(markers)
    lines = [
        f"PathFileType\t4\t(X/Y/Z)\t{os.path.basename(path)}",
        "DataRate\tCameraRate\tNumFrames\tNumMarkers\tUnits\tOrigDataRate\tOrigDataStartFrame\tOrigNumFrames",
        f"{fps:g}\t{fps:g}\t{n}\t{m}\tm\t{fps:g}\t{first + 1}\t{n}",
        "\t".join(["Frame#", "Time"] + [f"{name}\t\t" for name in markers]).rstrip("\t"),
        "\t".join(["", ""] + [f"X{k}\tY{k}\tZ{k}" for k in range(1, m + 1)]),
        "",
    ]
    for f in range(first, last + 1):
        pos = frames.get(f)
        vals = [""] * (3 * m) if pos is None else ["" if not np.isfinite(v) else f"{v:.6f}" for v in pos.reshape(-1)]
        lines.append("\t".join([str(f + 1), f"{f / fps:.6f}"] + vals))
    try:
        with open(path, "w", encoding="utf-8", newline="\n") as out:
            out.write("\n".join(lines) + "\n")
    except OSError as exc:
        raise OutputError(f"{path}: cannot write: {exc.strerror}") from None
