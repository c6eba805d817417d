"""Converted BlazePose models (PyTorch) vs the TFLite interpreter (LiteRT with XNNPACK), same inputs.

Inputs are real pipeline inputs: detector images (scikit-image's astronaut, letterboxed to 224) and
landmark crops (256×256) of the astronaut ROI at eight rotations. LiteRT runs a batch as
consecutive invocations (the graphs' RESHAPEs fix batch 1); PyTorch runs it as one batch. Both use
the same number of CPU threads. Prints a markdown table: images or crops per second and the
PyTorch / LiteRT ratio.

Run: ``flock /tmp/posetool-cpu.lock python benchmarks/bench_blazepose.py`` (needs the test extra
and ``posetool weights pull blazepose``).
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def _rate(fn, batch: int, min_time: float) -> float:
    fn()  # warm-up (allocations, oneDNN primitive caches)
    n, start = 0, time.perf_counter()
    while True:
        fn()
        n += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_time and n >= 3:
            return n * batch / elapsed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--min-time", type=float, default=3.0, help="seconds per measurement")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)

    import skimage.data
    import torch
    from ai_edge_litert.interpreter import Interpreter

    from posetool.detect.blazepose import BlazePoseDetector
    from posetool.detect.roi import RotatedRect
    from posetool.hub.loader import load_model
    from posetool.pose2d.blazepose import BlazePoseLandmarks

    torch.set_num_threads(args.threads)
    det_loaded = load_model("blazepose", task="detect", device=args.device)
    lmk_loaded = load_model("blazepose_full", task="pose2d", device=args.device)
    det = BlazePoseDetector.from_loaded(det_loaded)
    lmk = BlazePoseLandmarks.from_loaded(lmk_loaded)
    photo = skimage.data.astronaut()
    roi = det.detect([photo], bgr=False)[0][0].roi
    det_inputs = np.stack([det.preprocess(photo)[0]] * 8)
    crops = np.stack([lmk.preprocess(photo, RotatedRect(roi.cx, roi.cy, roi.width, roi.height, roi.rotation + 0.1 * k))
                      for k in range(8)])

    rows = []
    for name, loaded, inputs in (("detector 224", det_loaded, det_inputs), ("landmarks 256 (full)", lmk_loaded, crops)):
        it = Interpreter(model_path=str(loaded.weights_path), num_threads=args.threads)
        it.allocate_tensors()
        index = it.get_input_details()[0]["index"]
        outputs = [d["index"] for d in it.get_output_details()]
        x_all = torch.from_numpy(inputs).to(loaded.device).permute(0, 3, 1, 2)
        for batch in (1, 8):
            def run_litert(batch=batch):
                for k in range(batch):
                    it.set_tensor(index, inputs[k:k + 1])
                    it.invoke()
                    [it.get_tensor(o) for o in outputs]

            def run_torch(batch=batch):
                with torch.inference_mode():
                    out = loaded.module(x_all[:batch])
                    [o.cpu() for o in out]

            lite = _rate(run_litert, batch, args.min_time)
            ours = _rate(run_torch, batch, args.min_time)
            rows.append((name, batch, ours, lite))

    print(f"| model | batch | posetool (PyTorch {torch.__version__}, {args.device}) /s | LiteRT XNNPACK /s | ratio |")
    print("|---|---:|---:|---:|---:|")
    for name, batch, ours, lite in rows:
        print(f"| {name} | {batch} | {ours:.1f} | {lite:.1f} | {ours / lite:.2f} |")
    print(f"\n{args.threads} threads; LiteRT invokes batch-1 graphs once per crop.")


if __name__ == "__main__":
    main()
