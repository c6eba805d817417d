"""Bad inputs, unwritable outputs and broken processes, on the real commands (issue #19).

Every case fails with one clear line ``posetool <cmd>: error: ...`` (never a traceback, never an
"internal error") and the design's exit code: 1 for a runtime failure, 2 for a usage error. Where
a stage had read complete frames before its input broke, it has written every one of them, then
an end record with ``finished: false``. Clips are tiny (160×120, 8 frames) to keep the file fast.
"""

from __future__ import annotations

import io
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import msgpack
import pytest

from posetool.stream import StreamReader, encode, read_stream
from tests.conftest import REPO, posetool_cmd, run_posetool, sample_records, write_records

FRAMES = 8


# --- helpers ------------------------------------------------------------------------------------

def one_error(out: subprocess.CompletedProcess, command: str, code: int = 1, *needles: str) -> str:
    """Assert the run failed with ``code`` and exactly one clear error line; return that line."""
    err = out.stderr.decode(errors="replace").strip()
    assert out.returncode == code, (out.returncode, err)
    assert "Traceback" not in err and "internal error" not in err, err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"posetool {command}: error: "), err
    for needle in needles:
        assert needle in lines[0], (needle, err)
    return lines[0]


def written(source: Path | bytes) -> tuple[list[int], dict | None]:
    """Frame indices and end record of a stream a command wrote (a truncated one reads too)."""
    reader = StreamReader(io.BytesIO(source) if isinstance(source, bytes) else str(source), warn=lambda m: None)
    return [f["frame"] for f in reader.frames()], reader.end


