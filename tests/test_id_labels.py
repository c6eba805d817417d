"""The hand-labelled identities of vtest.avi (tests/data/vtest_ids.txt) and the tool that draws them."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from draw_id_labels import colour, draw, read_labels  # noqa: E402


def test_label_file_is_complete_and_well_formed():
    labels = read_labels(str(ROOT / "tests" / "data" / "vtest_ids.txt"))
    assert sorted(labels) == list(range(0, 100, 5))
    ids = {i for boxes in labels.values() for i, _ in boxes}
    assert ids == set(range(1, 8))
    for frame, boxes in labels.items():
        assert len({i for i, _ in boxes}) == len(boxes), f"frame {frame}: an identity twice"
        for _, (x1, y1, x2, y2) in boxes:
            assert 0 <= x1 < x2 <= 768 and 0 <= y1 < y2 <= 576
    # the three people labelled from the first frame are there in every labelled frame
    assert all({1, 2, 3} <= {i for i, _ in boxes} for boxes in labels.values())


def test_draw_puts_each_identity_in_its_colour(tmp_path: Path):
    image = np.zeros((100, 120, 3), np.uint8)
    out = draw(image, [(1, (10, 20, 40, 90)), (2, (60, 20, 100, 90))], 0)
    assert tuple(out[50, 10]) == colour(1) and tuple(out[50, 100]) == colour(2)
    assert colour(1) != colour(2) and not image.any()  # the input is not drawn on
    bad = tmp_path / "bad.txt"
    bad.write_text("0,1,2,3\n")
    with pytest.raises(SystemExit, match="expected frame,id,x1,y1,x2,y2"):
        read_labels(str(bad))
