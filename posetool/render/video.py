"""Render a pose stream over its video: an overlay video and/or PNG stills."""

from __future__ import annotations

import os
from collections.abc import Iterator

import cv2
import numpy as np

from posetool.errors import OutputError, PosetoolError
from posetool.progress import progress_bar
from posetool.render.overlay import OverlayStyle, check_drawable, draw_instances
from posetool.render.panel3d import draw_panel
from posetool.skeletons import get_skeleton
from posetool.stream import StreamReader
from posetool.video.sources import FrameSource


def _aligned(source: FrameSource, reader: StreamReader) -> Iterator[tuple[int, float, np.ndarray, list[dict]]]:
    """Video frames paired with their stream records (frames without a record get no people)."""
    records = reader.frames()
    pending = next(records, None)
    for frame in source:
        while pending is not None and pending["frame"] < frame.index:
            pending = next(records, None)
        people = pending["instances"] if pending is not None and pending["frame"] == frame.index else []
        yield frame.index, frame.t, frame.image, people


def compose(image: np.ndarray, people: list[dict], t: float, skeleton_2d, skeleton_3d, style: OverlayStyle,
            panel: bool) -> np.ndarray:
    """The overlay of one frame, with the 3D panel to its right when ``panel``."""
    out = draw_instances(image, people, skeleton_2d, style)
    if panel:
        h = out.shape[0]
        side = draw_panel(people, skeleton_3d, (h, h), t)
        out = np.concatenate([out, side], axis=1)
    return out


class FrameSink:
    """Where rendered frames go: an .mp4 (opened at the first frame, sized by it) and/or PNG stills.

    Args:
        output: the video path, or ``None`` for stills only.
        fps: the video's frame rate.
        png_dir: folder of the stills (created here), or ``None``.
        stills: frame indices written as PNG (``None``: every frame, when ``png_dir`` is given).
    """

    def __init__(self, output: str | None, fps: float, png_dir: str | None, stills: set[int] | None) -> None:
        self.output, self.fps, self.png_dir, self.stills = output, fps, png_dir, stills
        self.writer: cv2.VideoWriter | None = None
        if png_dir:
            try:
                os.makedirs(png_dir, exist_ok=True)
            except OSError as exc:
                raise OutputError(f"{png_dir}: cannot create the stills folder: {exc.strerror or exc}") from None

    def write(self, index: int, frame: np.ndarray) -> None:
        """Append ``frame`` (H, W, 3 BGR uint8) to the video and write it as a still if asked for."""
        if self.output is not None:
            if self.writer is None:
                self.writer = cv2.VideoWriter(self.output, cv2.VideoWriter_fourcc(*"mp4v"), self.fps,
                                              (frame.shape[1], frame.shape[0]))
                if not self.writer.isOpened():
                    raise PosetoolError(f"{self.output}: cannot write video (check the folder and the .mp4 suffix)")
            self.writer.write(frame)
        if self.png_dir and (self.stills is None or index in self.stills):
            still = os.path.join(self.png_dir, f"frame_{index:06d}.png")
            if not cv2.imwrite(still, frame):  # OpenCV reports a failed write only by its result
                raise OutputError(f"{still}: cannot write the still (check the folder and free space)")

    def __enter__(self) -> "FrameSink":
        return self

    def __exit__(self, *exc: object) -> None:
        if self.writer is not None:
            self.writer.release()


def render_stream(reader: StreamReader, source: FrameSource, output: str | None, style: OverlayStyle,
                  panel: bool | None = None, stills: set[int] | None = None, png_dir: str | None = None) -> int:
    """Draw ``reader`` over ``source``; write an .mp4 to ``output`` and/or PNGs of ``stills``.

    ``panel``: show the 3D side panel (default: when the stream has ``skeleton_3d``).
    Returns the number of frames rendered.
    """
    header = reader.header
    skel2d = get_skeleton(header["skeleton"]) if header.get("skeleton") else None
    skel3d_name = header.get("skeleton_3d")
    panel = bool(skel3d_name) if panel is None else panel
    skel3d = get_skeleton(skel3d_name or "h36m17")
    count = 0
    with FrameSink(output, source.fps, png_dir, stills) as sink, \
            progress_bar("render", source.frame_count or None) as bar:
        for index, t, image, people in _aligned(source, reader):
            if output is None and stills is not None and index > max(stills):
                break
            if output is None and stills is not None and index not in stills:
                continue
            check_drawable(people, f"frame {index}")
            sink.write(index, compose(image, people, t, skel2d, skel3d, style, panel))
            count += 1
            bar.advance()
    return count