def cut_inside(data: bytes, encoded: list[bytes], index: int) -> bytes:
    """``data`` cut in the middle of record ``index`` (0 = the header)."""
    start = len(b"".join(encoded[:index]))
    return data[: start + len(encoded[index]) // 2]


# --- fixtures -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synth clip as an image folder: ``images/``, ``gt.jsonl`` (boxes, keypoints, tracks), GT files."""
    out = tmp_path_factory.mktemp("bad") / "syn"
    res = run_posetool("synth", str(out), "--people", "2", "--frames", str(FRAMES), "--width", "160", "--height", "120",
                       "--image-folder", "-q")
    assert res.returncode == 0, res.stderr
    return out


@pytest.fixture(scope="module")
def corrupt_folder(clip: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The clip's images with the 4th one corrupt: three good frames come before it."""
    folder = tmp_path_factory.mktemp("corrupt") / "images"
    shutil.copytree(clip / "images", folder)
    (folder / "000003.jpg").write_bytes(b"not a jpeg at all")
    return folder


@pytest.fixture(scope="module")
def cut_stream(clip: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The clip's GT stream as JSON Lines cut in the middle of frame 5's record: frames 0–4 are complete."""
    records = read_stream(str(clip / "gt.jsonl"))
    encoded = [encode(r, "jsonl") for r in records]
    path = tmp_path_factory.mktemp("cut") / "cut.jsonl"
    path.write_bytes(cut_inside(b"".join(encoded), encoded, 6))
    return path


# --- issue #19, class 1: every complete frame is handed on before the error ----------------------

@pytest.mark.parametrize("stage", ["lift3d", "track", "pose2d", "correspond", "recover"])
def test_stage_on_a_stream_cut_mid_record_writes_every_complete_frame(stage: str, cut_stream: Path, tmp_path: Path):
    """lift3d wrote 0 of the complete frames (its lifting windows died with the error)."""
    out = tmp_path / "out.msgpack"
    res = run_posetool(stage, str(cut_stream), "-o", str(out), "-q")
    one_error(res, stage, 1, f"{cut_stream}: record 7 is cut off mid-record")
    frames, end = written(out)
    assert frames == [0, 1, 2, 3, 4]
    assert end is not None and end["finished"] is False and end["frames"] == 5


@pytest.mark.parametrize("args", [("detect",), ("detect", "--batch-size", "1"), ("pose2d",), ("pose2d", "--batch-size", "1")],
                         ids=" ".join)
def test_corrupt_image_in_a_folder_comes_after_every_good_frame(args: tuple[str, ...], clip: Path,
                                                                 corrupt_folder: Path, tmp_path: Path):
    """detect and pose2d wrote 0 of the 3 good frames (the batch died with the corrupt image)."""
    out = tmp_path / "out.msgpack"
    inputs = [str(corrupt_folder)] if args[0] == "detect" else [str(clip / "gt.jsonl"), "--video", str(corrupt_folder)]
    res = run_posetool(args[0], *inputs, *args[1:], "-o", str(out), "-q")
    one_error(res, args[0], 1, f"{corrupt_folder / '000003.jpg'}: cannot decode image")
    frames, end = written(out)
    assert frames == [0, 1, 2] and end is not None and end["finished"] is False


def test_chain_on_a_corrupt_folder_writes_the_frames_before_it(corrupt_folder: Path, clip: Path, tmp_path: Path):
    out = tmp_path / "out.msgpack"
    res = run_posetool("run", str(corrupt_folder), "--preset", "synth", "--detect-model", "gt", "--gt",
                       str(clip / "gt.jsonl"), "--no-correspond", "-o", str(out), "-q")
    one_error(res, "run", 1, "000003.jpg: cannot decode image")
    frames, end = written(out)
    assert frames == [0, 1, 2] and end is not None and end["finished"] is False


def test_image_of_another_size_in_a_folder_comes_after_every_frame_before_it(clip: Path, tmp_path: Path):
    import cv2
    import numpy as np

    folder = tmp_path / "images"
    shutil.copytree(clip / "images", folder)
    cv2.imwrite(str(folder / "000005.jpg"), np.zeros((10, 12, 3), np.uint8))
    out = tmp_path / "out.msgpack"
    one_error(run_posetool("detect", str(folder), "-o", str(out), "-q"), "detect", 1,
              "000005.jpg: image is 12x10, the folder's first image is 160x120")
    assert written(out)[0] == [0, 1, 2, 3, 4]


# --- issue #19, class 3: an output that is the input is refused ----------------------------------

@pytest.mark.parametrize("how", ["same name", "another path", "symlink", "hard link"])
def test_cat_refuses_an_output_that_is_its_input(how: str, tmp_path: Path):
    """``posetool cat f.jsonl -o f.jsonl`` left 13 of 42 lines and blamed the input."""
    stream = write_records(tmp_path / "f.jsonl", sample_records(frames=10), "jsonl")
    before = stream.read_bytes()
    other = {"same name": stream, "another path": tmp_path / "." / "f.jsonl", "symlink": tmp_path / "link.jsonl",
             "hard link": tmp_path / "hard.jsonl"}[how]
    if how == "symlink":
        other.symlink_to(stream)
    elif how == "hard link":
        os.link(stream, other)
    one_error(run_posetool("cat", str(stream), "-o", str(other)), "cat", 2, "the output is this command's input")
    assert stream.read_bytes() == before


def test_a_stage_refuses_to_overwrite_its_input_stream_or_video(clip: Path, tmp_path: Path):
    import cv2
    import numpy as np

    stream = tmp_path / "s.jsonl"
    shutil.copy(clip / "gt.jsonl", stream)
    before = stream.read_bytes()
    one_error(run_posetool("track", str(stream), "-o", str(stream)), "track", 2, "the output is this command's input")
    assert stream.read_bytes() == before
    video = tmp_path / "v.mp4"
    w = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 10, (64, 48))
    for _ in range(3):
        w.write(np.full((48, 64, 3), 80, np.uint8))
    w.release()
    size = video.stat().st_size
    one_error(run_posetool("detect", str(video), "-o", str(video)), "detect", 2, "the output is this command's input")
    assert video.stat().st_size == size


def test_stdout_redirected_onto_the_input_is_refused(tmp_path: Path):
    """``posetool cat f >> f`` would read its own output for ever."""
    stream = write_records(tmp_path / "f.msgpack", sample_records(frames=3))
    before = stream.read_bytes()
    with open(stream, "ab") as sink:
        res = subprocess.run(posetool_cmd("cat", str(stream)), stdout=sink, stderr=subprocess.PIPE, timeout=60)
    one_error(res, "cat", 2, "stdout: the output is this command's input")
    assert stream.read_bytes() == before


# --- issue #19, class 5: outputs that cannot be written ------------------------------------------

needs_dev_full = pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")


@needs_dev_full
@pytest.mark.parametrize("command", ["cat", "track", "detect"])
def test_a_full_disk_is_one_clear_line(command: str, clip: Path):
    inputs = [str(clip / "images")] if command == "detect" else [str(clip / "gt.jsonl")]
    one_error(run_posetool(command, *inputs, "-o", "/dev/full", "-q"), command, 1,
              "/dev/full: cannot write: No space left on device")


@needs_dev_full
def test_stdout_onto_a_full_disk_is_one_clear_line(clip: Path):
    with open("/dev/full", "wb") as full:
        res = subprocess.run(posetool_cmd("cat", str(clip / "gt.jsonl")), stdout=full, stderr=subprocess.PIPE,
                             timeout=60)
    one_error(res, "cat", 1, "stdout: cannot write: No space left on device")


@needs_dev_full
@pytest.mark.parametrize("args", [("inspect", "{stream}"), ("inspect", "{stream}", "--json"), ("--version",)], ids=" ".join)
def test_a_report_onto_a_full_disk_is_one_clear_line(args: tuple[str, ...], clip: Path):
    """Reports (inspect, eval, --version) write to stdout too; a full disk there is no bug either."""
    argv = [a.format(stream=clip / "gt.jsonl") for a in args]
    with open("/dev/full", "wb") as full:
        res = subprocess.run(posetool_cmd(*argv), stdout=full, stderr=subprocess.PIPE, timeout=60)
    prefix = f"posetool {argv[0]}: error: " if argv[0] != "--version" else "posetool: error: "
    err = res.stderr.decode().strip()
    assert res.returncode == 1 and err == prefix + "No space left on device", err


@pytest.mark.parametrize("target", ["missing folder", "a folder"])
def test_stream_output_where_no_file_can_be(target: str, clip: Path, tmp_path: Path):
    out = tmp_path / "no" / "such.msgpack" if target == "missing folder" else tmp_path
    message = "does not exist" if target == "missing folder" else "is a folder; name an output file"
    one_error(run_posetool("cat", str(clip / "gt.jsonl"), "-o", str(out)), "cat", 1, message)


def test_render_outputs_that_cannot_be_written(clip: Path, tmp_path: Path):
    stream = str(clip / "gt.jsonl")
    one_error(run_posetool("render", stream, "-o", str(tmp_path / "no" / "o.mp4"), "-q"), "render", 1,
              "output folder", "does not exist")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    one_error(run_posetool("render", stream, "--png", str(blocker / "stills"), "-q"), "render", 1,
              "cannot create the stills folder")
    one_error(run_posetool("render", stream, "--png", str(clip / "images"), "-q"), "render", 2,
              "the output is this command's input")


# --- streams --------------------------------------------------------------------------------------

def _stream_cases() -> dict[str, tuple[bytes, str]]:
    good = sample_records(frames=3)
    mp = b"".join(encode(r, "msgpack") for r in good)
    js = b"".join(encode(r, "jsonl") for r in good)
    newer = [dict(good[0], version=99), *good[1:]]
    other_format = [dict(good[0], format="other.tool"), *good[1:]]
    return {
        "empty": (b"", "empty input"),
        "whitespace only": (b"  \n\n\t\n", "empty input"),
        "garbage text": (b"frame 0: two people\n", "record 1: not a pose stream: first byte 0x66"),
        "binary junk": (bytes(range(256)) * 8, "record 1: not a pose stream: first byte 0x00"),
        "gzip": (b"\x1f\x8b\x08\x00" + mp[:50], "first byte 0x1f is neither JSON Lines"),
        "utf-16 json": (("\ufeff" + js.decode()).encode("utf-16-le"), "first byte 0xff"),
        "a JSON array": (b"[" + js.replace(b"\n", b",")[:-1] + b"]", "first byte 0x5b"),
        "a COCO file": (b'{"images": [], "annotations": []}\n', "is a COCO annotation file, not a pose stream"),
        "another JSON object": (b'{"images_of": 3}\n', "the first record has no 'type' field"),
        "newer version": (b"".join(encode(r, "msgpack") for r in newer), "stream version 99 is newer"),
        "another format": (b"".join(encode(r, "jsonl") for r in other_format), "header format is 'other.tool'"),
        "msgpack then junk": (mp[:-20] + b"\xc1" * 20, "record 5: corrupt msgpack"),
        "a second header": (encode(good[0], "jsonl") + js, "record 2: a second header record"),
        "frames going back": (js.replace(b'"frame":2', b'"frame":0'), "frame 0 comes after frame 1"),
        "record after the end": (js + encode(good[1], "jsonl"), "record 6: frame record after the end record"),
        "infinite coordinate": (js.replace(b'"bbox":[10.0', b'"bbox":[Infinity', 1), "field 'bbox' must be 4 finite"),
    }


@pytest.mark.parametrize("case", list(_stream_cases()))
def test_bad_stream_is_one_clear_line(case: str):
    data, message = _stream_cases()[case]
    one_error(run_posetool("cat", "-", "--to", "jsonl", input=data), "cat", 1, "stdin: ", message)


@pytest.mark.parametrize("fmt", ["msgpack", "jsonl"])
def test_clean_truncation_warns_and_keeps_every_frame_strict_fails(fmt: str):
    records = sample_records(frames=4)[:-1]
    data = b"".join(encode(r, fmt) for r in records)
    res = run_posetool("cat", "-", "--to", "msgpack", input=data)
    assert res.returncode == 0 and b"truncated" in res.stderr and b"Traceback" not in res.stderr
    frames, end = written(res.stdout)
    assert frames == [0, 1, 2, 3] and end["finished"] is True and end["input_truncated"] is True
    one_error(run_posetool("cat", "-", "--strict", input=data), "cat", 1, "stream truncated after record 5")


@pytest.mark.parametrize("fmt", ["msgpack", "jsonl"])
def test_mid_record_cut_in_both_encodings_and_inspect(fmt: str, tmp_path: Path):
    encoded = [encode(r, fmt) for r in sample_records(frames=4)]
    path = tmp_path / f"cut.{'jsonl' if fmt == 'jsonl' else 'msgpack'}"
    path.write_bytes(cut_inside(b"".join(encoded), encoded, 3))
    res = run_posetool("cat", str(path), "--to", "jsonl")
    one_error(res, "cat", 1, "record 4 is cut off mid-record")
    assert written(res.stdout) == ([0, 1], {"type": "end", "frames": 2, "instances": 4, "finished": False})
    one_error(run_posetool("inspect", str(path)), "inspect", 1, "record 4 is cut off mid-record")


def test_stream_inputs_that_are_not_files(tmp_path: Path):
    one_error(run_posetool("cat", str(tmp_path)), "cat", 1, "is a directory, expected a pose stream file")
    one_error(run_posetool("cat", str(tmp_path / "nope.msgpack")), "cat", 1, "no such file")


def test_unknown_output_encoding_is_a_usage_error(tmp_path: Path):
    stream = write_records(tmp_path / "s.msgpack", sample_records(frames=2))
    res = run_posetool("cat", str(stream), "--to", "xml")
    assert res.returncode == 2 and b"Invalid value for '--to'" in res.stderr and b"Traceback" not in res.stderr


# --- videos --------------------------------------------------------------------------------------

def _video_cases(tmp: Path, clip: Path) -> dict[str, tuple[str, str]]:
    (tmp / "zero.mp4").write_bytes(b"")
    (tmp / "junk.mp4").write_bytes(bytes(range(256)) * 20)
    (tmp / "empty").mkdir(exist_ok=True)
    (tmp / "texts").mkdir(exist_ok=True)
    (tmp / "texts" / "notes.txt").write_text("no images here")
    first = tmp / "first_corrupt"
    if not first.exists():
        shutil.copytree(clip / "images", first)
        (first / "000000.jpg").write_bytes(b"")
    return {
        "missing": (str(tmp / "missing.mp4"), "no such video file"),
        "zero-byte": (str(tmp / "zero.mp4"), "cannot decode video (corrupt file or unsupported codec)"),
        "corrupt": (str(tmp / "junk.mp4"), "cannot decode video (corrupt file or unsupported codec)"),
        "empty folder": (str(tmp / "empty"), "folder holds no images"),
        "folder without images": (str(tmp / "texts"), "folder holds no images"),
        "first image corrupt": (str(first), "000000.jpg: cannot decode image"),
    }


@pytest.mark.parametrize("case", ["missing", "zero-byte", "corrupt", "empty folder", "folder without images",
                                  "first image corrupt"])
def test_bad_video_is_one_clear_line_and_creates_no_output(case: str, clip: Path, tmp_path: Path):
    video, message = _video_cases(tmp_path, clip)[case]
    out = tmp_path / "out.msgpack"
    one_error(run_posetool("detect", video, "-o", str(out), "-q"), "detect", 1, message)
    assert not out.exists()


def test_a_stage_whose_video_does_not_match_its_stream(clip: Path, tmp_path: Path):
    import cv2
    import numpy as np

    records = read_stream(str(clip / "gt.jsonl"))
    records[0]["source"] = dict(records[0]["source"], path=str(tmp_path / "gone"))
    stream = write_records(tmp_path / "s.msgpack", records)
    one_error(run_posetool("pose2d", str(stream), "-q"), "pose2d", 1, "gone: no such video file")
    other = tmp_path / "other"
    other.mkdir()
    cv2.imwrite(str(other / "0.jpg"), np.zeros((48, 64, 3), np.uint8))
    one_error(run_posetool("pose2d", str(stream), "--video", str(other), "-q"), "pose2d", 1,
              "video is 64x48 but the stream was made from 160x120")


# --- evaluation inputs ----------------------------------------------------------------------------

def _eval_cases(tmp: Path, clip: Path) -> dict[str, tuple[list[str], str]]:
    (tmp / "empty.json").write_text("")
    (tmp / "empty_coco.json").write_text('{"images": [], "annotations": [], "categories": '
                                         '[{"id": 1, "name": "person", "keypoints": ["nose"], "skeleton": []}]}')
    (tmp / "empty_posetrack.json").write_text('{"images": [], "annotations": []}')
    (tmp / "empty.txt").write_text("")
    (tmp / "junk.json").write_bytes(bytes(range(128, 256)) * 4)
    pred, gt = str(clip / "gt.jsonl"), lambda name: str(clip / name)
    return {
        "MOT txt as COCO GT": (["pose", pred, "--gt", gt("gt_mot.txt")], "not valid JSON"),
        "stream as COCO GT": (["boxes", pred, "--gt", pred], "not valid JSON"),
        "npz as COCO GT": (["pose", pred, "--gt", gt("gt_videopose3d.npz")], "not a text file"),
        "binary junk as GT": (["pose", pred, "--gt", str(tmp / "junk.json")], "not a text file"),
        "COCO JSON as MOT GT": (["mot", pred, "--gt", gt("gt_coco.json")], "is a COCO keypoints file, not a pose stream"),
        "COCO JSON as lift GT": (["lift", pred, "--gt", gt("gt_coco.json")], "is a COCO keypoints file, not a pose stream"),
        "empty GT file": (["pose", pred, "--gt", str(tmp / "empty.json")], "the file is empty"),
        "empty COCO GT": (["pose", pred, "--gt", str(tmp / "empty_coco.json")], "nothing to evaluate"),
        "empty MOT GT": (["mot", pred, "--gt", str(tmp / "empty.txt")], "the ground truth holds no boxes"),
        "empty PoseTrack GT": (["track", pred, "--gt", str(tmp / "empty_posetrack.json")],
                               "the ground truth holds no frames"),
        "missing GT": (["track", pred, "--gt", str(tmp / "nope.json")], "no such file"),
    }


@pytest.mark.parametrize("case", ["MOT txt as COCO GT", "stream as COCO GT", "npz as COCO GT", "binary junk as GT",
                                  "COCO JSON as MOT GT", "COCO JSON as lift GT", "empty GT file", "empty COCO GT",
                                  "empty MOT GT", "empty PoseTrack GT", "missing GT"])
def test_bad_ground_truth_is_one_clear_line(case: str, clip: Path, tmp_path: Path):
    args, message = _eval_cases(tmp_path, clip)[case]
    one_error(run_posetool("eval", *args), f"eval {args[0]}", 1, message)


# --- processes ------------------------------------------------------------------------------------

SLOW_WRITER = textwrap.dedent(
    """
    import sys, time
    from posetool.stream import StreamReader, StreamWriter
    reader = StreamReader(sys.argv[1])
    w = StreamWriter("-", "msgpack")
    w.write(reader.header)
    for n, frame in enumerate(reader.frames()):
        if n == int(sys.argv[2]):
            break
        w.write(frame)
    time.sleep(120)
    """
)


def _wait_for_frames(path: Path, n: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            try:
                if len(written(path)[0]) >= n:
                    return
            except Exception:  # a record half-written at this instant: look again
                pass
        time.sleep(0.1)
    raise AssertionError(f"{path} never held {n} frames")


def _slow_pipe(clip: Path, frames: int, *stage: str) -> tuple[subprocess.Popen, subprocess.Popen]:
    """``SLOW_WRITER gt.jsonl frames | posetool STAGE...``: the writer stalls after ``frames`` frames."""
    writer = subprocess.Popen([sys.executable, "-c", SLOW_WRITER, str(clip / "gt.jsonl"), str(frames)],
                              stdout=subprocess.PIPE, cwd=REPO)
    proc = subprocess.Popen(posetool_cmd(*stage), stdin=writer.stdout, stderr=subprocess.PIPE)
    writer.stdout.close()
    return writer, proc


def test_a_stage_killed_mid_stream_leaves_a_readable_stream(clip: Path, tmp_path: Path):
    """SIGKILL gives no chance to write an end record: what was written reads as a truncated stream."""
    out = tmp_path / "out.msgpack"
    writer, proc = _slow_pipe(clip, 4, "pose2d", "--batch-size", "1", "-o", str(out), "-q")
    try:
        _wait_for_frames(out, 4)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        writer.kill()
        proc.kill()
        writer.wait()
    res = run_posetool("cat", str(out), "--to", "jsonl")
    assert res.returncode == 0 and b"truncated" in res.stderr, res.stderr
    frames, end = written(res.stdout)
    assert frames == [0, 1, 2, 3] and end["input_truncated"] is True


def test_an_upstream_killed_mid_stream_ends_the_stage_with_every_frame(clip: Path, tmp_path: Path):
    out = tmp_path / "out.msgpack"
    # more frames than offline smoothing holds back (--smooth-window 3), so frame 0 comes out early;
    # --smooth offline: the default SmoothNet would hold 15 frames back, --reid none: re-identification
    # (on by default where the video opens) 50, --lr-consistency none: left/right consistency 25 more
    writer, proc = _slow_pipe(clip, 6, "track", "--smooth", "offline", "--reid", "none", "--lr-consistency", "none",
                              "-o", str(out))
    try:
        _wait_for_frames(out, 1)
        time.sleep(0.5)
        writer.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=60) == 0
        err = proc.stderr.read().decode()
    finally:
        writer.kill()
        proc.kill()
        writer.wait()
    assert "truncated" in err and "Traceback" not in err, err
    frames, end = written(out)
    assert frames == [0, 1, 2, 3, 4, 5] and end == dict(end, finished=True, input_truncated=True)



def test_train_correspond_names_every_kind_of_training_data(tmp_path: Path):
    """An empty folder or a stray file given as correspondence training data: one line that lists what
    is accepted, the unlabelled videos and image folders included."""
    (tmp_path / "empty").mkdir()
    (tmp_path / "notes.txt").write_text("hello\n")
    for spec in (tmp_path / "empty", tmp_path / "notes.txt"):
        one_error(run_posetool("train", "correspond", str(spec), "-o", str(tmp_path / "run"), "-q"),
                  "train correspond", 2, str(spec), "videos or image folders")
