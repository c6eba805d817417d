"""Two takes side by side in lock-step: each query frame next to the reference frame it is aligned to.

The query stream carries ``align: {ref_frame, confidence}`` on the aligned instances (written by
``posetool align``). Every query frame is drawn over its video on the left; on the right, the
reference video's frame ``ref_frame`` with the reference stream's people drawn over it, scaled to
the query's height, with captions naming both frames and the confidence. Query frames without a
match show a grey panel.

The reference video is decoded once, forward, keeping only the frames some query frame points
at (already drawn and scaled, so memory stays at one small panel per matched frame).
"""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import numpy as np

from posetool.errors import PosetoolError
from posetool.progress import progress_bar
from posetool.render.overlay import OverlayStyle, check_drawable, draw_instances
from posetool.render.video import FrameSink
from posetool.skeletons import Skeleton, get_skeleton
from posetool.stream import StreamReader
from posetool.video.sources import FrameSource

Record = dict


def _skeleton(header: dict) -> Skeleton | None:
    return get_skeleton(header["skeleton"]) if header.get("skeleton") else None


def _match(record: Record | None) -> dict | None:
    """The ``align`` map of the first aligned instance of a frame record."""
    for inst in (record or {}).get("instances") or []:
        if isinstance(inst.get("align"), dict):
            return inst["align"]
    return None


def _scaled(image: np.ndarray, height: int) -> np.ndarray:
    h, w = image.shape[:2]
    return cv2.resize(image, (max(1, round(w * height / h)), height), interpolation=cv2.INTER_AREA)


def _caption(image: np.ndarray, text: str) -> None:
    for color, width in (((0, 0, 0), 4), ((255, 255, 255), 1)):
        cv2.putText(image, text, (8, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.6, color, width, cv2.LINE_AA)


def reference_panels(reference: StreamReader, source: FrameSource, wanted: set[int], height: int,
                     style: OverlayStyle) -> dict[int, np.ndarray]:
    """Reference frames ``wanted`` drawn with their people, scaled to ``height`` pixels."""
    skeleton = _skeleton(reference.header)
    records = {int(r["frame"]): r for r in reference.frames()}
    panels: dict[int, np.ndarray] = {}
    for frame in source:
        if frame.index in wanted:
            people = (records.get(frame.index) or {}).get("instances") or []
            check_drawable(people, f"reference frame {frame.index}")
            panels[frame.index] = _scaled(draw_instances(frame.image, people, skeleton, style), height)
        if frame.index >= max(wanted, default=-1):
            break
    missing = sorted(wanted - panels.keys())
    if missing:
        raise PosetoolError(f"{source.path}: the reference video has no frame {missing[0]} (the alignment points "
                            "at it); pass the video the reference stream was made from (--ref-video)")
    return panels


def _query_frames(source: FrameSource, records: list[Record]) -> Iterator[tuple[int, np.ndarray, Record | None]]:
    by_frame = {int(r["frame"]): r for r in records}
    for frame in source:
        yield frame.index, frame.image, by_frame.get(frame.index)


def render_side_by_side(query: StreamReader, q_source: FrameSource, reference: StreamReader, r_source: FrameSource,
                        output: str | None, style: OverlayStyle, stills: set[int] | None = None,
                        png_dir: str | None = None) -> int:
    """Write the lock-step video to ``output`` and/or PNG ``stills``; returns the frames rendered."""
    records = list(query.frames())
    if not any(_match(r) for r in records):
        raise PosetoolError("the query stream has no align matches; run posetool align REFERENCE QUERY first")
    height = q_source.height
    wanted = {int(_match(r)["ref_frame"]) for r in records if _match(r)
              and (output is not None or stills is None or int(r["frame"]) in stills)}
    panels = reference_panels(reference, r_source, wanted, height, style)
    ref_width = next(iter(panels.values())).shape[1] if panels else q_source.width
    skeleton = _skeleton(query.header)
    count = 0
    with FrameSink(output, q_source.fps, png_dir, stills) as sink, \
            progress_bar("render", q_source.frame_count or None) as bar:
        for index, image, record in _query_frames(q_source, records):
            if output is None and stills is not None and (index not in stills):
                if index > max(stills):
                    break
                continue
            people = (record or {}).get("instances") or []
            check_drawable(people, f"frame {index}")
            left = draw_instances(image, people, skeleton, style)
            _caption(left, f"query {index}")
            match = _match(record)
            if match is not None:
                right = panels[int(match["ref_frame"])].copy()
                _caption(right, f"reference {int(match['ref_frame'])}  conf {float(match['confidence']):.2f}")
            else:
                right = np.full((height, ref_width, 3), 64, np.uint8)
                _caption(right, "reference: no match")
            sink.write(index, np.concatenate([left, right], axis=1))
            count += 1
            bar.advance()
    return count
