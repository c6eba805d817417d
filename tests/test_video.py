"""Frame sources: OpenCV video files and image folders, and their errors."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from posetool.errors import VideoError
from posetool.video.sources import open_video, video_for_stream


def _write_video(path: Path, frames: int = 6, size=(64, 48), fps: float = 20.0) -> list[np.ndarray]:
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    images = []
    for i in range(frames):
        img = np.full((size[1], size[0], 3), 20 * i, np.uint8)
        w.write(img)
        images.append(img)
    w.release()
    return images


def test_video_file_header_info_and_frames(tmp_path: Path):
    path = tmp_path / "v.mp4"
    images = _write_video(path)
    src = open_video(str(path))
    assert src.info() == {"path": str(path), "width": 64, "height": 48, "fps": 20.0, "frames": 6}
    frames = list(src)
    assert [f.index for f in frames] == list(range(6))
    assert frames[3].t == pytest.approx(3 / 20.0)
    # lossy codec: compare the mean brightness only
    assert [round(float(f.image.mean()) / 20) for f in frames] == [round(float(i.mean()) / 20) for i in images]


def test_image_folder_in_natural_order(tmp_path: Path):
    for i in (10, 2, 1):
        cv2.imwrite(str(tmp_path / f"frame{i}.png"), np.full((8, 12, 3), i, np.uint8))
    (tmp_path / "notes.txt").write_text("ignored")
    src = open_video(str(tmp_path), fps=5)
    assert (src.width, src.height, src.fps, src.frame_count) == (12, 8, 5.0, 3)
    assert [int(f.image[0, 0, 0]) for f in src] == [1, 2, 10]


def test_missing_corrupt_and_mismatched_sources(tmp_path: Path):
    with pytest.raises(VideoError, match="no such video file"):
        open_video(str(tmp_path / "missing.mp4"))
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 4)
    with pytest.raises(VideoError, match="cannot decode video"):
        open_video(str(bad))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(VideoError, match="holds no images"):
        open_video(str(empty))
    path = tmp_path / "v.mp4"
    _write_video(path)
    with pytest.raises(VideoError, match="stream was made from 640x480"):
        video_for_stream({"source": {"path": str(path), "width": 640, "height": 480}})
    with pytest.raises(VideoError, match="names no video"):
        video_for_stream({"source": {}})
