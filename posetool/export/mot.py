"""MOTChallenge results: ``frame,id,left,top,width,height,score,-1,-1,-1`` (1-based frames and pixels).

Instances without a ``track_id`` or a box are skipped (run ``posetool track`` first).
"""

from __future__ import annotations

from posetool import console
from posetool.export.common import output_file
from posetool.stream import StreamReader


def export_mot(reader: StreamReader, output: str, **_: object) -> int:
    rows = skipped = 0
    with output_file(output) as out:
        for frame in reader.frames():
            for inst in frame["instances"]:
                box, tid = inst.get("bbox"), inst.get("track_id")
                if box is None or tid is None:
                    skipped += 1
                    continue
                x1, y1, x2, y2 = box
                score = inst.get("score")
                out.write(f"{frame['frame'] + 1},{tid},{x1 + 1:.2f},{y1 + 1:.2f},{x2 - x1:.2f},{y2 - y1:.2f},"
                          f"{score if score is not None else 1:.4f},-1,-1,-1\n")
                rows += 1
    if skipped:
        console.warn(f"export mot: {skipped} instance(s) without track_id or bbox were skipped")
    return rows
