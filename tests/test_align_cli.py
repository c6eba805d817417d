"""The align commands end to end on a tiny synth pair: synth --action, align (nearest and DTW, CSV),
eval align, render --side-by-side, train align; errors name what is wrong."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from posetool.align.embedder import RawEmbedder
from posetool.align.evaluate import evaluate_performances
from posetool.align.sequences import load_performances
from posetool.hub.loader import load_model
from posetool.hub.registry import get_model_spec
from tests.conftest import run_posetool


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pair")
    for name, seed, extra in (("ref", 11, ["--view", "20", "--pause", "none"]),
                              ("query", 12, ["--view", "-40", "--tempo", "1.3", "--pause", "0.5:0.4"]),
                              ("third", 13, ["--no-render"])):
        proc = run_posetool("synth", str(root / name), "--action", "squat", "--seed", str(seed), "--width", "160",
                            "--height", "120", "-q", *extra)
        assert proc.returncode == 0, proc.stderr.decode()
    return root


@pytest.fixture(scope="module")
def aligned(pair: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The query aligned to the reference by nearest neighbours (shared by the align and render tests)."""
    out = tmp_path_factory.mktemp("aligned") / "aligned.jsonl"
    proc = run_posetool("align", str(pair / "ref" / "gt.jsonl"), str(pair / "query" / "gt.jsonl"), "-o", str(out), "-q")
    assert proc.returncode == 0, proc.stderr.decode()
    return out


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_synth_take_writes_the_phase(pair: Path):
    records = _jsonl(pair / "query" / "gt.jsonl")
    take = records[0]["stages"][0]["params"]["take"]
    assert take["action"] == "squat" and take["pauses"] == [[0.5, 0.4]] and take["tempo"] == 1.3
    phases = [r["instances"][0]["phase"] for r in records[1:-1]]
    assert phases[0] == 0.0 and phases[-1] == 1.0 and np.all(np.diff(phases) >= 0)
    assert sum(p == 0.5 for p in phases) >= 9  # 0.4 s held at 25 fps
    bad = run_posetool("synth", str(pair / "bad"), "--action", "squat", "--people", "2")
    assert bad.returncode == 2 and b"--people cannot be used with --action" in bad.stderr


def test_align_nearest_and_dtw_with_csv(pair: Path, aligned: Path, tmp_path: Path):
    out, table = tmp_path / "aligned.jsonl", tmp_path / "aligned.csv"
    proc = run_posetool("align", str(pair / "ref" / "gt.jsonl"), str(pair / "query" / "gt.jsonl"), "-o", str(out),
                        "--csv", str(table), "--dtw", "-q")
    assert proc.returncode == 0, proc.stderr.decode()
    records = _jsonl(out)
    assert records[0]["stages"][-1]["stage"] == "align" and records[0]["stages"][-1]["model"] == "align_any"
    n_ref = len(_jsonl(pair / "ref" / "gt.jsonl")) - 2
    matches = [r["instances"][0]["align"] for r in records[1:-1]]
    ref_frames = [m["ref_frame"] for m in matches]
    # DTW: monotonic, from the start to the end (a query frame held over several reference frames
    # keeps the closest of them, so the first match may lie a few still frames in)
    assert np.all(np.diff(ref_frames) >= 0) and ref_frames[0] <= 0.1 * n_ref and ref_frames[-1] >= 0.9 * (n_ref - 1)
    assert all(0 <= m["nn_frame"] < n_ref and 0 <= m["confidence"] <= 1 for m in matches)
    # the query's phase and its match's phase agree (the embedder knows a squat from any side)
    ref_phase = [r["instances"][0]["phase"] for r in _jsonl(pair / "ref" / "gt.jsonl")[1:-1]]
    q_phase = [r["instances"][0]["phase"] for r in records[1:-1]]
    assert np.mean(np.abs(np.array(q_phase) - np.array(ref_phase)[ref_frames])) < 0.1
    rows = list(csv.DictReader(table.open()))
    assert len(rows) == len(matches) and [int(r["ref_frame"]) for r in rows] == ref_frames
    assert rows[0].keys() >= {"frame", "t", "track_id", "ref_frame", "ref_t", "confidence", "nn_frame"}

    nn = _jsonl(aligned)
    assert nn[0]["stages"][-1]["params"]["method"] == "nearest"
    assert set(nn[1]["instances"][0]["align"]) == {"ref_frame", "confidence"}
    assert [r["instances"][0]["align"]["nn_frame"] for r in records[1:-1]] == \
        [r["instances"][0]["align"]["ref_frame"] for r in nn[1:-1]]

    missing = run_posetool("align", str(pair / "ref" / "gt.jsonl"), str(pair / "query" / "gt.jsonl"), "--track", "7")
    assert missing.returncode == 1 and b"no track 7; tracks: 1" in missing.stderr


