"""The first ten minutes of a new user (issue #18): reports that read at 80 columns, ``--json``
everywhere a report is printed, and one clear line for the mistakes people make first.

Each mistake gets its line and exit code checked: a stage left waiting on a terminal (2), a
ground-truth file or a video given where a stream belongs (1), ``--device cuda`` on a machine
without CUDA (1, the same line for every detector), ``lift3d`` on boxes without keypoints (1).
"""

from __future__ import annotations

import inspect
import json
import os
import pty
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from posetool.cli.demo import demo
from posetool.hub.registry import list_models
from posetool.stream import make_frame, make_header, make_stage
from tests.conftest import posetool_cmd, run_posetool, synth_clip, write_records
from tests.test_bad_inputs import one_error

FRAMES = 8


def run_at(columns: int, *args: str) -> subprocess.CompletedProcess:
    """``posetool ARGS`` with the terminal width rich reads (``COLUMNS``)."""
    env = dict(os.environ, COLUMNS=str(columns))
    return subprocess.run(posetool_cmd(*args), capture_output=True, timeout=120, env=env)


def assert_fits(out: subprocess.CompletedProcess, width: int = 80) -> str:
    """The report succeeded and every line fits ``width`` with no cell cut to "…"; returns it."""
    assert out.returncode == 0, out.stderr.decode()
    text = out.stdout.decode()
    assert text.strip()
    for line in text.splitlines():
        assert len(line) <= width, f"{len(line)} > {width}: {line!r}"
        assert "…" not in line, line
    return text


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny synth clip with every ground-truth file (2 people, 8 frames, 160x120)."""
    return synth_clip(tmp_path_factory.mktemp("first") / "clip", 2, FRAMES, 160, 120)


@pytest.fixture(scope="module")
def boxes_only(clip: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What ``posetool detect`` writes: boxes, no keypoints, no skeleton in the header."""
    path = tmp_path_factory.mktemp("boxes") / "boxes.msgpack"
    res = run_posetool("detect", str(clip / "video.mp4"), "--model", "gt", "--gt", str(clip / "gt_mot.txt"),
                       "-o", str(path), "-q")
    assert res.returncode == 0, res.stderr
    return path


def _long_provenance_stream(path: Path) -> Path:
    """A stream whose header has long paths, model names and many parameters, as a real chain writes."""
    stages = [make_stage("detect", model="centernet_r18_synth", weights_sha256="81f4" * 16,
                         params={"score_thr": 0.5, "nms_thr": 0.5, "max_people": 20, "every": 1}),
              make_stage("recover", model="simplebaseline_r101_384x288", weights_sha256="c19c" * 16,
                         params={f"threshold_number_{i}": i / 10 for i in range(16)}),
              make_stage("lift3d", model="videopose3d_h36m_detectron_pt_conf", weights_sha256=None,
                         params={"corr_weights_sha256": "816d" * 16, "chunk": 2048})]
    src = {"path": "/data/a/very/long/folder/name/for/the/recordings/of/2024/session_0001_camera_front.mp4",
           "width": 1920, "height": 1080, "fps": 29.97, "frames": 3}
    kps = [[10.0 + j, 20.0 + j, 0.9] for j in range(17)]
    frames = [make_frame(f, f / 30, [{"bbox": [1.0, 2.0, 50.0, 90.0], "score": 0.9, "keypoints": kps,
                                      "track_id": 123456789 + p} for p in range(3)]) for f in range(3)]
    end = {"type": "end", "frames": 3, "instances": 9, "finished": True}
    return write_records(path, [make_header(src, "coco17", stages=stages), *frames, end])


# --- 1. reports at 80 columns ----------------------------------------------------------------------

def test_eval_reports_fit_80_columns(clip: Path):
    gt = str(clip / "gt.jsonl")
    coco, mot, posetrack = (str(clip / n) for n in ("gt_coco.json", "gt_mot.txt", "gt_posetrack18.json"))
    for args in (["pose", gt, "--gt", coco], ["boxes", gt, "--gt", coco], ["mot", gt, "--gt", mot],
                 ["track", gt, "--gt", posetrack], ["lift", gt, "--gt", gt]):
        text = assert_fits(run_at(80, "eval", *args))
        assert "100.0" in text or "0.0" in text, args


def test_eval_mot_with_long_sequence_names_wraps_its_columns(clip: Path, tmp_path: Path):
    names = ["MOT17-02-FRCNN-a-rather-long-sequence-name", "MOT17-04-FRCNN-another-long-sequence-name"]
    for name in names:
        (tmp_path / "gt" / name / "gt").mkdir(parents=True)
        shutil.copy(clip / "gt_mot.txt", tmp_path / "gt" / name / "gt" / "gt.txt")
        (tmp_path / "pred").mkdir(exist_ok=True)
        shutil.copy(clip / "gt_mot.txt", tmp_path / "pred" / f"{name}.txt")
    text = assert_fits(run_at(80, "eval", "mot", str(tmp_path / "pred"), "--gt", str(tmp_path / "gt")))
    for column in ("IDF1", "MOTA", "IDs", "HOTA", "AssA"):
        assert column in text, column
    assert "OVERALL" in text


