"""Piped stages against ``posetool run``, and stream I/O against the bare msgpack library (issue #18).

Run: python benchmarks/bench_pipes.py [--people 4] [--frames 200] [--repeats 2] [--oversubscribed]

On one synth clip and the same models (the synth preset), in one run:

- wall time of README's piped chain with default options (``detect --model centernet_r18_synth_ft |
  pose2d | correspond | recover | track | lift3d``) and of ``posetool run --preset synth``, best of
  ``--repeats`` each, alternating; the ratio pipe / run (aim: ≤ 1.3); CPU time (user + sys) of each;
  and whether the records are the same (bit for bit, else the largest difference: torch may round
  the last bit differently at another thread count, see posetool/threads.py);
- ``--oversubscribed``: the pipe once more with every stage at one thread per core
  (``POSETOOL_THREADS`` = cores, what every stage did before issue #18);
- every process reads and writes compiled bytecode in a cache folder (``PYTHONPYCACHEPREFIX``, in the
  temporary folder), as an installed package has its ``.pyc`` files; where ``PYTHONDONTWRITEBYTECODE``
  is set (our test machines) each stage would otherwise compile posetool's sources again at every start,
  six times per pipe against once for ``run`` (about 2.5 s of CPU per pipe on a 2-core machine). One
  untimed run of each chain fills the cache;
- reading and writing the run's own stream, records/s of posetool's checked reader and its
  writer against bare ``msgpack`` (``Unpacker`` / ``packb``) on the same records (aim: ≥ 0.8).
  Records are consumed one by one, as a stage does, not collected in a list (a list of thousands of
  records makes the garbage collector the main cost of both sides).
"""

from __future__ import annotations

import argparse
import io
import math
import os
import platform
import resource
import shlex
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterator
from itertools import chain
from operator import countOf
from pathlib import Path
from typing import Any

import msgpack

from posetool.engine.presets import SYNTH
from posetool.stream import StreamReader, StreamWriter, read_stream
from posetool.stream.encoding import NON_FINITE_FLOAT64
from posetool.threads import available_cores

HERE = Path(__file__).resolve().parent
POSETOOL = [sys.executable, "-m", "posetool"]
# README's piped chain with default options (README "Pipelines"; tests/test_run.py keeps it equal to run).
PIPE_STAGES = [f"detect {{video}} --model {SYNTH.detect}", "pose2d", "correspond", "recover", "track", "lift3d -o {out}"]


def pipe_command(video: Path, out: Path) -> str:
    """The piped chain as one shell command line, each stage run by this Python."""
    prefix = " ".join(shlex.quote(p) for p in POSETOOL)
    return " | ".join(f"{prefix} {s.format(video=shlex.quote(str(video)), out=shlex.quote(str(out)))} -q"
                      for s in PIPE_STAGES)


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the command and its children); raises if it fails."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, cwd=HERE.parent)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr.decode()[-2000:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def largest_difference(a: Any, b: Any) -> float:
    """Largest absolute difference between the numbers of two records (inf: they differ in shape or type)."""
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return math.inf
        return max((largest_difference(a[k], b[k]) for k in a), default=0.0)
    if isinstance(a, list) and isinstance(b, list):
        return max(map(largest_difference, a, b), default=0.0) if len(a) == len(b) else math.inf
    if type(a) in (int, float) and type(b) in (int, float):
        return abs(a - b)
    return 0.0 if a == b else math.inf


def drain(records: Iterator[Any]) -> None:
    deque(records, maxlen=0)


def best_rates(ours: Callable[[], None], bare: Callable[[], None], count: int, rounds: int = 15) -> tuple[float, float]:
    """Items per second of the fastest run of ``ours`` and of ``bare`` (each handles ``count`` items).

    The two alternate, round after round, so that other work on the machine slows both alike.
    """
    best = [math.inf, math.inf]
    for _ in range(rounds):
        for i, fn in enumerate((ours, bare)):
            t0 = time.perf_counter()
            fn()
            best[i] = min(best[i], time.perf_counter() - t0)
    return count / best[0], count / best[1]


POINT_FIELDS = ("keypoints", "keypoints_3d")


def number_pass(rec: Any) -> bool:
    """The least a pure-Python check of every point number can do: gather a frame's points, then
    one C-level pass each for their types and lengths, one flattening, one pass for the numbers'
    types and one sum for finiteness (no error messages, no other field)."""
    if rec.get("type") != "frame":
        return True
    lists = [inst[f] for inst in rec["instances"] for f in POINT_FIELDS if inst.get(f) is not None]
    points = list(chain.from_iterable(lists))
    if countOf(map(type, points), list) != len(points) or countOf(map(len, points), 3) != len(points):
        return False
    flat = list(chain.from_iterable(points))
    return countOf(map(type, flat), float) == len(flat) and math.isfinite(sum(flat))