def test_render_side_by_side(pair: Path, aligned: Path, tmp_path: Path):
    stills = tmp_path / "stills"
    proc = run_posetool("render", str(aligned), "--side-by-side", str(pair / "ref" / "gt.jsonl"), "--png", str(stills),
                        "--frames", "0,10", "-q")
    assert proc.returncode == 0, proc.stderr.decode()
    image = cv2.imread(str(stills / "frame_000010.png"))
    assert image.shape == (120, 320, 3)
    plain = run_posetool("render", str(pair / "query" / "gt.jsonl"), "--side-by-side", str(pair / "ref" / "gt.jsonl"),
                         "--png", str(tmp_path / "x"), "-q")
    assert plain.returncode == 1 and b"no align matches" in plain.stderr


def test_eval_and_train_align(pair: Path, tmp_path: Path):
    takes = [str(pair / n) for n in ("ref", "query", "third")]
    proc = run_posetool("eval", "align", *takes, "--labelled", "1", "--json")
    assert proc.returncode == 0, proc.stderr.decode()
    result = json.loads(proc.stdout)
    squat = result["actions"]["squat"]
    assert squat["takes"] == 3 and squat["pairs"] == 6 and -1 <= squat["tau"] <= 1
    assert {"phase_error_nn", "phase_error_dtw", "progression", "classification"} <= squat.keys()
    # the baseline the docs compare with (in-process: the CLI path differs only in the embedder)
    raw = evaluate_performances(load_performances(takes, 2), RawEmbedder(), labelled=1)
    assert raw["method"] == "raw keypoints" and raw["actions"]["squat"]["pairs"] == 6

    run = tmp_path / "run"
    proc = run_posetool("train", "align", *takes, "--out", str(run), "--epochs", "1", "--iterations", "2",
                        "--batch-size", "2", "--frames", "8", "-q", timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()
    assert (run / "model.safetensors").is_file() and (run / "checkpoint.pth").is_file()
    loaded = load_model("align_synth", task="align", weights=str(run / "model.safetensors"), device="cpu")
    assert loaded.weights_sha256 != get_model_spec("align_synth").weights.sha256


def test_align_raw3d_uses_the_3d_joints_and_says_when_they_are_missing(pair: Path, tmp_path: Path):
    table = tmp_path / "raw3d.csv"
    proc = run_posetool("align", str(pair / "ref" / "gt.jsonl"), str(pair / "query" / "gt.jsonl"), "--model", "raw3d",
                        "--dtw", "-o", str(tmp_path / "a.jsonl"), "--csv", str(table), "-q")
    assert proc.returncode == 0, proc.stderr.decode()
    records = _jsonl(tmp_path / "a.jsonl")
    assert records[0]["stages"][-1]["params"]["input"] == "keypoints_3d"
    # the ground-truth 3D of two squats filmed from 60 degrees apart: DTW keeps the phase
    ref_phase = np.array([r["instances"][0]["phase"] for r in _jsonl(pair / "ref" / "gt.jsonl")[1:-1]])
    q_phase = np.array([r["instances"][0]["phase"] for r in records[1:-1]])
    matched = [int(r["ref_frame"]) for r in csv.DictReader(table.open())]
    assert np.mean(np.abs(q_phase - ref_phase[matched])) < 0.05
    # a stream without lifted joints: one line that says what to run
    flat = tmp_path / "flat.jsonl"
    lines = []
    for rec in _jsonl(pair / "query" / "gt.jsonl"):
        for inst in rec["instances"] if isinstance(rec.get("instances"), list) else []:
            inst.pop("keypoints_3d", None)
        lines.append(json.dumps(rec))
    flat.write_text("\n".join(lines) + "\n")
    ref = str(pair / "ref" / "gt.jsonl")
    bad = run_posetool("align", ref, str(flat), "--model", "raw3d", "-o", str(tmp_path / "b.jsonl"))
    assert bad.returncode == 1 and b"no instance with keypoints_3d" in bad.stderr and b"lift3d" in bad.stderr
    assert len(bad.stderr.decode().strip().splitlines()) == 1
    no_3d = run_posetool("eval", "align", str(flat), "--model", "raw3d")
    assert no_3d.returncode == 1 and b"keypoints_3d (run posetool lift3d first)" in no_3d.stderr
    assert b"internal error" not in no_3d.stderr
    weights = run_posetool("align", ref, str(flat), "--model", "raw3d", "--weights", "x.safetensors")
    assert weights.returncode == 2 and b"takes no --weights" in weights.stderr
