"""Shared test helpers: tiny streams and running the real CLI in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from posetool.stream import StreamWriter, make_frame, make_header, make_stage

REPO = Path(__file__).resolve().parent.parent


def sample_records(frames: int = 4, people: int = 2, seed: int = 0) -> list[dict]:
    """A small, valid stream as a list of records (header, frames, end)."""
    rng = np.random.default_rng(seed)
    header = make_header({"path": "clip.mp4", "width": 640, "height": 480, "fps": 25.0, "frames": frames}, "coco17",
                         stages=[make_stage("test", params={"seed": seed})], custom_header_key={"kept": True})
    records = [header]
    for f in range(frames):
        insts = []
        for p in range(people):
            kps = rng.uniform(0, 400, size=(17, 3))
            kps[:, 2] = rng.uniform(0, 1, size=17)
            insts.append({"bbox": [10.0 * p, 20.0, 100.0 + p, 300.0], "score": 0.9, "keypoints": kps.tolist(),
                          "track_id": p, "custom_instance_key": f"x{p}"})
        records.append(make_frame(f, f / 25.0, insts, custom_frame_key=f))
    records.append({"type": "end", "frames": frames, "instances": frames * people, "finished": True})
    return records


def write_records(path: Path | str, records: list[dict], fmt: str = "msgpack") -> Path:
    with StreamWriter(str(path), fmt) as w:
        for r in records:
            w.write(r)
    return Path(path)


def posetool_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "posetool", *args]


def run_posetool(*args: str, input: bytes | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    env = dict(os.environ, COLUMNS="200")
    return subprocess.run(posetool_cmd(*args), input=input, capture_output=True, timeout=timeout, env=env)


def synth_clip(out: Path, people: int, frames: int, width: int, height: int) -> Path:
    """``posetool synth OUT`` (seed 0) through the CLI, as a user makes a clip; returns ``out``."""
    res = run_posetool("synth", str(out), "--people", str(people), "--frames", str(frames), "--width", str(width),
                       "--height", str(height), "-q")
    assert res.returncode == 0, res.stderr
    return out


@pytest.fixture
def stream_file(tmp_path: Path) -> Path:
    return write_records(tmp_path / "s.msgpack", sample_records())
