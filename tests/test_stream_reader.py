"""Reading from live pipes, truncated and malformed streams."""

from __future__ import annotations

import io
import json
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


def _offsets_inside(records: list[dict], index: int, fmt: str) -> tuple[bytes, range]:
    """The encoded stream and the byte offsets that cut record ``index`` (0 = header) short.

    A JSON Lines record cut just before its newline is still whole (a last line may lack one).
    """
    encoded = [encode(r, fmt) for r in records]
    start = len(b"".join(encoded[:index]))
    return b"".join(encoded), range(start + 1, start + len(encoded[index]) - (fmt == "jsonl"))


@pytest.mark.parametrize("fmt", ["msgpack", "jsonl"])
def test_a_cut_anywhere_inside_a_record_is_reported_after_every_complete_frame(fmt: str):
    """Issue #19: msgpack's ``Unpacker.tell()`` counts the bytes it parsed of a half record, so
    some cuts passed as a clean truncation (the half record dropped silently). Every offset inside
    the record after frame 1 must be reported as a cut, after frames 0 and 1."""
    records = sample_records(frames=3)
    data, inside = _offsets_inside(records, 3, fmt)
    for cut in inside:
        got: list[int] = []
        with pytest.raises(StreamError, match=r"record 4 is cut off mid-record"):
            for frame in StreamReader(io.BytesIO(data[:cut]), warn=lambda m: None).frames():
                got.append(frame["frame"])
        assert got == [0, 1], cut


def _cut_counted_by_unpacker(data: bytes, inside: range) -> int:
    """An offset inside a record after which ``Unpacker.tell()`` equals the bytes fed (the case that passed)."""
    for cut in inside:
        unpacker = msgpack.Unpacker(raw=False)
        unpacker.feed(data[:cut])
        list(unpacker)
        if unpacker.tell() == cut:
            return cut
    raise AssertionError("no such offset in this record")


def test_cat_of_msgpack_cut_where_unpacker_counts_the_half_record():
    """The case that exited 0 with the half record dropped: now exit 1, every complete frame, end record."""
    records = sample_records(frames=3)
    data, inside = _offsets_inside(records, 3, "msgpack")
    out = run_posetool("cat", "-", "--to", "jsonl", input=data[:_cut_counted_by_unpacker(data, inside)])
    err = out.stderr.decode().strip()
    assert out.returncode == 1 and len(err.splitlines()) == 1, err
    assert err.startswith("posetool cat: error: stdin: record 4 is cut off mid-record"), err
    back = StreamReader(io.BytesIO(out.stdout))
    assert [f["frame"] for f in back.frames()] == [0, 1]
    assert back.end == {"type": "end", "frames": 2, "instances": 4, "finished": False}


def _with_instance(records: list[dict], frame: int, **fields: object) -> list[dict]:
    """A copy of ``records`` where instance 1 of frame ``frame`` has ``fields`` set."""
    out = [dict(r) for r in records]
    rec = out[1 + frame]
    rec["instances"] = [dict(i) for i in rec["instances"]]
    rec["instances"][1].update(fields)
    return out


def _points(n: int) -> list[list[float]]:
    return [[10.0 + i, 20.0 + i, 0.9] for i in range(n)]


def _one_line_error(out, command: str) -> str:
    err = out.stderr.decode().strip()
    assert out.returncode == 1 and len(err.splitlines()) == 1, err
    assert err.startswith(f"posetool {command}: error: ") and "internal error" not in err, err
    return err


@pytest.mark.parametrize(("field", "n", "header", "message"), [
    ("keypoints", 33, {}, "field 'keypoints' has 33 points but the header's skeleton coco17 has 17"),
    ("keypoints", 5, {}, "field 'keypoints' has 5 points but the header's skeleton coco17 has 17"),
    ("keypoints_3d", 16, {"skeleton_3d": "h36m17"},
     "field 'keypoints_3d' has 16 points but the header's skeleton_3d h36m17 has 17"),
    ("keypoints", 5, {"skeleton": "my_layout"}, "field 'keypoints' has 5 points but earlier instances have 17"),
])
def test_point_count_must_match_the_layout(tmp_path: Path, field: str, n: int, header: dict, message: str):
    """Issue #19: K ≠ the header's layout passed the reader and crashed stages far downstream."""
    records = sample_records(frames=3)
    records[0] = dict(records[0], **header)
    path = write_records(tmp_path / "bad.msgpack", _with_instance(records, 2, **{field: _points(n)}))
    err = _one_line_error(run_posetool("cat", str(path), "--to", "jsonl"), "cat")
    assert f"{path}: record 4 (frame 2) instance 1: {message}" in err, err


def test_eval_and_export_refuse_a_wrong_point_count_where_they_crashed(tmp_path: Path):
    """``eval pose`` died on a broadcast error and ``export --to coco`` wrote 99 numbers per person."""
    syn = tmp_path / "syn"
    assert run_posetool("synth", str(syn), "--people", "2", "--frames", "4", "--no-render", "-q").returncode == 0
    records = read_stream(str(syn / "gt.jsonl"))
    records[3]["instances"][1]["keypoints"] = _points(33)
    path = write_records(tmp_path / "k33.jsonl", records, "jsonl")
    where = f"{path}: record 4 (frame 2) instance 1: field 'keypoints' has 33 points"
    assert where in _one_line_error(run_posetool("eval", "pose", str(path), "--gt", str(syn / "gt_coco.json")), "eval pose")
    assert where in _one_line_error(run_posetool("export", str(path), "--to", "coco", "-q"), "export")


def test_nan_reads_as_null_and_infinity_is_refused(tmp_path: Path):
    """A NaN (msgpack carries one; JSON Lines from posetool never does) is the missing value, as null
    is: the reader turns it into null, so exporters never meet it. ±Infinity means nothing and is refused."""
    records = _with_instance(sample_records(frames=3), 1, score=float("nan"))
    records[2]["instances"][1]["keypoints"][4] = [float("nan"), 5.0, float("nan")]
    raw = b"".join(msgpack.packb(r) for r in records)  # msgpack.packb keeps NaN, unlike posetool's writer
    (tmp_path / "nan.msgpack").write_bytes(raw)
    coco = run_posetool("export", str(tmp_path / "nan.msgpack"), "--to", "coco", "-q")
    assert coco.returncode == 0, coco.stderr
    results = json.loads(coco.stdout)
    assert len(results) == 6 and results[3]["keypoints"][12:15] == [0.0, 0.0, 0.0]
    back = read_stream(io.BytesIO(run_posetool("cat", str(tmp_path / "nan.msgpack"), "--to", "jsonl").stdout))
    assert back[2]["instances"][1]["score"] is None and back[2]["instances"][1]["keypoints"][4] == [None, 5.0, None]
    inf = _with_instance(sample_records(frames=3), 0, score=float("inf"))
    (tmp_path / "inf.msgpack").write_bytes(b"".join(msgpack.packb(r) for r in inf))
    out = run_posetool("cat", str(tmp_path / "inf.msgpack"))
    assert out.returncode == 1
    assert "record 2 (frame 0) instance 1: field 'score' must be a finite number or null, got inf" in out.stderr.decode()
