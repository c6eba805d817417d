#!/usr/bin/env python
"""GPU check: every model's forward on the device against CPU, ``posetool run`` on the device, a
torchrun training step, with timings; one Markdown report (and JSON) for benchmarks/RESULTS.md.

Run through ``scripts/gpu_check.sh`` on a machine with a GPU (it sets the paths). ``--device cpu``
runs the same checks CPU against CPU, which is how the script itself is tested on machines
without a GPU (every difference must then be 0).

Models with weights (shipped, or in the cache) load through the shared loader; official
architectures whose checkpoints are not here run with seeded random weights, the same on both
devices — what is checked is that the device computes what the CPU computes. TFLite-converted
models (MoveNet, BlazePose) need their ``.tflite`` files in the cache; without them they are listed
as not run, with the reason.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from posetool.hub.loader import load_model
from posetool.hub.registry import ModelSpec, list_models
from posetool.hub.weights import find_weights


def example_input(spec: ModelSpec, module: Any, batch: int) -> tuple[Any, ...]:
    """A seeded input of the shape the module's forward takes (NCHW images, (B, T, J, F) keypoint
    windows, image pairs + queries for correspondences)."""
    g = torch.Generator().manual_seed(0)
    builder = spec.builder.rsplit(":", 1)[-1]
    if builder == "build_videopose3d":
        frames = module.receptive_field() + 9  # ten output frames
        cfg = module.config
        return (torch.rand(batch, frames, cfg["num_joints_in"], cfg["in_features"], generator=g) * 2 - 1,)
    if builder == "build_pose_tcc":
        return (torch.rand(batch, 40, spec.kwargs["num_keypoints"], spec.kwargs["in_features"], generator=g) * 2 - 1,)
    if builder == "build_smoothnet":  # windows of T values, one row per coordinate (34 for COCO-17)
        return (torch.rand(batch, 34, spec.kwargs["window"], generator=g) * 2 - 1,)
    if builder == "build_leftright":  # track features (B, C, T): a window of 51 frames
        return (torch.rand(batch, spec.kwargs["in_channels"], 51, generator=g) * 2 - 1,)
    if builder == "build_module":  # TFLite graph converted to torch (NHWC input_shape, NCHW forward)
        _, h, w, c = spec.kwargs["input_shape"]
        return (torch.rand(1, c, h, w, generator=g),)
    size = (spec.input.height, spec.input.width)
    if builder == "correspondence_net":
        a, b = (torch.rand(batch, 3, *size, generator=g) for _ in range(2))
        k = spec.kwargs["num_keypoints"]
        queries = torch.rand(batch, k, 2, generator=g) * torch.tensor([size[1] - 1, size[0] - 1])
        return a, b, queries
    if builder == "build_movenet":
        return (torch.rand(1, 3, *size, generator=g) * 255,)
    return (torch.rand(batch, 3, *size, generator=g),)


def flat(out: Any) -> list[torch.Tensor]:
    """The tensors of a forward's output (tensor, tuple/list or dict), in a fixed order."""
    if isinstance(out, torch.Tensor):
        return [out]
    if isinstance(out, dict):
        return [t for k in sorted(out) for t in flat(out[k])]
    if isinstance(out, (list, tuple)):
        return [t for x in out for t in flat(x)]
    return []


def time_forward(module: Any, inputs: tuple[Any, ...], device: torch.device, repeats: int) -> float:
    """Median seconds of one forward (after two warm-ups), synchronised on CUDA."""
    times = []
    with torch.inference_mode():
        for i in range(repeats + 2):
            if device.type == "cuda":
                torch.cuda.synchronize()
            t = time.perf_counter()
            module(*inputs)
            if device.type == "cuda":
                torch.cuda.synchronize()
            if i >= 2:
                times.append(time.perf_counter() - t)
    return float(np.median(times))


