"""posetool run equals the same stages piped one by one, record by record; demo prints its table."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from posetool.stream import read_stream
from tests.conftest import REPO, run_posetool


def one_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """One thread in every posetool process this test starts: torch may round the last bit of a float
    differently at another thread count, and piped stages take fewer threads than run by default
    (README: pipes and run)."""
    monkeypatch.setenv("POSETOOL_THREADS", "1")


def readme_pipe() -> str:
    """README's piped chain (section "Pipelines", the block after the comment naming run --preset synth)."""
    lines = (REPO / "README.md").read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("# the same stages piped one by one")) + 1
    command = []
    for line in lines[start:]:
        command.append(line.strip().removesuffix("\\").strip())
        if not line.rstrip().endswith("\\"):
            break
    return " ".join(command)


def test_readme_pipe_with_defaults_equals_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The pipe README documents, with default options, gives the records of `run --preset synth` (issue #18)."""
    one_thread(monkeypatch)
    monkeypatch.setenv("POSETOOL_PROGRESS_INTERVAL", "0")  # a progress line per frame (stderr is no terminal here)
    pipe = readme_pipe()
    assert pipe.startswith("posetool detect clip.mp4 ") and pipe.endswith(" -o poses.msgpack"), pipe
    syn = tmp_path / "syn"
    res = run_posetool("synth", str(syn), "--people", "4", "--frames", "10", "--seed", "7", "-q")
    assert res.returncode == 0, res.stderr
    video = syn / "video.mp4"
    piped, together = tmp_path / "piped.msgpack", tmp_path / "run.msgpack"
    cmd = (pipe.replace("clip.mp4", str(video)).replace("poses.msgpack", str(piped))
           .replace("posetool ", f"{sys.executable} -m posetool "))
    out = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], capture_output=True, cwd=REPO, timeout=600)
    assert out.returncode == 0, out.stderr.decode()
    res = run_posetool("run", str(video), "--preset", "synth", "-o", str(together), timeout=600)
    assert res.returncode == 0, res.stderr.decode()
    assert b"stage timing: detect" in res.stderr
    # progress: run's count advances frame by frame; every piped stage prints its own plain lines
    run_lines = [line.split(" (")[0] for line in res.stderr.decode().splitlines() if line.startswith("run: ")]
    assert run_lines[:10] == [f"run: {i}/10 frames" for i in range(1, 11)], res.stderr.decode()
    for stage in ("detect (centernet_r18_synth_ft)", "pose2d", "correspond", "recover", "track", "lift3d"):
        assert f"{stage}: 10/10 frames (100 %) in ".encode() in out.stderr, out.stderr.decode()
    a, b = read_stream(str(piped)), read_stream(str(together))
    assert [s["stage"] for s in a[0]["stages"]] == ["detect", "pose2d", "correspond", "recover", "track", "lift3d"]
    assert a[0]["stages"][0]["params"]["score_thr"] == 0.4  # centernet_r18_synth_ft's measured default
    assert a[0]["stages"][4]["params"]["similarity"] == "corr:0.5,oks:0.5"  # auto, with correspondences
    assert len(a) == len(b)
    for i, (x, y) in enumerate(zip(a, b)):
        assert x == y, f"record {i + 1} differs"
    assert sum(len(r["instances"]) for r in a[1:-1]) > 0
    assert any(inst.get("track_id") is not None for r in a[1:-1] for inst in r["instances"])
    assert any(inst.get("keypoints_3d") for r in a[1:-1] for inst in r["instances"])


def test_run_errors(tmp_path: Path):
    bad = run_posetool("run", str(tmp_path / "missing.mp4"), "--preset", "synth")
    assert bad.returncode == 1 and b"no such video" in bad.stderr
    preset = run_posetool("run", str(tmp_path / "missing.mp4"), "--preset", "nope")
    assert preset.returncode == 2 and b"--preset must be one of" in preset.stderr


def test_run_tracks_with_correspondence_weights_the_user_trained(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """`run --correspond-weights FILE` (e.g. a model fine-tuned on this video with `train correspond
    --init`) uses that file in correspond and in recover's re-queries: the stream records its sha256."""
    from posetool.hub.weights import sha256_file

    one_thread(monkeypatch)
    syn = tmp_path / "syn"
    assert run_posetool("synth", str(syn), "--people", "2", "--frames", "4", "--seed", "7", "-q").returncode == 0
    # correspond_real's file has the architecture of correspond_r18_synth: a stand-in for a fine-tuned file
    tuned = REPO / "posetool" / "weights" / "correspond_real.safetensors"
    out = tmp_path / "run.msgpack"
    res = run_posetool("run", str(syn / "video.mp4"), "--preset", "synth", "--correspond-weights", str(tuned),
                       "--no-lift", "-o", str(out), "-q", timeout=600)
    assert res.returncode == 0, res.stderr.decode()
    stages = {s["stage"]: s for s in read_stream(str(out))[0]["stages"]}
    assert stages["correspond"]["model"] == "correspond_r18_synth"
    assert stages["correspond"]["weights_sha256"] == sha256_file(tuned)
    assert stages["recover"]["params"]["corr_weights_sha256"] == sha256_file(tuned)  # its re-queries too
    missing = run_posetool("run", str(syn / "video.mp4"), "--preset", "synth", "--correspond-weights",
                           str(tmp_path / "nope.safetensors"), "-o", str(tmp_path / "x.msgpack"))
    assert missing.returncode == 2 and b"--correspond-weights" in missing.stderr
    assert not (tmp_path / "x.msgpack").exists()


def test_run_labels_left_right_with_weights_the_user_trained(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """`run --lr-consistency learned --lr-weights FILE` (best.safetensors of `train leftright`) hands
    the file to the tracker as `track --lr-weights` does (also with the default `auto`, which is
    learned for COCO-17); with `offline` or `none` it is one usage error."""
    one_thread(monkeypatch)
    syn = tmp_path / "syn"
    assert run_posetool("synth", str(syn), "--people", "2", "--frames", "4", "--seed", "7", "-q").returncode == 0
    mine = tmp_path / "my_labeller.safetensors"
    mine.write_bytes((REPO / "posetool" / "weights" / "leftright_synth.safetensors").read_bytes())
    out = tmp_path / "run.msgpack"
    res = run_posetool("run", str(syn / "video.mp4"), "--preset", "synth", "--lr-consistency", "learned",
                       "--lr-weights", str(mine), "--no-lift", "-o", str(out), "-q", timeout=600)
    assert res.returncode == 0, res.stderr.decode()
    track = {s["stage"]: s for s in read_stream(str(out))[0]["stages"]}["track"]
    assert "my_labeller.safetensors" in json.dumps(track)
    auto = tmp_path / "auto.msgpack"
    res = run_posetool("run", str(syn / "video.mp4"), "--preset", "synth", "--lr-weights", str(mine), "--no-lift",
                       "-o", str(auto), "-q", timeout=600)
    assert res.returncode == 0, res.stderr.decode()
    track = {s["stage"]: s for s in read_stream(str(auto))[0]["stages"]}["track"]
    assert track["params"]["lr_consistency"] == "learned" and "my_labeller.safetensors" in json.dumps(track)
    wrong = run_posetool("run", str(syn / "video.mp4"), "--preset", "synth", "--lr-consistency", "offline",
                         "--lr-weights", str(mine), "-o", str(tmp_path / "x.msgpack"))
    assert wrong.returncode == 2 and b"--lr-consistency learned" in wrong.stderr
    assert len(wrong.stderr.strip().splitlines()) == 1 and not (tmp_path / "x.msgpack").exists()
