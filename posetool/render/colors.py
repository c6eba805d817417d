"""Stable, distinct colours per track id (golden-ratio hue steps), in OpenCV's BGR order."""

from __future__ import annotations

import colorsys

UNTRACKED = (200, 200, 200)


def track_color(track_id: int | None) -> tuple[int, int, int]:
    """A saturated BGR colour for a track id; light grey for untracked people."""
    if track_id is None:
        return UNTRACKED
    hue = (track_id * 0.618033988749895) % 1.0
    r, g, b = colorsys.hsv_to_rgb(hue, 0.85, 1.0)
    return int(b * 255), int(g * 255), int(r * 255)
