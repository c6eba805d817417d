"""Pseudo-labels for unlabelled footage: the real chain's own poses as training labels (issue #16).

``posetool train correspond VIDEO`` (or an image folder of same-sized frames) runs the real chain
once — MoveNet MultiPose people, BlazePose landmarks in each box, tracking, no smoothing (the
keypoints as the estimator measured them), no 3D — and trains on its confident keypoints. The stream
is cached next to the run (``OUT/pseudo/``), named by the footage's content and the chain's settings,
so a resumed or repeated run does not label the footage again; it is written under a temporary name
and renamed when complete, so a killed run never leaves a half stream that would pass for a label set.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from posetool.engine.presets import REAL
from posetool.video.sources import IMAGE_SUFFIXES

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv")

# The chain that labels footage: the real preset without correspondences (they are what is being
# trained), without 3D, and without smoothing (labels are what the estimator measured per frame).
LABEL_CHAIN = {"detect": REAL.detect, "pose": REAL.pose, "smooth": "none", "correspond": None, "lift": None}


def is_unlabelled_footage(spec: str) -> bool:
    """True for a video file, or a folder of images that is not a synth output (no ``gt_coco.json``)."""
    path = Path(spec)
    if path.is_file():
        return path.suffix.lower() in VIDEO_SUFFIXES
    if path.is_dir() and not (path / "gt_coco.json").is_file():
        return any(n.lower().endswith(IMAGE_SUFFIXES) for n in os.listdir(path))
    return False


def footage_digest(spec: str) -> str:
    """sha256 of a video file's bytes, or of an image folder's file names and bytes (16 hex digits)."""
    h = hashlib.sha256(json.dumps(LABEL_CHAIN, sort_keys=True).encode())
    path = Path(spec)
    files = [path] if path.is_file() else sorted(p for p in path.iterdir() if p.name.lower().endswith(IMAGE_SUFFIXES))
    for f in files:
        h.update(f.name.encode())
        with open(f, "rb") as fh:
            while block := fh.read(1 << 20):
                h.update(block)
    return h.hexdigest()[:16]


def pseudo_label(spec: str, cache: str | os.PathLike[str], device: str = "auto") -> Path:
    """The real chain's tracked pose stream of ``spec`` (a video or image folder), cached in ``cache``.

    Returns the stream's path; labels the footage only when the cache lacks it (one progress bar).
    """
    from posetool import console
    from posetool.engine.run import ChainOptions, check_chain_weights, run_video
    from posetool.stream import StreamWriter

    cache = Path(cache)
    name = Path(spec.rstrip("/")).stem or "footage"
    target = cache / f"{name}-{footage_digest(spec)}.msgpack"
    if target.is_file():
        console.info(f"pseudo-labels of {spec}: {target} (cached)")
        return target
    cache.mkdir(parents=True, exist_ok=True)
    opts = ChainOptions(detect_model=LABEL_CHAIN["detect"], pose_model=LABEL_CHAIN["pose"], correspond_model=None,
                        recover=False, lift_model=None, smooth=LABEL_CHAIN["smooth"], device=device)
    check_chain_weights(opts)
    partial = target.with_suffix(".msgpack.part")
    console.info(f"pseudo-labels of {spec}: running the real chain ({opts.detect_model} + {opts.pose_model}) once")
    run_video(str(spec), lambda: StreamWriter(str(partial), "msgpack"), opts)
    os.replace(partial, target)
    return target