def stream_rates(path: Path) -> list[tuple[str, float, float]]:
    """(direction, posetool records/s, bare msgpack records/s) for the stream at ``path``, and the
    floors that bound any pure-Python reader and writer that check every number."""
    data = path.read_bytes()
    records = read_stream(str(path))
    n = len(records)

    def write() -> None:
        writer = StreamWriter(io.BytesIO(), "msgpack")
        for rec in records:
            writer.write(rec)

    def read_floor() -> None:
        drain(rec for rec in msgpack.Unpacker(io.BytesIO(data), raw=False) if number_pass(rec))

    def write_floor() -> None:
        drain(NON_FINITE_FLOAT64.search(msgpack.packb(r, use_bin_type=True)) for r in records)

    def bare_read() -> None:
        drain(msgpack.Unpacker(io.BytesIO(data), raw=False))

    def bare_write() -> None:
        drain(msgpack.packb(r, use_bin_type=True) for r in records)

    return [
        ("read (checked)", *best_rates(lambda: drain(StreamReader(io.BytesIO(data)).records()), bare_read, n)),
        ("write", *best_rates(write, bare_write, n)),
        ("floor: decode + one pass per point number", *best_rates(read_floor, bare_read, n)),
        ("floor: pack + one scan for NaN/Infinity", *best_rates(write_floor, bare_write, n)),
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--people", type=int, default=4)
    ap.add_argument("--frames", type=int, default=200)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--repeats", type=int, default=2, help="timed runs of each chain (best is reported)")
    ap.add_argument("--oversubscribed", action="store_true", help="also time the pipe at one thread per core per stage")
    args = ap.parse_args()
    load_start = os.getloadavg()[0]
    env = {k: v for k, v in os.environ.items()
           if k not in ("POSETOOL_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "PYTHONDONTWRITEBYTECODE")}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        env["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
        subprocess.run([*POSETOOL, "synth", str(work / "clip"), "--people", str(args.people), "--frames",
                        str(args.frames), "--seed", str(args.seed), "-q"], check=True, env=env)
        video = work / "clip" / "video.mp4"
        run_cmd = [*POSETOOL, "run", str(video), "--preset", "synth", "-o", str(work / "run.msgpack"), "-q"]
        pipe_cmd = ["bash", "-o", "pipefail", "-c", pipe_command(video, work / "pipe.msgpack")]
        timed(run_cmd, env)  # untimed: fills the bytecode cache
        timed(pipe_cmd, env)
        runs: list[tuple[float, float]] = []
        pipes: list[tuple[float, float]] = []
        for _ in range(args.repeats):
            runs.append(timed(run_cmd, env))
            pipes.append(timed(pipe_cmd, env))
        over = None
        if args.oversubscribed:
            over_cmd = ["bash", "-o", "pipefail", "-c", pipe_command(video, work / "over.msgpack")]
            over = timed(over_cmd, dict(env, POSETOOL_THREADS=str(available_cores())))
        a, b = read_stream(str(work / "run.msgpack")), read_stream(str(work / "pipe.msgpack"))
        same = sum(x == y for x, y in zip(a, b))
        diff = max(map(largest_difference, a, b), default=0.0) if len(a) == len(b) else math.inf
        rates = stream_rates(work / "run.msgpack")
    run_wall, run_cpu = min(runs)
    pipe_wall, pipe_cpu = min(pipes)
    print(f"piped stages vs `posetool run`, synth clip {args.people} people × {args.frames} frames (seed {args.seed}), "
          f"synth preset; {available_cores()} cores, {platform.machine()}, best of {args.repeats} after a warm-up run, "
          f"bytecode cached; 1-min load average {load_start:.1f} at the start, {os.getloadavg()[0]:.1f} at the end\n")
    print("| chain | wall s | CPU s (user+sys) | wall / run |")
    print("|---|---:|---:|---:|")
    print(f"| `posetool run --preset synth` | {run_wall:.1f} | {run_cpu:.1f} | 1.00 |")
    print(f"| README pipe, defaults | {pipe_wall:.1f} | {pipe_cpu:.1f} | {pipe_wall / run_wall:.2f} |")
    if over is not None:
        print(f"| same pipe, every stage one thread per core (before #18) | {over[0]:.1f} | {over[1]:.1f} | "
              f"{over[0] / run_wall:.2f} |")
    print(f"\nrecords: {same} of {len(a)} identical"
          + ("" if same == len(a) == len(b) else f"; largest difference {diff:.2g}") + "\n")
    print(f"stream I/O on the run's stream ({len(a)} records), records consumed one by one, best of 15 alternating rounds\n")
    print("| direction | posetool records/s | bare msgpack records/s | ratio |")
    print("|---|---:|---:|---:|")
    for direction, ours, bare in rates:
        print(f"| {direction} | {ours:,.0f} | {bare:,.0f} | {ours / bare:.2f} |")
    (_, read_rate, _), (_, write_rate, _) = rates[:2]
    io_seconds = (len(PIPE_STAGES) - 1) * len(a) * (1 / read_rate + 1 / write_rate)
    print(f"\nthe pipe's stream I/O: {len(PIPE_STAGES) - 1} stage boundaries x {len(a)} records, written and read "
          f"at the rates above = {io_seconds:.2f} s of CPU, {100 * io_seconds / pipe_wall:.2f} % of the pipe's wall time")


if __name__ == "__main__":
    main()
