"""posetool run equals the same stages piped one by one, record by record; demo prints its table."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from posetool.stream import read_stream
from tests.conftest import REPO, run_posetool


def test_run_chain_equals_piped_stages(tmp_path: Path):
    syn = tmp_path / "syn"
    res = run_posetool("synth", str(syn), "--people", "3", "--frames", "8", "--width", "320", "--height", "240",
                       "--seed", "4242", "-q")
    assert res.returncode == 0, res.stderr
    video = syn / "video.mp4"
    pt = f"{sys.executable} -m posetool"
    piped = tmp_path / "piped.jsonl"
    gt = syn / "gt.jsonl"  # oracle boxes: every later stage has people to work on
    cmd = (f"{pt} detect {video} --model gt --gt {gt} --score-thr 0.5 -q | {pt} pose2d -q | {pt} correspond -q | "
           f"{pt} recover -q | {pt} track --similarity corr:0.5,oks:0.5 -q | {pt} lift3d -q -o {piped}")
    out = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], capture_output=True, cwd=REPO, timeout=600)
    assert out.returncode == 0, out.stderr.decode()
    together = tmp_path / "run.jsonl"
    res = run_posetool("run", str(video), "--preset", "synth", "--detect-model", "gt", "--gt", str(gt),
                       "-o", str(together), timeout=600)
    assert res.returncode == 0, res.stderr
    assert b"stage timing: detect" in res.stderr
    a, b = read_stream(str(piped)), read_stream(str(together))
    assert [r["type"] for r in a] == ["header"] + ["frame"] * 8 + ["end"]
    assert [s["stage"] for s in a[0]["stages"]] == ["detect", "pose2d", "correspond", "recover", "track", "lift3d"]
    for i, (x, y) in enumerate(zip(a, b)):
        assert x == y, f"record {i + 1} differs"
    assert len(a) == len(b)
    assert any(inst.get("keypoints_3d") for r in a[1:-1] for inst in r["instances"])


def test_run_errors(tmp_path: Path):
    bad = run_posetool("run", str(tmp_path / "missing.mp4"), "--preset", "synth")
    assert bad.returncode == 1 and b"no such video" in bad.stderr
    preset = run_posetool("run", str(tmp_path / "missing.mp4"), "--preset", "nope")
    assert preset.returncode == 2 and b"--preset must be one of" in preset.stderr
