"""Pairing stream frame records with their video frames: the one helper every pixel stage uses."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from posetool.errors import StreamError, VideoError

Record = dict[str, Any]


def frames_with_images(records: Iterable[Record], video: Any) -> Iterator[tuple[Record, np.ndarray]]:
    """Each frame record with its decoded image (BGR uint8, H×W×3).

    ``video`` is any iterable of :class:`~posetool.video.sources.Frame` with a ``path``; the
    video is read forward only, so stream frames must increase (gaps are fine).
    """
    frames = iter(video)
    current = None
    for rec in records:
        index = int(rec["frame"])
        while current is None or current.index < index:
            try:
                current = next(frames)
            except StopIteration:
                raise VideoError(f"{video.path}: video ended before stream frame {index}; pass the video the "
                                 "stream was made from (--video)") from None
        if current.index != index:
            raise StreamError(f"stream frame {index} comes after video frame {current.index}; frames must increase")
        yield rec, current.image
