"""How many threads torch and OpenCV use in a stage, chosen once per process.

A stage alone (files in and out) and ``posetool run`` keep the libraries' default: one thread per
core. A stage in a pipe (its stdin or stdout a FIFO) shares the cores with the other stages of the
pipe, which all run at once; six processes each running one thread per core make torch's OpenMP
workers spin against each other (issue #18, 4 people × 200 frames on 2 cores: the README pipe took
105 s and 154 s of CPU with every stage at two threads, 45 s and 36 s of CPU at one thread each).
So a piped stage takes its share of the cores, ``cores // 6`` (the six stages of the chain), at
least one.

``POSETOOL_THREADS=N`` sets the count for every command (piped or not); a user's own
``OMP_NUM_THREADS`` is left alone in a pipe. Torch's float sums may round differently with another
thread count (a last-bit difference, ~1e-7), so records are bit-identical between ``run`` and a
pipe only at the same thread count (``POSETOOL_THREADS`` makes it so).
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Mapping
from typing import IO

from posetool.errors import UsageError

ENV = "POSETOOL_THREADS"
STAGES_PER_PIPE = 6


def is_fifo(stream: IO | None) -> bool:
    """Whether ``stream`` is a pipe (a FIFO), e.g. ``sys.stdout`` of a stage with ``|`` after it."""
    try:
        return stat.S_ISFIFO(os.fstat(stream.fileno()).st_mode)  # type: ignore[union-attr]
    except (AttributeError, OSError, ValueError):
        return False


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity where the system tells it)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def choose_threads(in_pipe: bool, cores: int, env: Mapping[str, str]) -> int | None:
    """Threads a command should use, or ``None`` to keep the libraries' defaults.

    ``POSETOOL_THREADS`` wins; else a stage in a pipe takes ``cores // 6`` (at least 1) unless the
    user set ``OMP_NUM_THREADS``; else ``None``.
    """
    value = env.get(ENV, "").strip()
    if value:
        try:
            n = int(value)
        except ValueError:
            n = 0
        if n < 1:
            raise UsageError(f"{ENV} must be a whole number of threads ≥ 1, got {value!r}")
        return n
    if in_pipe and not env.get("OMP_NUM_THREADS"):
        return max(1, cores // STAGES_PER_PIPE)
    return None


def configure_threads(stage: bool) -> int | None:
    """Apply :func:`choose_threads` to this process; ``stage``: a pipe stage (else only ``POSETOOL_THREADS``).

    Called before the command imports torch or OpenCV, so the environment variables they read at
    start-up take effect (OpenMP starts no extra workers); libraries already imported (in-process
    callers, tests) are set directly. Returns the count applied, or ``None``.
    """
    in_pipe = stage and (is_fifo(sys.stdin) or is_fifo(sys.stdout))
    n = choose_threads(in_pipe, available_cores(), os.environ)
    if n is None:
        return None
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENCV_FOR_THREADS_NUM"):
        os.environ[var] = str(n)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(n)
    if "cv2" in sys.modules:
        sys.modules["cv2"].setNumThreads(n)
    return n
