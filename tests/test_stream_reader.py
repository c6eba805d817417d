"""Reading from live pipes, truncated and malformed streams."""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import msgpack
import pytest

from posetool.errors import StreamError
from posetool.stream import StreamReader, encode, read_stream
from tests.conftest import REPO, run_posetool, sample_records, write_records

WRITER = textwrap.dedent(
    """
    import sys, time
    from posetool.stream import StreamWriter, make_frame, make_header
    w = StreamWriter("-", sys.argv[1])
    w.write(make_header({"width": 8, "height": 8}, "coco17"))
    w.write(make_frame(0, 0.0, [{"score": 1.0}]))
    time.sleep(30)
    """
)


@pytest.mark.parametrize("fmt", ["msgpack", "jsonl"])
def test_records_arrive_before_the_writer_exits(fmt: str):
    proc = subprocess.Popen([sys.executable, "-c", WRITER, fmt], stdout=subprocess.PIPE, cwd=REPO)
    try:
        start = time.monotonic()
        reader = StreamReader(proc.stdout)
        assert reader.header["type"] == "header"
        frame = next(reader.frames())
        assert frame["frame"] == 0 and frame["instances"] == [{"score": 1.0}]
        assert proc.poll() is None, "the writer must still be running: records were handed on as they arrived"
        assert time.monotonic() - start < 25
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.parametrize("fmt", ["msgpack", "jsonl"])
def test_truncated_stream_yields_every_frame_and_warns(fmt: str):
    records = sample_records(frames=5)[:-1]  # no end record
    data = b"".join(encode(r, fmt) for r in records)
    warnings: list[str] = []
    reader = StreamReader(io.BytesIO(data), warn=warnings.append)
    frames = list(reader.frames())
    assert [f["frame"] for f in frames] == [0, 1, 2, 3, 4]
    assert reader.truncated and reader.end is None
    assert len(warnings) == 1 and "truncated" in warnings[0] and "frame 4" in warnings[0]
    with pytest.raises(StreamError, match="truncated"):
        list(StreamReader(io.BytesIO(data), strict=True).frames())


@pytest.mark.parametrize("fmt", ["msgpack", "jsonl"])
def test_cut_mid_record_delivers_complete_frames_then_fails(fmt: str):
    data = b"".join(encode(r, fmt) for r in sample_records(frames=3))
    cut = data[: len(b"".join(encode(r, fmt) for r in sample_records(frames=3)[:3])) + 25]
    reader = StreamReader(io.BytesIO(cut))
    got = []
    with pytest.raises(StreamError, match=r"record 4 is cut off mid-record"):
        for frame in reader.frames():
            got.append(frame["frame"])
    assert got == [0, 1]


def test_cat_of_truncated_input_writes_valid_stream_and_warns(tmp_path: Path):
    path = write_records(tmp_path / "t.msgpack", sample_records(frames=3)[:-1])
    out = run_posetool("cat", str(path), "--to", "jsonl")
    assert out.returncode == 0
    assert b"truncated" in out.stderr
    back = read_stream(io.BytesIO(out.stdout), strict=True)
    assert back[-1]["type"] == "end" and back[-1]["input_truncated"] is True and back[-1]["frames"] == 3
    strict = run_posetool("cat", str(path), "--strict")
    assert strict.returncode == 1


def _malformed_cases() -> dict[str, tuple[bytes, str]]:
    good = sample_records(frames=2)
    mp = [encode(r, "msgpack") for r in good]
    wrong_type = [dict(r) for r in good]
    wrong_type[2] = dict(wrong_type[2], instances="not a list")
    bad_kp = [dict(r) for r in good]
    bad_kp[1] = dict(bad_kp[1], instances=[{"keypoints": [[1, 2]]}])
    return {
        "bad first byte": (b"hello world\n", "record 1: not a pose stream"),
        "cut mid record": (b"".join(mp[:2]) + mp[2][:10], "record 3 is cut off mid-record"),
        "frame before header": (encode(good[1], "msgpack") + mp[0], "record 1: frame record before the header"),
        "wrong type in field": (b"".join(encode(r, "msgpack") for r in wrong_type), "record 3 (frame 1): field 'instances' must be a list"),
        "bad keypoint triple": (b"".join(encode(r, "jsonl") for r in bad_kp), "record 2 (frame 0) instance 0: field 'keypoints' point 0"),
        "invalid json": (encode(good[0], "jsonl") + b'{"type": "frame", oops}\n', "record 2: invalid JSON"),
        "not a map": (encode(good[0], "msgpack") + msgpack.packb([1, 2]), "record 2: expected a map"),
        "empty": (b"", "empty input"),
    }


@pytest.mark.parametrize("case", list(_malformed_cases()))
def test_malformed_stream_gives_one_line_error(case: str):
    data, message = _malformed_cases()[case]
    out = run_posetool("cat", "-", "--to", "jsonl", input=data)
    assert out.returncode == 1
    err = out.stderr.decode().strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith("posetool cat: error: stdin: ")
    assert message in err, err
    assert "Traceback" not in err
