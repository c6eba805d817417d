"""MOTChallenge text files: ``frame, id, x, y, w, h, conf, class, visibility[, unused]``.

Boxes in the file are 1-based (Matlab convention): the top-left pixel is (1, 1). The reader
keeps the file's numbers; :meth:`MotTable.boxes_xywh0` gives 0-based ``x, y, w, h`` exactly as
py-motmetrics' ``io.loadtxt`` does (it subtracts 1 from x and y). Fields may be separated by
commas, spaces or tabs. Rows keep their file order.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from posetool.data.files import read_text
from posetool.errors import PosetoolError

_SEP = re.compile(r"[,\s]+")


@dataclass
class MotTable:
    """Rows of a MOTChallenge file.

    Attributes:
        frames: (N,) int64 frame numbers as in the file (MOTChallenge counts from 1).
        ids: (N,) int64 object / track ids.
        boxes: (N, 4) float64 ``x, y, w, h`` as in the file (1-based).
        conf: (N,) confidence (GT files: 1 = consider, 0 = ignore; -1 when unused).
        cls: (N,) class id (-1 when absent).  vis: (N,) visibility (-1 when absent).
    """

    frames: np.ndarray
    ids: np.ndarray
    boxes: np.ndarray
    conf: np.ndarray
    cls: np.ndarray
    vis: np.ndarray

    def __len__(self) -> int:
        return len(self.frames)

    def boxes_xywh0(self) -> np.ndarray:
        """(N, 4) 0-based ``x, y, w, h`` (py-motmetrics' convention after loading)."""
        b = self.boxes.copy()
        b[:, :2] -= 1
        return b

    def select(self, mask: np.ndarray) -> MotTable:
        return MotTable(self.frames[mask], self.ids[mask], self.boxes[mask], self.conf[mask], self.cls[mask], self.vis[mask])


def read_mot_txt(path: str | os.PathLike[str], min_confidence: float = -1.0) -> MotTable:
    """Read a MOTChallenge file; rows with confidence < ``min_confidence`` are dropped (motmetrics' default -1)."""
    p = Path(path)
    text = read_text(p, "a MOTChallenge txt file")
    rows: list[list[float]] = []
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        parts = [x for x in _SEP.split(line) if x]
        if len(parts) < 7:
            raise PosetoolError(f"{p}: line {n} has {len(parts)} fields; MOTChallenge rows need frame,id,x,y,w,h,conf[,class,vis]")
        try:
            vals = [float(x) for x in parts[:9]]
        except ValueError:
            raise PosetoolError(f"{p}: line {n} is not numeric: {line[:60]!r}") from None
        rows.append(vals + [-1.0] * (9 - len(vals)))
    a = np.asarray(rows, dtype=np.float64).reshape(-1, 9)
    t = MotTable(a[:, 0].astype(np.int64), a[:, 1].astype(np.int64), a[:, 2:6].copy(), a[:, 6], a[:, 7], a[:, 8])
    return t.select(t.conf >= min_confidence)


def write_mot_txt(path: str | os.PathLike[str], table: MotTable) -> None:
    """Write rows as comma-separated MOTChallenge text."""
    with open(path, "w", encoding="utf-8") as fh:
        rows = zip(table.frames, table.ids, table.boxes, table.conf, table.cls, table.vis)
        fh.writelines(f"{f},{i},{b[0]:.3f},{b[1]:.3f},{b[2]:.3f},{b[3]:.3f},{c:g},{k:g},{v:g}\n" for f, i, b, c, k, v in rows)
