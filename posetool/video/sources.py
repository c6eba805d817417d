"""Frame sources: video files through OpenCV and folders of images.

Both give BGR ``uint8`` arrays of shape (H, W, 3) frame by frame, with the width, height, fps
and frame count that stream headers carry (:meth:`FrameSource.info`). A missing, unreadable or
corrupt source raises :class:`VideoError` with the path and what is wrong.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from posetool.errors import VideoError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
DEFAULT_FOLDER_FPS = 25.0


@dataclass(frozen=True)
class Frame:
    """One decoded frame: 0-based ``index``, time ``t`` in seconds, BGR ``image`` (H, W, 3)."""

    index: int
    t: float
    image: np.ndarray


def _natural_key(name: str) -> list[Any]:
    return [int(p) if p.isdigit() else p.lower() for p in re.split(r"(\d+)", name)]


class FrameSource:
    """Base class: iterate :class:`Frame` objects; ``width``, ``height``, ``fps``, ``frame_count``."""

    path: str
    width: int
    height: int
    fps: float
    frame_count: int

    def __iter__(self) -> Iterator[Frame]:
        raise NotImplementedError

    def info(self) -> dict[str, Any]:
        """The ``source`` map of a stream header."""
        return {
            "path": self.path,
            "width": self.width,
            "height": self.height,
            "fps": self.fps,
            "frames": self.frame_count,
        }

    def close(self) -> None:
        pass

    def __enter__(self) -> "FrameSource":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class VideoFileSource(FrameSource):
    """A video file decoded by OpenCV (FFmpeg backend)."""

    def __init__(self, path: str) -> None:
        if not os.path.exists(path):
            raise VideoError(f"{path}: no such video file")
        self.path = path
        cap = cv2.VideoCapture(path)
        ok, first = cap.read() if cap.isOpened() else (False, None)
        if not ok or first is None:
            cap.release()
            raise VideoError(f"{path}: cannot decode video (corrupt file or unsupported codec)")
        self._cap = cap
        self._first: np.ndarray | None = first
        self.height, self.width = first.shape[:2]
        fps = cap.get(cv2.CAP_PROP_FPS)
        self.fps = float(fps) if fps and np.isfinite(fps) and fps > 0 else DEFAULT_FOLDER_FPS
        count = cap.get(cv2.CAP_PROP_FRAME_COUNT)
        self.frame_count = int(count) if count and count > 0 else 0

    def __iter__(self) -> Iterator[Frame]:
        if self._first is None:
            raise VideoError(f"{self.path}: a video source can be iterated once; open it again")
        image, self._first = self._first, None
        index = 0
        while image is not None:
            yield Frame(index, index / self.fps, image)
            index += 1
            ok, image = self._cap.read()
            if not ok:
                image = None
        self.close()

    def close(self) -> None:
        self._cap.release()


class ImageFolderSource(FrameSource):
    """A folder of images in natural-sort order (``frame2.png`` before ``frame10.png``)."""

    def __init__(self, path: str, fps: float = DEFAULT_FOLDER_FPS) -> None:
        self.path = path
        names = sorted((n for n in os.listdir(path) if n.lower().endswith(IMAGE_SUFFIXES)), key=_natural_key)
        if not names:
            raise VideoError(f"{path}: folder holds no images ({', '.join(IMAGE_SUFFIXES)})")
        self.files = [os.path.join(path, n) for n in names]
        first = self._load(self.files[0])
        self.height, self.width = first.shape[:2]
        self.fps = float(fps)
        self.frame_count = len(self.files)

    def _load(self, file: str) -> np.ndarray:
        image = cv2.imread(file, cv2.IMREAD_COLOR)
        if image is None:
            raise VideoError(f"{file}: cannot decode image")
        return image

    def __iter__(self) -> Iterator[Frame]:
        for index, file in enumerate(self.files):
            image = self._load(file)
            if image.shape[:2] != (self.height, self.width):
                raise VideoError(
                    f"{file}: image is {image.shape[1]}x{image.shape[0]}, the folder's first image is "
                    f"{self.width}x{self.height}; all frames must share one size"
                )
            yield Frame(index, index / self.fps, image)


def open_video(path: str, fps: float | None = None) -> FrameSource:
    """Open a video file or an image folder. ``fps`` applies to folders (default 25)."""
    if not path:
        raise VideoError("no video given: pass a video file or image folder (or use a stream whose header names one)")
    if os.path.isdir(path):
        return ImageFolderSource(path, fps or DEFAULT_FOLDER_FPS)
    return VideoFileSource(path)


def video_for_stream(header: dict[str, Any], override: str | None = None) -> FrameSource:
    """Open the video a stream's header names, or ``override`` (``--video``) when given."""
    path = override or (header.get("source") or {}).get("path")
    if not path:
        raise VideoError("the stream header names no video; pass --video PATH")
    src = open_video(path, (header.get("source") or {}).get("fps"))
    declared = header.get("source") or {}
    if declared.get("width") and (declared.get("width"), declared.get("height")) != (src.width, src.height):
        raise VideoError(
            f"{path}: video is {src.width}x{src.height} but the stream was made from "
            f"{declared.get('width')}x{declared.get('height')}; pass the matching --video"
        )
    return src
