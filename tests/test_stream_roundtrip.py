"""Encodings: msgpack ↔ JSON Lines ↔ records round trips, NaN → null, schemas, versions."""

from __future__ import annotations

import copy
import io
import json
import math
from pathlib import Path

import jsonschema
import msgpack
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from posetool.errors import StreamError
from posetool.stream import StreamReader, StreamWriter, encode, make_frame, make_header, read_stream, to_plain
from posetool.stream.records import RecordChecker
from tests.conftest import REPO, run_posetool, sample_records, write_records

SCHEMAS = {name: json.loads((REPO / "schemas" / f"{name}.schema.json").read_text()) for name in ("header", "frame", "end")}

finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
point = st.lists(st.one_of(finite, st.none()), min_size=3, max_size=3)
scalar = st.one_of(st.none(), st.booleans(), st.integers(-(2**62), 2**62), finite, st.text(max_size=8))
extra = st.recursive(scalar, lambda c: st.one_of(st.lists(c, max_size=3), st.dictionaries(st.text(min_size=1, max_size=6), c, max_size=3)), max_leaves=8)
instance = st.fixed_dictionaries(
    {"bbox": st.lists(finite, min_size=4, max_size=4), "score": finite, "keypoints": st.one_of(st.none(), st.lists(point, min_size=17, max_size=17)),
     "track_id": st.one_of(st.none(), st.integers(0, 10**6))},
    optional={"unknown_field": extra},
)


@st.composite
def streams(draw):
    n = draw(st.integers(0, 4))
    start = draw(st.integers(0, 5))
    header = make_header({"path": draw(st.text(max_size=10)), "width": 64, "height": 48, "fps": 25.0, "frames": n},
                         "coco17", extra_key=draw(extra))
    frames = [make_frame(start + 2 * i, (start + 2 * i) / 25, draw(st.lists(instance, max_size=3)), other=draw(extra)) for i in range(n)]
    end = {"type": "end", "frames": n, "instances": sum(len(f["instances"]) for f in frames), "finished": True}
    return [header, *frames, end]


def _encode_all(records, fmt):
    buf = io.BytesIO()
    w = StreamWriter(buf, fmt)
    for r in records:
        w.write(r)
    return buf.getvalue()


@settings(max_examples=60, deadline=None)
@given(streams())
def test_roundtrip_msgpack_jsonl_records(records):
    for fmt in ("msgpack", "jsonl"):
        back = read_stream(io.BytesIO(_encode_all(records, fmt)))
        assert back == records
    # msgpack → jsonl → msgpack through the reader/writer pair
    via_json = read_stream(io.BytesIO(_encode_all(read_stream(io.BytesIO(_encode_all(records, "msgpack"))), "jsonl")))
    assert _encode_all(via_json, "msgpack") == _encode_all(records, "msgpack")


def test_nan_and_inf_become_null_in_both_encodings():
    kps = np.array([[1.0, np.nan, 0.5], [np.inf, 2.0, -np.inf]])
    rec = make_frame(0, 0.0, [{"keypoints": kps, "score": float("nan"), "np_scalar": np.float32(1.5)}])
    line = encode(rec, "jsonl").decode()
    assert "NaN" not in line and "Infinity" not in line
    for data in (line.encode(), encode(rec, "msgpack")):
        back = json.loads(data) if data[:1] == b"{" else msgpack.unpackb(data)
        inst = back["instances"][0]
        assert inst["keypoints"] == [[1.0, None, 0.5], [None, 2.0, None]]
        assert inst["score"] is None and inst["np_scalar"] == 1.5
    assert to_plain({"a": (1, math.nan)}) == {"a": [1, None]}


def test_written_records_validate_against_schemas(tmp_path: Path):
    records = sample_records()
    records[1]["instances"][0]["keypoints"][3][2] = float("nan")
    path = write_records(tmp_path / "s.jsonl", records, "jsonl")
    # validate what a real stage (posetool cat) writes, line by line
    out = run_posetool("cat", str(path), "--to", "jsonl")
    assert out.returncode == 0, out.stderr
    lines = [json.loads(x) for x in out.stdout.decode().splitlines()]
    assert [r["type"] for r in lines] == ["header"] + ["frame"] * 4 + ["end"]
    for rec in lines:
        jsonschema.validate(rec, SCHEMAS[rec["type"]])
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"type": "frame", "frame": -1, "t": 0, "instances": []}, SCHEMAS["frame"])


def test_unknown_keys_survive_a_stage(stream_file: Path):
    out = run_posetool("cat", str(stream_file), "--to", "msgpack")
    assert out.returncode == 0, out.stderr
    back = read_stream(io.BytesIO(out.stdout))
    original = sample_records()
    assert back[0]["custom_header_key"] == {"kept": True}
    assert back[1]["custom_frame_key"] == 0
    assert back[2]["instances"][1]["custom_instance_key"] == "x1"
    assert back[1:-1] == original[1:-1]


