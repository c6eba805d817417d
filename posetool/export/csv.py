"""DeepLabCut-style multi-animal CSV: header rows scorer / individuals / bodyparts / coords
(``x``, ``y``, ``likelihood``), then one row per frame; individuals are ``track{id}``.

The header needs every track, so the whole stream is read before writing (T × tracks × K values).
"""

from __future__ import annotations

import numpy as np

from posetool.errors import PosetoolError
from posetool.export.common import absent_where_unplaced, output_file
from posetool.skeletons import get_skeleton
from posetool.stream import StreamReader
from posetool.stream.encoding import points_array


def export_csv(reader: StreamReader, output: str, scorer: str = "posetool", **_: object) -> int:
    skeleton = reader.header.get("skeleton")
    if not skeleton:
        raise PosetoolError("the stream has no 2D skeleton; nothing to write as CSV")
    names = get_skeleton(skeleton).keypoints
    rows: list[tuple[int, dict[int, list]]] = []
    tracks: set[int] = set()
    for frame in reader.frames():
        people = {int(i["track_id"]): i["keypoints"] for i in frame["instances"]
                  if i.get("track_id") is not None and i.get("keypoints") is not None}
        tracks |= set(people)
        rows.append((frame["frame"], people))
    order = sorted(tracks)
    with output_file(output) as out:
        cols = [(f"track{t}", n, c) for t in order for n in names for c in ("x", "y", "likelihood")]
        out.write(",".join(["scorer"] + [scorer] * len(cols)) + "\n")
        out.write(",".join(["individuals"] + [c[0] for c in cols]) + "\n")
        out.write(",".join(["bodyparts"] + [c[1] for c in cols]) + "\n")
        out.write(",".join(["coords"] + [c[2] for c in cols]) + "\n")
        for f, people in rows:
            vals = []
            for t in order:
                kps = people.get(t)
                arr = (absent_where_unplaced(points_array(kps))
                       if kps is not None else np.full((len(names), 3), np.nan))
                vals += ["" if not np.isfinite(v) else f"{v:.3f}" for v in arr.reshape(-1)]
            out.write(",".join([str(f)] + vals) + "\n")
    return len(rows)
