"""MoveNet in PyTorch vs LiteRT, and the real `run` preset end to end vs a plain LiteRT loop.

1. Model: the same vtest frames, resized to the default input (long side 512 → 512×384), through
   posetool's MoveNet (converted network + torch decoding, one batched call) and through LiteRT
   running the original graph (network and its own decoding, batch-1 invocations). Batch 1 and 8,
   people/s are frames/s, ratio = posetool / LiteRT. The torch decoding runs with the graph's 6
   people (like for like) and with 20 (the detect stage's default --max-people). On a CPU the
   detector feeds PyTorch's network one frame at a time (posetool.detect.movenet.CPU_CHUNK) and
   decodes the batch at once.
2. End to end: `posetool run` with the real preset (MoveNet → BlazePose landmarks → track →
   lift3d, writing the stream) on the first --frames frames of vtest.avi, with each runtime
   (``--runtime auto``, the default: PyTorch MoveNet and LiteRT landmarks on a CPU; ``torch``;
   ``litert``), against a plain
   Python loop over the same two .tflite models in LiteRT (MoveNet graph → hips/shoulders ROI →
   landmark graph per person, decoded): frames/s (model loading included) and ratio.

Both sides of each ratio are measured in alternating rounds (``--rounds``; the rates are the
medians over rounds), so a load that comes and goes on a shared machine hits both alike; the load
average is printed with the tables. The LiteRT loop's timing includes creating its interpreters,
as ``run``'s includes loading (converting) its models.

``--omp-wait-policy passive`` sets ``OMP_WAIT_POLICY=PASSIVE`` before torch starts: torch's OpenMP
workers then sleep instead of spinning between operators. On cores that other processes also use,
spinning workers take the time slices their partner thread needs (docs/movenet.md, Speed).

Run: ``flock /tmp/posetool-cpu.lock python benchmarks/bench_movenet.py`` (needs the test extra,
``posetool weights pull movenet`` and ``posetool weights pull blazepose``; fetches vtest.avi).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np


def _rate(fn, items: int, min_time: float) -> float:
    n, start = 0, time.perf_counter()
    while True:
        fn()
        n += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_time and n >= 2:
            return n * items / elapsed


def _alternating(fns: dict[str, tuple], rounds: int, min_time: float) -> dict[str, float]:
    """Median rate of each ``name: (fn, items)`` over ``rounds`` rounds that run every fn in turn."""
    for fn, _ in fns.values():
        fn()  # warm-up (allocations, oneDNN primitive caches, LiteRT's resize)
    rates: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(rounds):
        for name, (fn, items) in fns.items():
            rates[name].append(_rate(fn, items, min_time / rounds))
    return {name: float(np.median(r)) for name, r in rates.items()}


def _load() -> str:
    try:
        return " / ".join(open("/proc/loadavg").read().split()[:3])
    except OSError:
        return "?"


def _clip(video: str, frames: int, folder: Path) -> tuple[str, list[np.ndarray]]:
    """The first ``frames`` frames of ``video`` as an MJPG .avi (both sides decode the same file)."""
    import cv2

    cap = cv2.VideoCapture(video)
    images = []
    for _ in range(frames):
        ok, image = cap.read()
        if not ok:
            break
        images.append(image)
    cap.release()
    path = str(folder / "clip.avi")
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (images[0].shape[1], images[0].shape[0]))
    for image in images:
        writer.write(image)
    writer.release()
    return path, images


class LiteRTChain:
    """The plain loop: MoveNet's graph, then BlazePose's landmark graph on each person's ROI."""

    def __init__(self, movenet_path: str, landmark_path: str, threads: int, input_size: int, score_thr: float):
        from ai_edge_litert.interpreter import Interpreter

        self.movenet = Interpreter(model_path=movenet_path, num_threads=threads)
        self.landmarks = Interpreter(model_path=landmark_path, num_threads=threads)
        self.landmarks.allocate_tensors()
        self.shape: tuple[int, ...] | None = None
        self.input_size, self.score_thr = input_size, score_thr

    def frame(self, image_bgr: np.ndarray) -> list[np.ndarray]:
        import cv2

        from posetool.detect.movenet import input_size_for, rows_to_people
        from posetool.detect.roi import keypoints_roi, roi_from_box
        from posetool.pose2d.blazepose import BlazePoseLandmarks, decode_landmarks

        rgb = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB)
        h, w = input_size_for(rgb.shape[0], rgb.shape[1], self.input_size)
        x = cv2.resize(rgb, (w, h), interpolation=cv2.INTER_AREA)[None]
        index = self.movenet.get_input_details()[0]["index"]
        if self.shape != x.shape:
            self.movenet.resize_tensor_input(index, list(x.shape))
            self.movenet.allocate_tensors()
            self.shape = x.shape
        self.movenet.set_tensor(index, x)
        self.movenet.invoke()
        rows = self.movenet.get_tensor(self.movenet.get_output_details()[0]["index"])[0]
        people = rows_to_people(rows, rgb.shape[1], rgb.shape[0])
        poses = []
        lm_in = self.landmarks.get_input_details()[0]["index"]
        lm_out = [d["index"] for d in self.landmarks.get_output_details()]
        for box, score, kps in zip(people.boxes, people.scores, people.keypoints):
            if score < self.score_thr:
                continue
            roi = keypoints_roi(kps) or roi_from_box(box)
            self.landmarks.set_tensor(lm_in, BlazePoseLandmarks.preprocess(rgb, roi)[None])
            self.landmarks.invoke()
            raw, _flag, _seg, heatmap, world = (self.landmarks.get_tensor(o) for o in lm_out)
            poses.append(decode_landmarks(raw, heatmap, world, [roi])[0])
        return poses


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--min-time", type=float, default=3.0, help="seconds per model measurement")
    parser.add_argument("--frames", type=int, default=100, help="vtest frames for the end-to-end run")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per model measurement")
    parser.add_argument("--runtimes", default="auto,torch,litert", help="posetool run --runtime values to time")
    parser.add_argument("--omp-wait-policy", choices=("default", "passive"), default="passive",
                        help="passive (as posetool run): OMP_WAIT_POLICY=PASSIVE for torch's OpenMP workers; "
                             "default: OpenMP's own")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    if args.omp_wait_policy == "passive":
        import os

        os.environ["OMP_WAIT_POLICY"] = "PASSIVE"  # read by libgomp when torch loads it

    import torch
    from ai_edge_litert.interpreter import Interpreter

    from posetool.data.real_videos import fetch_vtest
    from posetool.detect.movenet import DEFAULT_INPUT_SIZE, DEFAULT_SCORE, MoveNetDetector
    from posetool.engine.presets import REAL
    from posetool.engine.run import ChainOptions, run_video
    from posetool.hub.loader import load_model
    from posetool.stream import StreamWriter

    torch.set_num_threads(args.threads)
    load_at_start = _load()
    loaded = load_model("movenet", task="detect", device=args.device)
    landmark_path = str(load_model("blazepose_full", task="pose2d", device="cpu").weights_path)
    with tempfile.TemporaryDirectory(prefix="bench-movenet-") as tmp:
        clip, images = _clip(str(fetch_vtest()), args.frames, Path(tmp))

        # 1. the model alone: torch (6 and 20 people decoded) and LiteRT in alternating rounds
        rows = []
        det = MoveNetDetector.from_loaded(loaded, input_size=DEFAULT_INPUT_SIZE, runtime="torch")
        inputs = np.stack([det.preprocess(images[k % len(images)][..., ::-1].copy()) for k in range(8)])
        it = Interpreter(model_path=str(loaded.weights_path), num_threads=args.threads)
        index = it.get_input_details()[0]["index"]
        it.resize_tensor_input(index, [1, *inputs.shape[1:]])
        it.allocate_tensors()
        output = it.get_output_details()[0]["index"]

        def run_litert(batch: int) -> None:
            for k in range(batch):
                it.set_tensor(index, inputs[k:k + 1])
                it.invoke()
                it.get_tensor(output)

        def run_torch(batch: int, people: int) -> None:
            det.max_people = people
            det.run_network(inputs[:batch])

        for batch in (1, 8):
            rates = _alternating({"litert": (lambda b=batch: run_litert(b), batch),
                                  6: (lambda b=batch: run_torch(b, 6), batch),
                                  20: (lambda b=batch: run_torch(b, 20), batch)}, args.rounds, args.min_time)
            for people in (6, 20):
                rows.append((f"MoveNet {inputs.shape[2]}×{inputs.shape[1]}, {people} people decoded", batch,
                             rates[people], rates["litert"]))

        # 2. end to end on the clip: each posetool runtime, then the plain LiteRT loop
        import cv2

        def lite_loop() -> int:
            chain = LiteRTChain(str(loaded.weights_path), landmark_path, args.threads, DEFAULT_INPUT_SIZE,
                                DEFAULT_SCORE)
            cap = cv2.VideoCapture(clip)
            poses = 0
            while True:
                ok, image = cap.read()
                if not ok:
                    break
                poses += len(chain.frame(image))
            return poses

        ours_e2e, lite_e2e = {}, []
        for runtime in args.runtimes.split(","):
            start = time.perf_counter()
            n_poses = lite_loop()
            lite_e2e.append(len(images) / (time.perf_counter() - start))
            opts = ChainOptions(detect_model=REAL.detect, pose_model=REAL.pose, correspond_model=None, recover=False,
                                lift_model=REAL.lift, device=args.device, runtime=runtime)
            start = time.perf_counter()
            run_video(clip, lambda: StreamWriter(str(Path(tmp) / "run.msgpack"), "msgpack"), opts)
            ours_e2e[runtime] = len(images) / (time.perf_counter() - start)

    policy = "PASSIVE" if args.omp_wait_policy == "passive" else "the default (spinning)"
    print(f"{args.threads} threads, OMP_WAIT_POLICY {policy}; load average (1/5/15 min) {load_at_start} at the "
          f"start, {_load()} at the end\n")
    print(f"| model | batch | posetool (PyTorch {torch.__version__}, {args.device}) frames/s | LiteRT XNNPACK frames/s | ratio |")
    print("|---|---:|---:|---:|---:|")
    for name, batch, ours, lite in rows:
        print(f"| {name} | {batch} | {ours:.2f} | {lite:.2f} | {ours / lite:.2f} |")
    print(f"\n| chain on {len(images)} vtest frames (MoveNet {DEFAULT_INPUT_SIZE} → BlazePose landmarks, {n_poses} poses) "
          f"| frames/s | LiteRT loop frames/s | ratio |")
    print("|---|---:|---:|---:|")
    for (runtime, rate), lite in zip(ours_e2e.items(), lite_e2e):
        print(f"| posetool run, real preset, --runtime {runtime} | {rate:.2f} | {lite:.2f} | {rate / lite:.2f} |")
    print("\nMedians over alternating rounds; LiteRT invokes batch-1 graphs. End to end: model loading included "
          "on both sides (the LiteRT loop timed just before each run); `run` also tracks, lifts to 3D and writes "
          "the stream.")


if __name__ == "__main__":
    main()
