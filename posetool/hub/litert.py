"""An optional second runtime for the models whose weights file is a ``.tflite`` graph: LiteRT.

The converted PyTorch modules are the default (batched, any device, trainable). On a CPU, Google's
LiteRT interpreter (``ai-edge-litert``, XNNPACK kernels; an optional extra) runs the same graphs
faster than PyTorch's CPU convolutions for some of them, so ``--runtime auto`` picks, per model,
the runtime measured faster on a CPU (``prefer``; benchmarks/bench_movenet.py) when LiteRT is
installed, and PyTorch on other devices. A module that supports both (:class:`posetool.nn.movenet.MoveNet`,
:class:`posetool.nn.tflite.converter.TFLiteWeightsModule`) switches with ``use_runtime``; the
runners call :func:`choose_runtime` to resolve ``auto``. Tests hold the two runtimes to the same
tolerances as the conversion itself.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from posetool.errors import UsageError

RUNTIMES = ("auto", "torch", "litert")


def litert_available() -> bool:
    """Whether ``ai-edge-litert`` can be imported."""
    try:
        import ai_edge_litert.interpreter  # noqa: F401
    except ImportError:
        return False
    return True


def choose_runtime(runtime: str, device: Any, prefer: str = "litert") -> str:
    """``torch`` or ``litert`` for ``--runtime`` on ``device`` (a ``torch.device``).

    ``auto``: ``prefer`` on a CPU (LiteRT only when it is installed), torch elsewhere. ``litert``
    needs the package and runs on the CPU only.
    """
    if runtime not in RUNTIMES:
        raise UsageError(f"--runtime must be one of {', '.join(RUNTIMES)}, got {runtime!r}")
    on_cpu = getattr(device, "type", str(device)) == "cpu"
    if runtime == "auto":
        return "litert" if prefer == "litert" and on_cpu and litert_available() else "torch"
    if runtime == "litert":
        if not litert_available():
            raise UsageError("--runtime litert needs the ai-edge-litert package (pip install ai-edge-litert)")
        if not on_cpu:
            raise UsageError(f"--runtime litert runs on the CPU; --device selected {device}")
    return runtime


@contextlib.contextmanager
def _native_stderr_filtered() -> Iterator[None]:
    """Drop the native library's ``INFO:`` lines (``Created TensorFlow Lite XNNPACK delegate…``) that
    it writes straight to file descriptor 2, so ``--quiet`` stays quiet; anything else is passed on."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):
        yield
        return
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            rest = [line for line in capture.read().splitlines(keepends=True) if not line.startswith(b"INFO: ")]
            if rest:
                os.write(2, b"".join(rest))


class LiteRTGraph:
    """A ``.tflite`` graph in LiteRT, called on batches: each image is one invocation (the graphs
    are exported for batch 1), the input resized when its size changes (dynamic-size graphs).

    ``tensors``: indices of tensors to read after each invocation instead of the graph outputs
    (e.g. a network's heads ahead of its decoding section); the interpreter then keeps every
    intermediate tensor (``experimental_preserve_all_tensors``).
    """

    def __init__(self, path: str | Path, threads: int | None = None, tensors: list[int] | None = None) -> None:
        from ai_edge_litert.interpreter import Interpreter

        import torch

        with warnings.catch_warnings(), _native_stderr_filtered():
            # Keeping intermediate tensors is what reading the heads needs, not a debugging leftover.
            warnings.filterwarnings("ignore", message=".*experimental_preserve_all_tensors.*")
            self.interpreter = Interpreter(model_path=str(path), num_threads=threads or torch.get_num_threads(),
                                           experimental_preserve_all_tensors=bool(tensors))
        self.input = self.interpreter.get_input_details()[0]
        self.tensors = list(tensors) if tensors else [d["index"] for d in self.interpreter.get_output_details()]
        self.shape: tuple[int, ...] | None = None

    def run(self, batch_nhwc: np.ndarray) -> list[np.ndarray]:
        """(B, H, W, C) array → one (B, ...) array per tensor read."""
        x = np.ascontiguousarray(batch_nhwc, dtype=self.input["dtype"])
        shape = (1, *x.shape[1:])
        if shape != self.shape:
            with _native_stderr_filtered():  # the delegate announces itself when tensors are allocated
                self.interpreter.resize_tensor_input(self.input["index"], list(shape))
                self.interpreter.allocate_tensors()
            self.shape = shape
        outs: list[list[np.ndarray]] = [[] for _ in self.tensors]
        for item in x:
            self.interpreter.set_tensor(self.input["index"], item[None])
            self.interpreter.invoke()
            for k, index in enumerate(self.tensors):
                outs[k].append(self.interpreter.get_tensor(index)[0].copy())
        return [np.stack(o) for o in outs]

    def __call__(self, x: Any) -> tuple[Any, ...]:
        """NCHW torch tensor in, torch tensors out (TFLite's layouts), as the converted module."""
        import torch

        outs = self.run(x.permute(0, 2, 3, 1).cpu().numpy())
        return tuple(torch.from_numpy(o) for o in outs)
