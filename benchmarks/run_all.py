"""Run every stage benchmark and write benchmarks/RESULTS.md (machine, versions, tables, ratios).

Run: python benchmarks/run_all.py [--quick] [--only stream,track,...]
Each benchmark is a script in this folder that prints a markdown table; this collects them in
one report with the machine and package versions, so figures from different runs never mix.
``--quick`` passes smaller sizes for a fast smoke run (the figures are noisier).
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

# name → (script, full arguments, quick arguments)
BENCHMARKS = {
    "stream": ("bench_stream.py", [], ["--frames", "300"]),
    "synth": ("bench_synth.py", [], ["--frames", "60", "--seeds", "1"]),
    "eval": ("bench_eval.py", [], []),
    "detect": ("bench_detect.py", [], ["--frames", "16", "--backends", "hog,centernet_r18_synth,gt"]),
    "pose2d": ("bench_pose2d.py", ["--threads", "2"], ["--seconds", "1", "--threads", "2"]),
    "correspond": ("bench_correspond.py", [], ["--min-time", "0.5"]),
    "track": ("bench_track.py", [], ["--frames", "40"]),
    "lift3d": ("bench_lift3d.py", [], ["--frames", "1000", "--repeats", "1"]),
    "blazepose": ("bench_blazepose.py", [], ["--min-time", "0.5"]),
    "movenet": ("bench_movenet.py", [], ["--min-time", "0.5", "--frames", "20"]),
    "pipes": ("bench_pipes.py", ["--repeats", "3", "--oversubscribed"], ["--repeats", "1", "--oversubscribed"]),
}


def versions() -> str:
    import cv2
    import numpy
    import torch

    from posetool import __version__

    return (f"posetool {__version__}, Python {platform.python_version()}, torch {torch.__version__} "
            f"({torch.get_num_threads()} threads), numpy {numpy.__version__}, OpenCV {cv2.__version__}")


def kept_sections(path: Path, produced: set[str]) -> list[str]:
    """Lines of the ``## `` sections of an existing results file that this script does not write
    (the GPU check's, measured on another machine), so a rerun keeps them."""
    if not path.is_file():
        return []
    kept: list[str] = []
    keep = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            keep = line[3:].strip() not in produced
        if keep:
            kept.append(line)
    return kept


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes (smoke run)")
    ap.add_argument("--only", default=None, help="comma-separated subset of: " + ", ".join(BENCHMARKS))
    ap.add_argument("--out", default=str(HERE / "RESULTS.md"))
    args = ap.parse_args()
    names = args.only.split(",") if args.only else list(BENCHMARKS)
    lines = [
        "# posetool benchmark results", "",
        f"Written by `python benchmarks/run_all.py{' --quick' if args.quick else ''}` on "
        f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC.", "",
        f"- machine: {platform.machine()}, {os.cpu_count()} CPU cores, {platform.platform()}",
        f"- {versions()}", "",
        "Every figure below was measured in this run; ratios compare against the reference named in each "
        "table, measured in the same run.", "",
    ]
    for name in names:
        script, full, quick = BENCHMARKS[name]
        t0 = time.time()
        proc = subprocess.run([sys.executable, str(HERE / script), *(quick if args.quick else full)],
                              capture_output=True, text=True, cwd=HERE.parent)
        lines += [f"## {name}", "", f"`python benchmarks/{script} {' '.join(quick if args.quick else full)}`"
                  f" ({time.time() - t0:.0f} s)", ""]
        if proc.returncode != 0:
            err = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
            lines += [f"failed: {err}", ""]
        else:
            lines += [proc.stdout.strip(), ""]
        print(f"{name}: {'ok' if proc.returncode == 0 else 'FAILED'} ({time.time() - t0:.0f} s)", file=sys.stderr)
    lines += kept_sections(Path(args.out), set(BENCHMARKS))
    Path(args.out).write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
