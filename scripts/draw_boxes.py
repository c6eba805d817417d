"""Draw one video frame with a pixel grid and MOT boxes, to label people by eye and check the labels.

    python scripts/draw_boxes.py VIDEO FRAME -o out.png [--gt tests/data/vtest_boxes.txt]
        [--crop X,Y,W,H] [--scale 2] [--grid 20] [--other boxes.txt]

FRAME is 0-based (MOT files count from 1: frame FRAME+1 is drawn). Grid lines every ``--grid``
pixels (labelled every 5th line) give coordinates to read off; ``--crop`` with ``--scale`` zooms
in on a region. ``--gt`` boxes are green with their id, ``--other`` boxes (a detector's, also MOT)
red, so labels and detections can be compared on the same picture. MOT files are 1-based
(MOTChallenge's convention); the grid is in posetool's 0-based pixel coordinates.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np


def read_mot(path: Path, frame: int) -> list[tuple[int, float, float, float, float]]:
    """(id, x, y, w, h) of the boxes of 0-based ``frame`` in a MOT txt file, in 0-based pixels
    (MOTChallenge boxes are 1-based: the top-left pixel is (1, 1))."""
    out = []
    for line in path.read_text().splitlines():
        parts = line.strip().split(",")
        if len(parts) >= 6 and int(float(parts[0])) == frame + 1:
            x, y, w, h = (float(v) for v in parts[2:6])
            out.append((int(float(parts[1])), x - 1, y - 1, w, h))
    return out


def read_frame(video: str, index: int) -> np.ndarray:
    cap = cv2.VideoCapture(video)
    for _ in range(index):  # sequential reads: seeking is not exact in every container
        cap.grab()
    ok, image = cap.read()
    cap.release()
    if not ok:
        raise SystemExit(f"{video}: no frame {index}")
    return image


def draw(image: np.ndarray, crop: tuple[int, int, int, int], scale: float, grid: int,
         gt: list, other: list) -> np.ndarray:
    """The crop of ``image`` scaled by ``scale`` with grid lines (image coordinates) and boxes."""
    x0, y0, w, h = crop
    view = cv2.resize(image[y0:y0 + h, x0:x0 + w], None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)

    def px(x: float, y: float) -> tuple[int, int]:
        return int(round((x - x0) * scale)), int(round((y - y0) * scale))

    for gx in range((x0 // grid) * grid, x0 + w + 1, grid):
        major = gx % (grid * 5) == 0
        cv2.line(view, px(gx, y0), px(gx, y0 + h), (255, 255, 0) if major else (120, 120, 0), 1)
        if major:
            cv2.putText(view, str(gx), (px(gx, y0)[0] + 2, 12), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 0), 1)
    for gy in range((y0 // grid) * grid, y0 + h + 1, grid):
        major = gy % (grid * 5) == 0
        cv2.line(view, px(x0, gy), px(x0 + w, gy), (255, 255, 0) if major else (120, 120, 0), 1)
        if major:
            cv2.putText(view, str(gy), (2, px(x0, gy)[1] - 2), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 0), 1)
    for boxes, colour in ((other, (0, 0, 255)), (gt, (0, 255, 0))):
        for tid, x, y, bw, bh in boxes:
            cv2.rectangle(view, px(x, y), px(x + bw, y + bh), colour, 1)
            cv2.putText(view, str(tid), px(x, y - 2), cv2.FONT_HERSHEY_SIMPLEX, 0.5, colour, 1)
    return view


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("video")
    ap.add_argument("frame", type=int)
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--gt", type=Path)
    ap.add_argument("--other", type=Path)
    ap.add_argument("--crop", default=None, help="X,Y,W,H in image pixels (default: the whole frame)")
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--grid", type=int, default=20)
    args = ap.parse_args()
    image = read_frame(args.video, args.frame)
    crop = tuple(int(v) for v in args.crop.split(",")) if args.crop else (0, 0, image.shape[1], image.shape[0])
    gt = read_mot(args.gt, args.frame) if args.gt else []
    other = read_mot(args.other, args.frame) if args.other else []
    cv2.imwrite(args.output, draw(image, crop, args.scale, args.grid, gt, other))


if __name__ == "__main__":
    main()
