"""Fetch the four camera videos of Pose2Sim's single-person demo into the posetool cache.

The videos ship inside the ``pose2sim==0.10.49`` wheel on PyPI (BSD-3-Clause; its licence file is
copied next to them). The wheel is downloaded with ``pip download --no-deps`` (never installed)
and only ``Pose2Sim/Demo_SinglePerson/videos/cam0*.mp4`` are read out of it. They are test
footage for docs/align.md and are never committed.

Usage::

    python scripts/fetch_pose2sim_demo.py [--out DIR]     # default: $POSETOOL_HOME/data/pose2sim-demo

Prints the folder holding cam01.mp4 ... cam04.mp4.
"""

from __future__ import annotations

import argparse
import tempfile
import zipfile
from pathlib import Path

from posetool.hub.fetchers.pypi import download_wheel
from posetool.hub.weights import cache_dir

REQUIREMENT = "pose2sim==0.10.49"
VIDEOS = [f"Pose2Sim/Demo_SinglePerson/videos/cam0{i}.mp4" for i in range(1, 5)]
LICENCE = "pose2sim-0.10.49.dist-info/licenses/LICENSE"


def fetch(out: Path) -> Path:
    """Download the wheel (unless every video is already in ``out``) and extract the videos."""
    wanted = [out / Path(v).name for v in VIDEOS]
    if all(p.is_file() for p in wanted):
        return out
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="posetool-pose2sim-") as tmp:
        wheel = download_wheel(REQUIREMENT, Path(tmp))
        with zipfile.ZipFile(wheel) as archive:
            for member, target in zip(VIDEOS + [LICENCE], wanted + [out / "LICENSE-pose2sim.txt"]):
                target.write_bytes(archive.read(member))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=cache_dir() / "data" / "pose2sim-demo")
    print(fetch(parser.parse_args().out))


if __name__ == "__main__":
    main()