def test_weights_list_fits_80_columns_and_names_what_it_drops():
    text = assert_fits(run_at(80, "weights", "list"))
    for spec in list_models():
        assert spec.name in text, spec.name
    assert "not shown at this width" in text and "--json" in text
    wide = run_at(250, "weights", "list").stdout.decode()
    assert "not shown" not in wide and "MediaPipe BlazePose" in wide


def test_inspect_fits_80_columns(tmp_path: Path):
    stream = _long_provenance_stream(tmp_path / "long.msgpack")
    text = assert_fits(run_at(80, "inspect", str(stream)))
    compact = re.sub(r"[^\w.=/-]", "", text)  # the text without borders and line breaks
    for whole in ("videopose3d_h36m_detectron_pt_conf", "threshold_number_15=1.5", "session_0001_camera_front.mp4"):
        assert whole in compact, whole  # wrapped, never cut


def test_demo_fits_80_columns_and_writes_where_asked(tmp_path: Path):
    out = tmp_path / "my" / "demo"
    res = run_at(80, "demo", "--out", str(out), "--people", "2", "--frames", "8", "--no-render", "--no-correspond",
                 "-q")
    text = assert_fits(res)
    assert "PoseTrack MOTA" in text and "box IDF1" in text and str(out / "poses.msgpack") in re.sub(r"[^\w.=/-]", "", text)
    from posetool.demo import DEMO_KP_THR  # the validation-chosen threshold is printed with the numbers

    assert f"confidence ≤ {DEMO_KP_THR:g}" in " ".join(text.split())
    for name in ("video.mp4", "poses.msgpack", "gt_coco.json"):
        assert (out / name).is_file(), name


# --- 2. --json --------------------------------------------------------------------------------------

def test_eval_pose_json_names_the_ten_coco_metrics(clip: Path):
    out = run_posetool("eval", "pose", str(clip / "gt.jsonl"), "--gt", str(clip / "gt_coco.json"), "--json")
    assert out.returncode == 0, out.stderr
    metrics = json.loads(out.stdout)["metrics"]
    assert list(metrics) == ["AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75", "ARm", "ARl"]
    assert metrics["AP"] == pytest.approx(1.0)
    assert all(v is None or 0 <= v <= 1 for v in metrics.values())  # fractions; null where undefined


def test_eval_boxes_json_names_the_twelve_box_metrics(clip: Path):
    out = run_posetool("eval", "boxes", str(clip / "gt.jsonl"), "--gt", str(clip / "gt_coco.json"), "--json")
    assert out.returncode == 0, out.stderr
    metrics = json.loads(out.stdout)["metrics"]
    assert list(metrics) == ["AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl"]


@pytest.mark.parametrize("kind", ["pose", "boxes"])
def test_pycocotools_output_only_with_debug(kind: str, clip: Path):
    args = ["eval", kind, str(clip / "gt.jsonl"), "--gt", str(clip / "gt_coco.json")]
    for extra in ([], ["--json"]):
        out = run_posetool(*args, *extra)
        assert out.returncode == 0 and out.stderr == b"", out.stderr
        assert b"index created" not in out.stdout and b"Average Precision" not in out.stdout
    debug = run_posetool(*args, "--debug")
    assert b"Average Precision" in debug.stderr and b"Average Precision" not in debug.stdout


def test_weights_list_json():
    out = run_posetool("weights", "list", "--json", "--task", "detect")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert [m["name"] for m in data["models"]] == [s.name for s in list_models("detect")]
    hog = next(m for m in data["models"] if m["name"] == "hog")
    assert hog["weights"] is None and hog["task"] == "detect" and hog["description"]
    centernet = next(m for m in data["models"] if m["name"] == "centernet_r18_synth")
    assert centernet["weights"]["present"] is True and centernet["input"]["width"] == 320


# --- 3. errors a new user hits -----------------------------------------------------------------------

UPSTREAM = {
    "pose2d": "(posetool detect VIDEO | posetool pose2d)",
    "track": "(posetool detect VIDEO | posetool pose2d | posetool track)",
    "lift3d": "(posetool detect VIDEO | posetool pose2d | posetool track | posetool lift3d)",
    "correspond": "posetool pose2d | posetool correspond)",
    "recover": "posetool correspond | posetool recover)",
    "inspect": "| posetool inspect)",
    "cat": "| posetool cat)",
}


