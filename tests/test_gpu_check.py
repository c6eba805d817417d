"""scripts/gpu_check.py, run CPU against CPU (no GPU here): inputs of the right shape for each kind
of model, zero differences, a failing model reported instead of stopping the check."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from posetool.hub.registry import ModelSpec, get_model_spec

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def gpu_check():
    spec = importlib.util.spec_from_file_location("gpu_check", ROOT / "scripts" / "gpu_check.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", ["simplebaseline_r18_synth", "videopose3d_synth", "correspond_r18_synth",
                                  "align_synth", "centernet_r18_synth", "hrnet_w32_256x192", "smoothnet_synth"])
def test_forward_check_cpu_against_cpu_is_exact(gpu_check, name):
    r = gpu_check.check_model(get_model_spec(name), "cpu", batch=1, repeats=1)
    assert r["ran"], r
    assert r["max_abs_diff"] == 0.0 and r["cpu_ms"] > 0 and r["device_ms"] > 0
    md = gpu_check.markdown({"card": "cpu", "device": "cpu", "torch": "x", "python": "y", "models": [r],
                             "run": {}, "torchrun": {}})
    assert f"| {name} |" in md


def test_a_model_that_cannot_run_is_reported_not_raised(gpu_check):
    broken = ModelSpec(name="broken_test", task="pose2d", builder="posetool.nn.simple_baselines:pose_resnet",
                       kwargs={"depth": 7})  # no such ResNet depth: the builder raises
    rows = gpu_check.check_models([broken, get_model_spec("simplebaseline_r18_synth")], "cpu", 1, 1)
    assert rows[0]["model"] == "broken_test" and rows[0]["ran"] is False and rows[0]["why"]
    assert rows[1]["ran"] and rows[1]["max_abs_diff"] == 0.0
    assert "not run: " in gpu_check.markdown({"card": "cpu", "device": "cpu", "torch": "x", "python": "y",
                                               "models": rows, "run": {}, "torchrun": {}})