def check_model(spec: ModelSpec, device: str, batch: int, repeats: int) -> dict[str, Any]:
    """Forward of one model on CPU and on ``device``: largest difference relative to the output's scale, timings."""
    try:
        has_weights = find_weights(spec) is not None
    except Exception:  # missing official checkpoint: random weights, same on both devices
        has_weights = False
    if has_weights:
        cpu_model = load_model(spec.name, device="cpu").module
        dev_model = load_model(spec.name, device=device).module
        weights = "shipped/cached"
    elif spec.builder.endswith(":build_module") or spec.builder.endswith(":build_movenet"):
        return {"model": spec.name, "ran": False, "why": "TFLite weights not in the cache (posetool weights pull)"}
    else:
        torch.manual_seed(0)
        cpu_model = spec.build().eval()
        dev_model = spec.build().eval()
        dev_model.load_state_dict(cpu_model.state_dict())
        dev_model = dev_model.to(device)
        weights = "random (seeded)"
    inputs = example_input(spec, cpu_model, batch)
    dev = torch.device(device)
    with torch.inference_mode():
        ref = flat(cpu_model(*inputs))
        got = flat(dev_model(*(x.to(dev) for x in inputs)))
    diffs = [float((a.float() - b.float().cpu()).abs().max()) for a, b in zip(ref, got)]
    scale = max(float(a.float().abs().max()) for a in ref) or 1.0
    cpu_s = time_forward(cpu_model, inputs, torch.device("cpu"), repeats)
    dev_s = time_forward(dev_model, tuple(x.to(dev) for x in inputs), dev, repeats)
    return {"model": spec.name, "ran": True, "weights": weights, "input": [list(x.shape) for x in inputs],
            "max_abs_diff": max(diffs), "max_rel_diff": max(diffs) / scale, "cpu_ms": 1e3 * cpu_s,
            "device_ms": 1e3 * dev_s, "speedup": cpu_s / dev_s if dev_s > 0 else None}


def check_models(specs: list[ModelSpec], device: str, batch: int, repeats: int) -> list[dict[str, Any]]:
    """:func:`check_model` for each spec; a model that fails is a row saying why, so one failure
    does not cost the rest of the (scarce) device time."""
    rows = []
    for spec in specs:
        try:
            rows.append(check_model(spec, device, batch, repeats))
        except Exception as exc:  # noqa: BLE001 - reported in the table
            rows.append({"model": spec.name, "ran": False, "why": f"{type(exc).__name__}: {exc}"[:200]})
    return rows


def sh(cmd: str, log: list[str]) -> tuple[int, float, str]:
    """Run ``cmd`` in a shell; (exit code, seconds, last lines of its output)."""
    log.append(f"$ {cmd}")
    t = time.perf_counter()
    done = subprocess.run(cmd, shell=True, capture_output=True, text=True, executable="/bin/bash")
    tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-5:])
    return done.returncode, time.perf_counter() - t, tail


def compare_streams(a: str, b: str) -> dict[str, Any]:
    """People per stream and the largest keypoint difference (px) between two runs of the chain."""
    from posetool.stream import read_stream

    ra = [r for r in read_stream(a) if r.get("type") == "frame"]
    rb = [r for r in read_stream(b) if r.get("type") == "frame"]
    people = (sum(len(r["instances"]) for r in ra), sum(len(r["instances"]) for r in rb))
    worst = 0.0
    for x, y in zip(ra, rb):
        for p, q in zip(x["instances"], y["instances"]):
            if p.get("keypoints") and q.get("keypoints"):
                d = np.abs(np.asarray(p["keypoints"], float)[:, :2] - np.asarray(q["keypoints"], float)[:, :2])
                if np.isfinite(d).any():
                    worst = max(worst, float(np.nanmax(d)))
    return {"frames": (len(ra), len(rb)), "people": people, "max_keypoint_diff_px": worst}


