"""Real test videos, fetched through package registries into a cache (never committed).

- ``vtest.avi`` (768×576, 10 fps, 795 frames, a street seen from above, 3–7 pedestrians): OpenCV's
  sample video as Debian ships it in ``opencv-doc`` 4.6.0+dfsg-12 (its copyright file puts the
  sample data under Apache-2.0 AND BSD-3-Clause). Fetched with ``apt-get download`` (after one
  ``apt-get update`` when the package lists lack it) and unpacked with ``dpkg-deb -x``.
- Pose2Sim's demo clips (BSD-3-Clause, 1088×1920 portrait, 60 fps, 100 frames each):
  ``Demo_SinglePerson/videos/cam0[1-4].mp4`` and ``Demo_MultiPerson/videos/cam0[1-4].mp4`` (two
  people on a force plate, a third in the background) from the PyPI wheel ``pose2sim==0.10.49``,
  downloaded with pip (never installed).

Every file is checked against its sha256. The cache is ``$POSETOOL_DATA`` if set, else
``data/`` in the weights cache (:func:`posetool.hub.weights.cache_dir`).
``python -m posetool.data.real_videos`` fetches everything and prints the paths; tests call
:func:`fetch_vtest` / :func:`fetch_pose2sim` and skip when they raise :class:`FetchError`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path

from posetool.errors import PosetoolError

OPENCV_DOC = "opencv-doc=4.6.0+dfsg-12"
VTEST_MEMBER = "usr/share/doc/opencv-doc/examples/data/vtest.avi"
VTEST_SHA256 = "45cddc9490be69345cbdab64ca583be65987e864ca408038e648db99e10516cf"
POSE2SIM = "pose2sim==0.10.49"
POSE2SIM_LICENCE = "pose2sim-0.10.49.dist-info/licenses/LICENSE"
POSE2SIM_SHA256 = {
    "Demo_SinglePerson/videos/cam01.mp4": "cf4f2816c86bea4bfbea255333d8626ff32a3ecabdab8b0fb147cea9167fde3a",
    "Demo_SinglePerson/videos/cam02.mp4": "94ff87cf978b8406e8aa36ab3c5362e72848994e87652f0dc7a33c315e8e0442",
    "Demo_SinglePerson/videos/cam03.mp4": "b8b329f832f178f27ecb78d024d5026b96c6adb36c387bfe2c0af85eab8a11ca",
    "Demo_SinglePerson/videos/cam04.mp4": "b5c0e7863fd70d008e7178d3c556b045b0ea5f78fcd61ca548a0b2e807e641f7",
    "Demo_MultiPerson/videos/cam01.mp4": "543cee6a4c2c2b52dc9eac9137ee63d14f1f84e706a9a7264769edcb11e5ea53",
    "Demo_MultiPerson/videos/cam02.mp4": "8895092a7cf26359205a427b7ac2f4a935c2e0bd36d9b7a5140cb33faa468a6b",
    "Demo_MultiPerson/videos/cam03.mp4": "d3daf48cdf9f5603868ddb99166ddaf9b12279e7ce968922926560d5fd3f0c99",
    "Demo_MultiPerson/videos/cam04.mp4": "1490149dc40e7301fa5ceae23862b044ba5c398a8b2a40df21ed894702728c09",
}


class FetchError(PosetoolError):
    """A real video could not be fetched (no network, no apt/dpkg, a changed package)."""


def data_dir() -> Path:
    """The real-data cache (not created here)."""
    if os.environ.get("POSETOOL_DATA"):
        return Path(os.environ["POSETOOL_DATA"]).expanduser()
    from posetool.hub.weights import cache_dir

    return cache_dir() / "data"


def _verified(path: Path, sha256: str) -> bool:
    from posetool.hub.weights import sha256_file

    return path.is_file() and sha256_file(path) == sha256


def _run(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise FetchError(f"{cmd[0]} failed: {exc}") from None


def fetch_vtest(cache: Path | None = None) -> Path:
    """``vtest.avi`` from Debian's ``opencv-doc`` (see the module docstring); returns its path."""
    target = (cache or data_dir()) / "opencv-doc" / "vtest.avi"
    if _verified(target, VTEST_SHA256):
        return target
    if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
        raise FetchError("vtest.avi comes from the Debian package opencv-doc: apt-get and dpkg-deb are needed")
    with tempfile.TemporaryDirectory(prefix="posetool-deb-") as tmp:
        work = Path(tmp)
        proc = _run(["apt-get", "download", OPENCV_DOC], work)
        if proc.returncode != 0:
            # Fresh machines (CI containers) have no package lists yet: update once, then retry.
            _run(["apt-get", "update"], work)
            proc = _run(["apt-get", "download", OPENCV_DOC], work)
        debs = sorted(work.glob("opencv-doc_*.deb"))
        if proc.returncode != 0 or not debs:
            last = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["?"]
            raise FetchError(f"apt-get download {OPENCV_DOC} failed: {last[0]}")
        proc = _run(["dpkg-deb", "-x", str(debs[0]), str(work / "x")], work)
        source = work / "x" / VTEST_MEMBER
        if proc.returncode != 0 or not source.is_file():
            raise FetchError(f"{debs[0].name}: has no {VTEST_MEMBER}")
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".part")
        shutil.copyfile(source, partial)
    if not _verified(partial, VTEST_SHA256):
        partial.unlink(missing_ok=True)
        raise FetchError(f"vtest.avi from {OPENCV_DOC} does not match its sha256 {VTEST_SHA256[:12]}…")
    partial.replace(target)
    return target


def fetch_pose2sim(cache: Path | None = None) -> Path:
    """Pose2Sim's demo clips from the ``pose2sim`` wheel; returns the folder holding
    ``Demo_SinglePerson/videos/`` and ``Demo_MultiPerson/videos/``."""
    root = (cache or data_dir()) / "pose2sim"
    if all(_verified(root / rel, sha) for rel, sha in POSE2SIM_SHA256.items()):
        return root
    from posetool.errors import WeightsError
    from posetool.hub.fetchers.pypi import download_wheel

    with tempfile.TemporaryDirectory(prefix="posetool-wheel-") as tmp:
        try:
            wheel = download_wheel(POSE2SIM, Path(tmp))
        except WeightsError as exc:
            raise FetchError(str(exc)) from None
        with zipfile.ZipFile(wheel) as archive:
            names = set(archive.namelist())
            for rel, sha in POSE2SIM_SHA256.items():
                member = f"Pose2Sim/{rel}"
                if member not in names:
                    raise FetchError(f"{wheel.name}: has no {member}")
                target = root / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                partial = target.with_name(target.name + ".part")
                with archive.open(member) as src, open(partial, "wb") as dst:
                    shutil.copyfileobj(src, dst)
                if not _verified(partial, sha):
                    partial.unlink(missing_ok=True)
                    raise FetchError(f"{member} from {POSE2SIM} does not match its sha256 {sha[:12]}…")
                partial.replace(target)
            if POSE2SIM_LICENCE in names:  # the BSD-3-Clause text travels with the clips
                (root / "LICENSE").write_bytes(archive.read(POSE2SIM_LICENCE))
    return root


def main() -> None:
    """Fetch every real video into the cache and print where they are."""
    import sys

    for name, fetch in (("vtest", fetch_vtest), ("pose2sim", fetch_pose2sim)):
        try:
            print(f"{name}: {fetch()}")
        except FetchError as exc:
            print(f"{name}: not fetched: {exc}", file=sys.stderr)
            sys.exit(1)


if __name__ == "__main__":
    main()
