"""``eval mot``: py-motmetrics' own expected figures on its bundled TUD sequences, and streams."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import motmetrics as mm
import numpy as np
import pytest

from posetool.eval.mot import evaluate_mot, load_mot_inputs
from posetool.stream import StreamWriter, make_end, make_frame, make_header
from tests.conftest import run_posetool

DATA = Path(mm.__file__).parent / "data"

# motmetrics tests/test_metrics.py::test_motchallenge_files (IoU 0.5): IDF1, IDP, IDR, Rcll, Prcn,
# GT, MT, PT, ML, FP, FN, IDs, FM, MOTA, MOTP.
KEYS = ["idf1", "idp", "idr", "recall", "precision", "num_unique_objects", "mostly_tracked", "partially_tracked",
        "mostly_lost", "num_false_positives", "num_misses", "num_switches", "num_fragmentations", "mota", "motp"]
EXPECTED = {
    "TUD-Campus": [0.557659, 0.729730, 0.451253, 0.582173, 0.941441, 8, 1, 6, 1, 13, 150, 7, 7, 0.526462, 0.277201],
    "TUD-Stadtmitte": [0.644619, 0.819760, 0.531142, 0.608997, 0.939920, 10, 5, 4, 1, 45, 452, 7, 6, 0.564014, 0.345904],
    "OVERALL": [0.624296, 0.799176, 0.512211, 0.602640, 0.940268, 18, 6, 10, 2, 58, 602, 14, 13, 0.555116, 0.330177],
}


@pytest.fixture
def tud(tmp_path: Path) -> tuple[Path, Path]:
    gt, pr = tmp_path / "gt", tmp_path / "pred"
    pr.mkdir()
    for seq in ("TUD-Campus", "TUD-Stadtmitte"):
        (gt / seq / "gt").mkdir(parents=True)
        shutil.copy(DATA / seq / "gt.txt", gt / seq / "gt" / "gt.txt")
        shutil.copy(DATA / seq / "test.txt", pr / f"{seq}.txt")
    return pr, gt


def test_tud_reproduces_motmetrics_expected_values(tud):
    r = evaluate_mot(load_mot_inputs(str(tud[0]), str(tud[1])))
    for name, expected in EXPECTED.items():
        got = r["overall"] if name == "OVERALL" else r["sequences"][name]
        for key, want in zip(KEYS, expected):
            # the expected values are printed with 6 decimals: agree to half a unit of the last digit
            assert got[key] == pytest.approx(want, abs=5e-7), (name, key)
    # HOTA on the same data: py-motmetrics' README (checked there against TrackEval) gives
    # OVERALL DetA 39.8 %, AssA 41.2 %, HOTA 40.0 %.
    assert round(100 * r["overall"]["deta"], 1) == 39.8
    assert round(100 * r["overall"]["assa"], 1) == 41.2
    assert round(100 * r["overall"]["hota"], 1) == 40.0


def test_cli_tud_json_and_table(tud):
    out = run_posetool("eval", "mot", str(tud[0]), "--gt", str(tud[1]), "--json")
    assert out.returncode == 0, out.stderr.decode()
    assert json.loads(out.stdout)["overall"]["num_switches"] == 14
    table = run_posetool("eval", "mot", str(tud[0]), "--gt", str(tud[1]))
    assert table.returncode == 0 and b"OVERALL" in table.stdout and b"IDF1" in table.stdout


def _write_stream(path: Path, frames: list[list[tuple[int, list[float]]]]) -> None:
    with StreamWriter(str(path), "jsonl") as w:
        w.write(make_header({"path": "v.mp4", "frames": len(frames)}, "coco17"))
        for f, boxes in enumerate(frames):
            w.write(make_frame(f, f / 25, [{"track_id": t, "bbox": b, "score": 1.0} for t, b in boxes]))
        w.write(make_end(len(frames), sum(len(b) for b in frames)))


def test_streams_equal_motmetrics_direct(tmp_path):
    """Random boxes with jitter, drop-outs and id swaps: our figures equal a MOTAccumulator fed with
    motmetrics' own boxiou (x, y, w, h) on the same data."""
    rng = np.random.default_rng(3)
    base = rng.uniform(0, 500, size=(5, 2))
    gt_frames, pr_frames = [], []
    for f in range(30):
        g, p = [], []
        for k in range(5):
            x, y = base[k] + f * 3
            g.append((k, [x, y, x + 50, y + 120]))
            if rng.random() < 0.85:
                j = rng.normal(0, 6, 4)
                p.append(((k + (f // 10)) % 7 + 100, [x + j[0], y + j[1], x + 50 + j[2], y + 120 + j[3]]))
        if rng.random() < 0.3:
            p.append((200 + f, list(rng.uniform(0, 600, 2)) + [700.0, 700.0]))
        gt_frames.append(g)
        pr_frames.append(p)
    _write_stream(tmp_path / "gt.jsonl", gt_frames)
    _write_stream(tmp_path / "pr.jsonl", pr_frames)
    ours = evaluate_mot(load_mot_inputs(str(tmp_path / "pr.jsonl"), str(tmp_path / "gt.jsonl")), hota=False)["overall"]

    acc = mm.MOTAccumulator()
    for f, (g, p) in enumerate(zip(gt_frames, pr_frames)):
        gb = np.array([[b[0], b[1], b[2] - b[0], b[3] - b[1]] for _, b in g]).reshape(-1, 4)
        pb = np.array([[b[0], b[1], b[2] - b[0], b[3] - b[1]] for _, b in p]).reshape(-1, 4)
        d = 1 - mm.distances.boxiou(gb[:, None], pb[None, :]) if len(gb) and len(pb) else np.empty((0, 0))
        d = np.where(d > 0.5, np.nan, d)
        acc.update([t for t, _ in g], [t for t, _ in p], d, frameid=f + 1)
    ref = mm.metrics.create().compute(acc, metrics=mm.metrics.motchallenge_metrics, return_dataframe=False)
    for k in mm.metrics.motchallenge_metrics:
        assert ours[k] == pytest.approx(float(ref[k]), abs=1e-12), k
    assert ours["num_switches"] > 0 and ours["num_false_positives"] > 0


def test_mismatched_stream_lengths(tmp_path):
    _write_stream(tmp_path / "gt.jsonl", [[(1, [0, 0, 10, 10])]] * 4)
    _write_stream(tmp_path / "pr.jsonl", [[(1, [0, 0, 10, 10])]] * 3)
    out = run_posetool("eval", "mot", str(tmp_path / "pr.jsonl"), "--gt", str(tmp_path / "gt.jsonl"))
    assert out.returncode == 1
    assert "3 frames" in out.stderr.decode() and "4" in out.stderr.decode()
