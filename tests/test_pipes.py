"""Pipes and `run` share their defaults and split the cores (issue #18): threads, similarity, thresholds."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from posetool.engine.presets import SIMILARITY_WITH_CORRESPONDENCES, auto_similarity
from posetool.errors import UsageError
from posetool.hub.registry import get_model_spec
from posetool.stream import make_header, make_stage
from posetool.threads import choose_threads, is_fifo
from posetool.track.stage import TrackStep
from posetool.track.tracker import TrackerOptions
from tests.conftest import REPO


@pytest.mark.parametrize("in_pipe, cores, env, expected", [
    (False, 16, {}, None),                             # alone or `run`: the libraries' defaults
    (True, 2, {}, 1),                                  # six stages on two cores: one thread each
    (True, 16, {}, 2),
    (True, 16, {"OMP_NUM_THREADS": "3"}, None),        # the user's own choice stays
    (False, 16, {"POSETOOL_THREADS": "4"}, 4),         # the override applies piped or not
    (True, 2, {"POSETOOL_THREADS": "3", "OMP_NUM_THREADS": "1"}, 3),
])
def test_thread_count_rule(in_pipe, cores, env, expected):
    assert choose_threads(in_pipe, cores, env) == expected


@pytest.mark.parametrize("value", ["0", "two", "-1"])
def test_bad_thread_override_is_a_usage_error(value):
    with pytest.raises(UsageError, match="POSETOOL_THREADS must be"):
        choose_threads(False, 2, {"POSETOOL_THREADS": value})


def test_fifo_detection():
    read_end, write_end = os.pipe()
    try:
        with os.fdopen(read_end, "rb", closefd=False) as r:
            assert is_fifo(r)
    finally:
        os.close(read_end)
        os.close(write_end)
    assert not is_fifo(None)


def test_piped_stage_takes_its_share_of_the_cores():
    """A stage whose stdout is a pipe sets torch to cores // 6 threads (at least one) before loading models."""
    code = ("import sys, torch; from posetool.threads import configure_threads; "
            "configure_threads(True); print(torch.get_num_threads(), file=sys.stderr)")
    env = {k: v for k, v in os.environ.items() if k not in ("POSETOOL_THREADS", "OMP_NUM_THREADS")}
    piped = subprocess.run(f"{sys.executable} -c '{code}' | cat", shell=True, capture_output=True, env=env, cwd=REPO)
    cores = len(os.sched_getaffinity(0))
    assert piped.stderr.decode().split()[-1] == str(max(1, cores // 6))


def test_auto_similarity_follows_the_stream():
    header = make_header({"width": 64, "height": 48}, "coco17", stages=[make_stage("pose2d")])
    assert auto_similarity(header) == "oks"
    header["stages"].append(make_stage("correspond"))
    assert auto_similarity(header) == SIMILARITY_WITH_CORRESPONDENCES
    step = TrackStep(TrackerOptions(similarity="auto"))
    step.start(header)
    assert step.options.similarity == SIMILARITY_WITH_CORRESPONDENCES
    assert header["stages"][-1]["params"]["similarity"] == SIMILARITY_WITH_CORRESPONDENCES
    # the similarity measured best with the model that ran: correspond_real's registered `corr`
    for model, expected in (("correspond_real", "corr"), ("dis", SIMILARITY_WITH_CORRESPONDENCES),
                            ("correspond_r18_synth", SIMILARITY_WITH_CORRESPONDENCES)):
        h = make_header({"width": 64, "height": 48}, "coco17", stages=[make_stage("correspond", model=model)])
        assert auto_similarity(h) == expected, model


def test_detector_threshold_is_registered_with_the_model():
    assert get_model_spec("centernet_r18_synth", task="detect").defaults["score_thr"] == 0.5
