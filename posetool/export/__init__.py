"""``posetool export``: write a pose stream in the file formats other tools read.

| format | file | read by |
|---|---|---|
| ``coco`` | COCO results JSON (keypoints, box, score, track_id) | pycocotools ``COCO.loadRes`` |
| ``posetrack18`` | one PoseTrack18 sequence JSON | poseval, ``posetool eval track`` |
| ``mot`` | MOTChallenge results txt | motmetrics ``io.loadtxt`` (``mot15-2D``) |
| ``videopose3d`` | VideoPose3D custom-dataset 2D ``.npz`` | VideoPose3D ``run.py -d custom`` |
| ``csv`` | DeepLabCut-style multi-animal CSV | DeepLabCut, lightning-pose, pandas |
| ``trc`` | one TRC marker file per track (world frame, metres) | OpenSim |
"""

from __future__ import annotations

from collections.abc import Callable

from posetool.errors import UsageError

FORMATS: dict[str, str] = {
    "coco": "posetool.export.coco:export_coco",
    "posetrack18": "posetool.export.posetrack:export_posetrack18",
    "mot": "posetool.export.mot:export_mot",
    "videopose3d": "posetool.export.videopose3d:export_videopose3d",
    "csv": "posetool.export.csv:export_csv",
    "trc": "posetool.export.trc:export_trc",
}


def exporter(fmt: str) -> Callable[..., int]:
    """The writer of format ``fmt``: ``fn(reader, output, **options) -> records written``."""
    import importlib

    if fmt not in FORMATS:
        raise UsageError(f"--to must be one of {', '.join(FORMATS)}, got {fmt!r}")
    module, _, name = FORMATS[fmt].partition(":")
    return getattr(importlib.import_module(module), name)
