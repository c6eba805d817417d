"""The training footage of ``correspond_real`` (issue #16), made from the real videos posetool fetches.

    python scripts/correspond_real_data.py data/real

- ``vtest_rest.avi``: frames 150–794 of OpenCV's ``vtest.avi`` (Debian opencv-doc), cut losslessly
  (FFV1): frames 0–149 are the held-out clip every correspondence figure on real video is measured on;
- ``pose2sim/Demo_SinglePerson/videos/cam0[1-4].mp4`` and ``pose2sim/Demo_MultiPerson/videos/
  cam0[1-4].mp4``: links to Pose2Sim's demo clips (the pose2sim wheel, BSD-3-Clause).

Both come through :mod:`posetool.data.real_videos` (package registries only, sha256-checked, cached
outside the repository); nothing here is committed.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2

from posetool.data.real_videos import fetch_pose2sim, fetch_vtest

HELD_OUT = 150  # vtest frames [0, HELD_OUT) are the evaluation clip


def cut(video: Path, start: int, out: Path, stop: int | None = None) -> int:
    """Frames [start, stop) of ``video`` into ``out`` (FFV1, same size and rate); returns the count."""
    cap = cv2.VideoCapture(str(video))
    fps = cap.get(cv2.CAP_PROP_FPS)
    writer = None
    index = written = 0
    while stop is None or index < stop:
        ok, image = cap.read()
        if not ok:
            break
        if index >= start:
            if writer is None:
                h, w = image.shape[:2]
                writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"FFV1"), fps, (w, h))
            writer.write(image)
            written += 1
        index += 1
    cap.release()
    if writer is not None:
        writer.release()
    return written


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path, help="folder for the training footage")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    vtest = fetch_vtest()
    n = cut(vtest, HELD_OUT, args.out / "vtest_rest.avi")
    print(f"{args.out / 'vtest_rest.avi'}: vtest frames {HELD_OUT}-{HELD_OUT + n - 1}")
    n_held = cut(vtest, 0, args.out / "vtest150.avi", HELD_OUT)
    print(f"{args.out / 'vtest150.avi'}: vtest frames 0-{n_held - 1} (held out: evaluation only)")
    root = fetch_pose2sim()
    for demo in ("Demo_SinglePerson", "Demo_MultiPerson"):
        folder = args.out / "pose2sim" / demo / "videos"
        folder.mkdir(parents=True, exist_ok=True)
        for cam in sorted((root / demo / "videos").glob("cam0*.mp4")):
            link = folder / cam.name
            if link.is_symlink() or link.exists():
                link.unlink()
            link.symlink_to(cam.resolve())
            print(link)


if __name__ == "__main__":
    main()