@pytest.mark.parametrize("command", list(UPSTREAM))
def test_a_stage_on_a_terminal_says_what_to_pipe_in(command: str):
    main, tty = pty.openpty()
    try:
        out = subprocess.run(posetool_cmd(command), stdin=tty, capture_output=True, timeout=60)
    finally:
        os.close(tty)
        os.close(main)
    line = one_error(out, command, 2, "no input: pipe a pose stream in ", UPSTREAM[command], "or give a stream file")
    assert out.stdout == b"", line


# file of the synth clip -> (a command a new user might give it to, what the error says it is)
FOREIGN = {
    "gt_coco.json": ("pose2d", "is a COCO keypoints file, not a pose stream; use it as --gt (posetool eval pose PRED "
                               "--gt FILE"),
    "gt_posetrack18.json": ("track", "is a PoseTrack18 file, not a pose stream; use it as --gt (posetool eval track"),
    "gt_mot.txt": ("lift3d", "is a MOTChallenge txt file, not a pose stream; use it with posetool eval mot"),
    "gt_videopose3d.npz": ("inspect", "is a NumPy .npz archive, not a pose stream"),
    "video.mp4": ("pose2d", "is a video file, not a pose stream; run posetool detect on it first"),
}


@pytest.mark.parametrize("name", list(FOREIGN))
def test_a_file_that_is_no_stream_is_named(name: str, clip: Path):
    command, message = FOREIGN[name]
    one_error(run_posetool(command, str(clip / name), "-q"), command, 1, f"{clip / name}: {message}")


def test_foreign_files_on_stdin_and_pretty_printed(clip: Path, tmp_path: Path):
    data = json.loads((clip / "gt_coco.json").read_text())
    pretty = tmp_path / "pretty.json"
    pretty.write_text(json.dumps(data, indent=2))
    one_error(run_posetool("track", str(pretty)), "track", 1, "is a COCO keypoints file")
    one_error(run_posetool("cat", "-", input=(clip / "gt_coco.json").read_bytes()), "cat", 1,
              "stdin: is a COCO keypoints file, not a pose stream")
    results = tmp_path / "results.json"
    results.write_text(json.dumps([{"image_id": 1, "category_id": 1, "keypoints": [0] * 51, "score": 1.0}]))
    one_error(run_posetool("lift3d", str(results)), "lift3d", 1,
              "is a COCO results file, not a pose stream; give it as PRED to posetool eval pose")


def _cuda_present() -> bool:
    import torch

    return torch.cuda.is_available()


@pytest.mark.parametrize("model", [s.name for s in list_models("detect")])
def test_device_cuda_without_cuda_fails_alike_for_every_detector(model: str, clip: Path, tmp_path: Path):
    if _cuda_present():
        pytest.skip("this machine has CUDA")
    extra = ["--gt", str(clip / "gt_mot.txt")] if model == "gt" else []
    out = tmp_path / "o.msgpack"
    res = run_posetool("detect", str(clip / "video.mp4"), "--model", model, "--device", "cuda", *extra, "-o", str(out))
    line = one_error(res, "detect", 1)
    assert line == ("posetool detect: error: --device cuda: CUDA is not available on this machine; "
                    "use --device cpu or auto")
    assert not out.exists()


def test_device_that_is_no_device_is_a_usage_error_for_hog(clip: Path):
    one_error(run_posetool("detect", str(clip / "video.mp4"), "--device", "gpu", "-q"), "detect", 2,
              "--device must be auto, cpu, cuda, cuda:N or mps, got 'gpu'")


def test_lift3d_on_boxes_without_keypoints(boxes_only: Path):
    line = one_error(run_posetool("lift3d", str(boxes_only), "-q"), "lift3d", 1,
                     "has no 2D keypoints", "posetool pose2d | posetool track | posetool lift3d")
    assert "None" not in line


def test_detect_help_lists_the_registered_detectors():
    out = run_posetool("detect", "--help")
    assert out.returncode == 0
    text = " ".join(out.stdout.decode().split())
    for spec in list_models("detect"):
        assert spec.name in text, spec.name
    assert "centernet_synth" not in text.replace("centernet_r18_synth", "")


# --- 4. demo writes where it is told ----------------------------------------------------------------

def test_demo_default_folder_is_ignored_by_git():
    default = inspect.signature(demo).parameters["out"].default
    repo = Path(__file__).resolve().parent.parent
    if shutil.which("git") is None or not (repo / ".git").exists():
        pytest.skip("not a git checkout")
    res = subprocess.run(["git", "check-ignore", "-q", f"{default}/video.mp4"], cwd=repo)
    assert res.returncode == 0, f"{default}/ is not in .gitignore"