def run_checks(device: str, work: Path, batch: int, repeats: int, frames: int) -> dict[str, Any]:
    log: list[str] = []
    report: dict[str, Any] = {"device": device, "torch": torch.__version__, "python": platform.python_version(),
                              "card": torch.cuda.get_device_name(0) if device.startswith("cuda") else platform.processor() or "cpu"}
    report["models"] = check_models([s for s in list_models() if s.runtime == "torch"], device, batch, repeats)
    work.mkdir(parents=True, exist_ok=True)
    pt = f"{shlex.quote(sys.executable)} -m posetool"
    clip = work / "clip"
    code, _, tail = sh(f"{pt} synth {clip} --people 4 --frames {frames} --seed 7200 -q", log)
    runs: dict[str, Any] = {}
    if code == 0:
        for dev in ("cpu", device):
            out = work / f"run_{dev.replace(':', '')}.msgpack"
            code, secs, tail = sh(f"{pt} run {clip}/video.mp4 --preset synth --device {dev} -o {out} -q", log)
            runs[dev] = {"exit": code, "seconds": secs, "output": tail if code else ""}
        if all(r["exit"] == 0 for r in runs.values()):
            runs["compare"] = compare_streams(str(work / "run_cpu.msgpack"), str(work / f"run_{device.replace(':', '')}.msgpack"))
    else:
        runs["synth"] = tail
    report["run"] = runs
    train: dict[str, Any] = {}
    for stage, extra in (("pose2d", "--epochs 1 --batch-size 16"), ("lift3d", "--epochs 1 --arch 3,3 --channels 64")):
        out = work / f"train_{stage}"
        code, secs, tail = sh(f"torchrun --standalone --nproc-per-node 1 -m posetool train {stage} {clip} "
                              f"--device {device} {extra} -o {out} -q", log)
        train[stage] = {"exit": code, "seconds": secs, "output": tail if code else ""}
    report["torchrun"] = train
    report["commands"] = log
    return report


def markdown(r: dict[str, Any]) -> str:
    lines = [f"### GPU check on {r['card']} ({r['device']}, torch {r['torch']}, Python {r['python']})", "",
             "`bash scripts/gpu_check.sh` (forward of every model on the device vs CPU, batch as listed; "
             "median of the timed forwards after two warm-ups):", "",
             "| model | weights | input | max abs diff | max rel diff | CPU ms | device ms | speed-up |",
             "|---|---|---|---:|---:|---:|---:|---:|"]
    for m in r["models"]:
        if not m["ran"]:
            lines.append(f"| {m['model']} | – | – | not run: {m['why']} | | | | |")
            continue
        lines.append(f"| {m['model']} | {m['weights']} | {' + '.join('×'.join(map(str, s)) for s in m['input'])} "
                     f"| {m['max_abs_diff']:.2e} | {m['max_rel_diff']:.2e} | {m['cpu_ms']:.1f} | {m['device_ms']:.2f} "
                     f"| {m['speedup']:.1f} × |")
    run = r["run"]
    lines += ["", "`posetool run --preset synth` on a 4-person synth clip (seed 7200):", ""]
    for dev, v in run.items():
        if dev == "compare":
            lines.append(f"- frames {v['frames']}, people {v['people']} (cpu, device); largest keypoint "
                         f"difference {v['max_keypoint_diff_px']:.3g} px")
        elif isinstance(v, dict):
            lines.append(f"- `--device {dev}`: exit {v['exit']}, {v['seconds']:.1f} s" + (f" — {v['output']}" if v["output"] else ""))
    lines += ["", "torchrun (1 process) training step:", ""]
    for stage, v in r["torchrun"].items():
        lines.append(f"- `train {stage}`: exit {v['exit']}, {v['seconds']:.1f} s" + (f" — {v['output']}" if v["output"] else ""))
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda", help="Device to check against the CPU (cpu: a dry run of the script).")
    ap.add_argument("--out", default=os.environ.get("OUT", "runs/gpu_check"), help="Folder for gpu_check.md / .json.")
    ap.add_argument("--work", default="/tmp/posetool_gpu_check", help="Scratch folder (clip, streams, runs).")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--frames", type=int, default=30, help="Frames of the clip for `run` and the training steps.")
    args = ap.parse_args()
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        sys.exit("gpu_check: torch sees no CUDA device (use --device cpu for a dry run)")
    report = run_checks(args.device, Path(args.work), args.batch, args.repeats, args.frames)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "gpu_check.json").write_text(json.dumps(report, indent=2))
    (out / "gpu_check.md").write_text(markdown(report))
    print(markdown(report))


if __name__ == "__main__":
    main()
