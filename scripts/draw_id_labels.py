"""Draw hand-labelled boxes and identities on video frames, to label and to check labels by eye.

Labels are one box per line, ``frame,id,x1,y1,x2,y2`` (pixels, frame indices 0-based; lines starting
with ``#`` are comments). Every labelled frame is drawn with its boxes, each identity in its own
colour with its number above the box; with ``--pairs`` each image shows a labelled frame beside the
next one, so an identity can be followed from frame to frame (the way the labels were made and checked).

    python scripts/draw_id_labels.py tests/data/vtest_ids.txt VIDEO --out runs/ids [--pairs] [--scale 1.0]

Writes ``frame_NNNNNN.png`` (or ``pair_NNNNNN.png``) into ``--out``.
"""

from __future__ import annotations

import argparse
import colorsys
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np


def read_labels(path: str) -> dict[int, list[tuple[int, tuple[float, float, float, float]]]]:
    """frame -> [(id, (x1, y1, x2, y2)), ...] from a label file."""
    labels: dict[int, list[tuple[int, tuple[float, float, float, float]]]] = defaultdict(list)
    for number, line in enumerate(Path(path).read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(",")
        if len(parts) != 6:
            raise SystemExit(f"{path}:{number}: expected frame,id,x1,y1,x2,y2, got {line!r}")
        frame, ident = int(parts[0]), int(parts[1])
        x1, y1, x2, y2 = map(float, parts[2:])
        labels[frame].append((ident, (x1, y1, x2, y2)))
    return dict(labels)


def colour(ident: int) -> tuple[int, int, int]:
    """A BGR colour per identity, hues spread by the golden ratio so neighbours differ."""
    r, g, b = colorsys.hsv_to_rgb((ident * 0.618034) % 1.0, 0.9, 1.0)
    return int(b * 255), int(g * 255), int(r * 255)


def draw(image: np.ndarray, boxes: list[tuple[int, tuple[float, float, float, float]]], frame: int) -> np.ndarray:
    """A copy of ``image`` with the boxes, their identities and the frame index drawn on it."""
    out = image.copy()
    for ident, (x1, y1, x2, y2) in boxes:
        c = colour(ident)
        cv2.rectangle(out, (int(x1), int(y1)), (int(x2), int(y2)), c, 2)
        cv2.putText(out, str(ident), (int(x1), max(12, int(y1) - 4)), cv2.FONT_HERSHEY_SIMPLEX, 0.7, c, 2)
    cv2.putText(out, f"frame {frame}", (10, 28), cv2.FONT_HERSHEY_SIMPLEX, 0.9, (255, 255, 255), 2)
    return out


def read_frames(video: str, wanted: set[int]) -> dict[int, np.ndarray]:
    """The frames of ``video`` whose indices are in ``wanted``."""
    cap = cv2.VideoCapture(video)
    if not cap.isOpened():
        raise SystemExit(f"{video}: cannot open")
    frames, index = {}, 0
    while index <= max(wanted):
        ok, image = cap.read()
        if not ok:
            break
        if index in wanted:
            frames[index] = image
        index += 1
    missing = sorted(wanted - frames.keys())
    if missing:
        raise SystemExit(f"{video}: labelled frames past the end of the video: {missing[:5]}")
    return frames


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("labels")
    ap.add_argument("video")
    ap.add_argument("--out", required=True)
    ap.add_argument("--pairs", action="store_true", help="each labelled frame beside the next one")
    ap.add_argument("--scale", type=float, default=1.0, help="resize the images by this factor")
    args = ap.parse_args()
    labels = read_labels(args.labels)
    frames = read_frames(args.video, set(labels))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    order = sorted(labels)
    drawn = {f: draw(frames[f], labels[f], f) for f in order}
    if args.scale != 1.0:
        drawn = {f: cv2.resize(im, None, fx=args.scale, fy=args.scale, interpolation=cv2.INTER_AREA)
                 for f, im in drawn.items()}
    if args.pairs:
        for a, b in zip(order, order[1:]):
            cv2.imwrite(str(out / f"pair_{a:06d}.png"), np.hstack([drawn[a], drawn[b]]))
    else:
        for f in order:
            cv2.imwrite(str(out / f"frame_{f:06d}.png"), drawn[f])
    print(f"{len(order)} labelled frames drawn into {out}")


if __name__ == "__main__":
    main()
