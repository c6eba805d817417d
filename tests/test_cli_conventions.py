"""The CLI frame: real subprocess pipes, exit codes, stderr-only logs, shared options."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest

from posetool.stream import read_stream
from tests.conftest import posetool_cmd, run_posetool, sample_records, write_records

STAGES = ["detect", "pose2d", "correspond", "recover", "track", "lift3d", "align"]


def test_cat_pipe_into_cat_and_head_ends_quietly(tmp_path: Path):
    path = write_records(tmp_path / "big.msgpack", sample_records(frames=400, people=5))
    # posetool cat FILE | posetool cat --to jsonl | head -1
    first = subprocess.Popen(posetool_cmd("cat", str(path)), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    second = subprocess.Popen(posetool_cmd("cat", "--to", "jsonl"), stdin=first.stdout, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
    first.stdout.close()
    head = subprocess.run(["head", "-1"], stdin=second.stdout, capture_output=True, timeout=60)
    second.stdout.close()
    err2 = second.stderr.read()
    err1 = first.stderr.read()
    assert second.wait(timeout=60) == 0 and first.wait(timeout=60) == 0
    assert head.stdout.startswith(b'{"type":"header"')
    assert err1 == b"" and err2 == b"", (err1, err2)


def test_cat_pipe_roundtrip_is_lossless(stream_file: Path):
    a = subprocess.run(posetool_cmd("cat", str(stream_file), "--to", "jsonl"), capture_output=True, check=True)
    b = subprocess.run(posetool_cmd("cat", "--to", "msgpack"), input=a.stdout, capture_output=True, check=True)
    assert read_stream(io.BytesIO(b.stdout)) == read_stream(str(stream_file))
    assert b.stderr == b""


def test_only_records_on_stdout_and_logs_on_stderr(tmp_path: Path):
    path = write_records(tmp_path / "t.jsonl", sample_records(frames=2)[:-1], "jsonl")
    out = run_posetool("cat", str(path), "--to", "jsonl")
    assert out.returncode == 0
    assert all(line.startswith(b"{") for line in out.stdout.splitlines())
    assert b"warning" in out.stderr


@pytest.mark.parametrize("stage", STAGES)
def test_stage_options_follow_conventions(stage: str):
    out = run_posetool(stage, "--help")
    assert out.returncode == 0
    text = out.stdout.decode()
    for opt in ("--output", "--format", "--quiet", "--debug"):
        assert opt in text, f"{stage} lacks {opt}"
    if stage != "track":
        for opt in ("--device", "--model", "--weights"):
            assert opt in text, f"{stage} lacks {opt}"
    if stage not in ("track", "align"):  # align embeds each whole sequence at once
        assert "--batch-size" in text, f"{stage} lacks --batch-size"
    assert "_" not in " ".join(w for w in text.split() if w.startswith("--"))


HELPERS = ["synth", "run", "render", "demo", "export", "inspect", "cat"]
GROUPS = {
    "train": ["detect", "pose2d", "correspond", "lift3d", "align", "smooth", "leftright"],
    "eval": ["pose", "boxes", "track", "mot", "lift", "correspond", "align", "trust"],
    "weights": ["list", "path", "pull", "verify"],
}
# Every command line a user can type, as "posetool <words> --help" takes it.
COMMANDS = STAGES + HELPERS + list(GROUPS) + [f"{g} {sub}" for g, subs in GROUPS.items() for sub in subs]


def test_every_command_is_registered():
    """The registered command names are exactly the stages, the helpers and the groups' commands."""
    import typer

    from posetool.cli import app

    root = typer.main.get_command(app)  # the click group the console script runs, names resolved as the CLI does
    assert set(root.commands) == set(STAGES + HELPERS + list(GROUPS))
    for group, subs in GROUPS.items():
        assert set(root.commands[group].commands) == set(subs), group


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_answers_help(command: str):
    """``posetool X --help`` runs through the real entry point, exits 0 and names X in its usage line."""
    out = run_posetool(*command.split(), "--help")
    assert out.returncode == 0, out.stderr.decode()
    usage = [line.strip() for line in out.stdout.decode().splitlines() if line.strip().startswith("Usage:")]
    assert usage and usage[0].startswith(f"Usage: posetool {command} "), usage


def test_usage_error_exits_2_and_runtime_error_exits_1(tmp_path: Path):
    assert run_posetool("cat", "--no-such-flag").returncode == 2
    missing = run_posetool("cat", str(tmp_path / "nope.msgpack"))
    assert missing.returncode == 1
    assert missing.stderr.decode().strip() == f"posetool cat: error: {tmp_path / 'nope.msgpack'}: no such file"
    unknown = run_posetool("weights", "path", "no-such-model")
    assert unknown.returncode == 2 and b"unknown model 'no-such-model'" in unknown.stderr


def test_debug_shows_traceback(tmp_path: Path):
    out = run_posetool("cat", str(tmp_path / "nope.msgpack"), "--debug")
    assert out.returncode != 0 and b"Traceback" in out.stderr


def test_version_and_python_m():
    out = run_posetool("--version")
    assert out.returncode == 0 and out.stdout.startswith(b"posetool ")


def test_inspect_reports_tracks_and_provenance(stream_file: Path):
    import json

    out = run_posetool("inspect", str(stream_file), "--json")
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    assert d["frames"] == 4 and d["instances"] == 8
    assert d["people_per_frame"] == {"min": 2, "mean": 2.0, "max": 2}
    assert d["tracks"]["count"] == 2 and d["tracks"]["longest"][0]["frames"] == 4
    assert sum(d["keypoint_confidence"]["histogram"].values()) == 8 * 17
    assert d["stages"][0]["stage"] == "test" and d["truncated"] is False
    table = run_posetool("inspect", str(stream_file))
    assert table.returncode == 0 and b"provenance" in table.stdout and b"people/frame" in table.stdout
