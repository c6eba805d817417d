"""Point-in-polygon for PoseTrack ignore regions (what poseval asks shapely's ``Polygon.contains``).

``contains`` is strict: a point on the boundary is not inside. Polygons are closed implicitly.
"""

from __future__ import annotations

import numpy as np


def points_in_polygon(points: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """Which points lie strictly inside a polygon (even-odd rule, boundary excluded).

    Args:
        points: (N, 2) x, y.
        polygon: (V, 2) vertices, V >= 3, in order; the last edge closes back to the first.

    Returns:
        (N,) bool.
    """
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    poly = np.asarray(polygon, dtype=np.float64).reshape(-1, 2)
    if len(poly) < 3 or len(pts) == 0:
        return np.zeros(len(pts), dtype=bool)
    x, y = pts[:, 0:1], pts[:, 1:2]  # (N, 1) against (1, V) edges
    x1, y1 = poly[:, 0][None], poly[:, 1][None]
    x2, y2 = np.roll(poly[:, 0], -1)[None], np.roll(poly[:, 1], -1)[None]
    # even-odd crossings of a ray towards +x
    straddle = (y1 > y) != (y2 > y)
    with np.errstate(divide="ignore", invalid="ignore"):
        x_cross = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
    inside = np.logical_xor.reduce(straddle & (x < x_cross), axis=1)
    # boundary: collinear with an edge and within its extent
    cross = (x2 - x1) * (y - y1) - (y2 - y1) * (x - x1)
    within = (np.minimum(x1, x2) <= x) & (x <= np.maximum(x1, x2)) & (np.minimum(y1, y2) <= y) & (y <= np.maximum(y1, y2))
    on_edge = ((cross == 0) & within).any(axis=1)
    return inside & ~on_edge