def test_newer_major_version_is_refused(tmp_path: Path):
    records = sample_records(1)
    records[0]["version"] = 99
    path = write_records(tmp_path / "v.msgpack", records)
    with pytest.raises(StreamError, match="version 99 is newer"):
        StreamReader(str(path)).header
    out = run_posetool("cat", str(path))
    assert out.returncode == 1
    assert b"newer than this posetool reads" in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_output_encoding_follows_suffix(tmp_path: Path, stream_file: Path):
    for name, first in (("o.jsonl", b"{"), ("o.msgpack", None)):
        out = run_posetool("cat", str(stream_file), "-o", str(tmp_path / name))
        assert out.returncode == 0, out.stderr
        data = (tmp_path / name).read_bytes()
        if first:
            assert data[:1] == first
        else:
            assert 0x80 <= data[0] <= 0x8F


# --- the fast paths give what the exact walks give (issue #18) ------------------------------------
special = st.sampled_from([math.nan, math.inf, -math.inf])
number_like = st.one_of(finite, special, st.none(), st.integers(-3, 3), st.booleans(), st.text(max_size=2))
finite32 = st.floats(allow_nan=False, allow_infinity=False, width=32)
float_array = st.lists(st.one_of(finite32, special), min_size=3, max_size=3).map(
    lambda v: np.array(v, dtype=np.float32))
numpy_value = st.one_of(float_array, finite.map(np.float64), finite32.map(np.float32), st.integers(0, 9).map(np.int64),
                        st.booleans().map(np.bool_))
encodable = st.recursive(st.one_of(scalar, special, numpy_value),
                         lambda c: st.one_of(st.lists(c, max_size=3),
                                             st.dictionaries(st.text(max_size=4), c, max_size=3)),
                         max_leaves=12)


@settings(max_examples=150, deadline=None)
@given(encodable)
def test_encode_equals_the_plain_walk(value):
    """encode() skips to_plain() unless a NaN/Infinity is there: the bytes must be the same either way."""
    record = {"type": "frame", "value": value}
    assert encode(record, "msgpack") == msgpack.packb(to_plain(record), use_bin_type=True)
    plain_json = json.dumps(to_plain(record), separators=(",", ":"), allow_nan=False, ensure_ascii=False) + "\n"
    assert encode(record, "jsonl") == plain_json.encode("utf-8")


class _ExactChecker(RecordChecker):
    """The checker without its fast acceptance: every value through the exact checks."""

    def _fast_instances(self, insts):
        return False


def _messy(values):
    return st.one_of(values, number_like, st.lists(number_like, max_size=5))


clean_point = st.lists(finite, min_size=3, max_size=3)
messy_instance = st.fixed_dictionaries({}, optional={
    "bbox": st.one_of(st.lists(finite, min_size=4, max_size=4), _messy(st.lists(number_like, min_size=4, max_size=4))),
    "score": st.one_of(finite, number_like),
    "track_id": st.one_of(st.integers(0, 9), number_like),
    "keypoints": st.one_of(st.lists(clean_point, min_size=17, max_size=17),
                           st.lists(st.one_of(clean_point, _messy(st.lists(number_like, min_size=3, max_size=3))),
                                    min_size=16, max_size=18), number_like),
    "keypoints_3d": st.one_of(st.lists(clean_point, min_size=17, max_size=17), st.lists(clean_point, max_size=3)),
    "root_3d": st.one_of(clean_point, _messy(st.lists(number_like, min_size=3, max_size=3))),
})


def _check_all(checker: RecordChecker, records: list) -> tuple[str | None, str]:
    """The first error message (or None) and the records as the checks left them (NaN -> null)."""
    try:
        for rec in records:
            checker.check(rec)
    except StreamError as exc:
        return str(exc), repr(records)
    return None, repr(records)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.one_of(messy_instance, messy_instance.filter(lambda i: "keypoints" in i)), max_size=3),
                max_size=3))
def test_fast_checks_accept_only_what_the_exact_checks_accept(frames):
    header = make_header({"path": "x.mp4", "width": 64, "height": 48, "fps": 25.0, "frames": len(frames)}, "coco17",
                         skeleton_3d="h36m17")
    records = [header, *(make_frame(i, i / 25, insts) for i, insts in enumerate(frames))]
    fast = _check_all(RecordChecker("s"), copy.deepcopy(records))
    exact = _check_all(_ExactChecker("s"), copy.deepcopy(records))
    assert fast == exact
