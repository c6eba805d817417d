"""Lifting throughput (frames/s) of posetool's VideoPose3D path vs. the official-style path.

Whole-sequence mode, single pass, no flip, batch of one sequence, as VideoPose3D's ``run.py``
evaluates: the reference pads the sequence with ``np.pad(..., 'edge')`` and runs the dilated
``TemporalModel`` (BatchNorm, dropout modules in eval mode) under ``torch.no_grad``; posetool runs
:class:`posetool.lift3d.infer.SequenceLifter` (BatchNorm folded into the convolutions). Both use
the same weights; the table reports the largest output difference.

Run: ``flock /tmp/posetool-cpu.lock python benchmarks/bench_lift3d.py [--frames N] [--repeats R]``;
``--accuracy SYNTH_DIR...`` instead measures the shipped model's MPJPE / P-MPJPE on held-out synth
folders with clean and noisy ground-truth 2D.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from posetool.lift3d.infer import SequenceLifter
from posetool.lift3d.windows import pad_edge
from posetool.nn.videopose3d import VideoPose3D


def _realistic_bn(model: VideoPose3D, seed: int = 0) -> None:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm1d):
                m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)


def _best(fn, repeats: int) -> float:
    fn()  # warm-up (allocator, oneDNN primitive cache)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def bench(name: str, model: VideoPose3D, frames: int, repeats: int) -> dict:
    model = model.eval()
    kp = np.random.default_rng(0).uniform(-1, 1, size=(frames, model.model_pos.num_joints_in, 2)).astype(np.float32)
    left, right = model.padding()

    def reference():
        x = torch.from_numpy(pad_edge(kp, left, right).astype("float32"))[None]
        with torch.no_grad():
            return model.model_pos(x)[0].numpy()

    lifter = SequenceLifter(model, flip=False, trajectory=False)  # pose network only, like the reference

    def ours():
        return lifter.lift(kp).pose

    diff = float(np.abs(reference() - ours()).max())
    # alternate the two paths so that load from other processes hits both alike; keep the best
    t_ref = t_ours = float("inf")
    for _ in range(repeats):
        t_ref = min(t_ref, _best(reference, 1))
        t_ours = min(t_ours, _best(ours, 1))
    return {"name": name, "frames": frames, "ref_fps": frames / t_ref, "ours_fps": frames / t_ours,
            "ratio": t_ref / t_ours, "max_diff": diff, "rf": model.receptive_field()}


def accuracy(dirs: list[str], noise_px: list[float], weights: str | None) -> None:
    """MPJPE / P-MPJPE (mm) of the shipped model on synth folders, GT 2D plus Gaussian pixel noise."""
    from posetool.hub.loader import load_model
    from posetool.lift3d.data import open_dataset
    from posetool.lift3d.train import evaluate

    model = load_model("videopose3d_synth", task="lift3d", weights=weights, device="cpu").module
    seqs = open_dataset(dirs).sequences()
    w = float(next(iter(open_dataset(dirs[:1]).metadata["cameras"].values()))[0]["res_w"])  # synth: one size
    print(f"{len(seqs)} sequences, {sum(len(s.keypoints) for s in seqs)} frames from {len(dirs)} held-out folders\n")
    print("| 2D input | MPJPE (mm) | P-MPJPE (mm) | N-MPJPE (mm) | MPJVE (mm) | root error (mm) |")
    print("|---|---|---|---|---|---|")
    for sigma in noise_px:
        rng = np.random.default_rng(0)
        noisy = []
        for s in seqs:
            kp = s.keypoints + rng.normal(0, sigma * 2 / w, size=s.keypoints.shape).astype(np.float32)
            noisy.append(type(s)(s.subject, s.action, s.camera_index, kp, s.poses_3d, s.camera))
        r = evaluate(model, noisy, flip=True)
        label = "GT" if sigma == 0 else f"GT + N(0, {sigma:g} px)"
        print(f"| {label} | {r['mpjpe']:.1f} | {r['p_mpjpe']:.1f} | {r['n_mpjpe']:.1f} | {r['mpjve']:.1f} | {r.get('traj', float('nan')):.0f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=5000)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--accuracy", nargs="+", metavar="SYNTH_DIR", help="instead: accuracy of the shipped model on these folders")
    ap.add_argument("--noise", type=float, nargs="+", default=[0.0, 2.0, 5.0], help="2D noise sigmas in pixels (with --accuracy)")
    ap.add_argument("--weights", help="weights file instead of the shipped one (with --accuracy)")
    args = ap.parse_args()
    if args.accuracy:
        accuracy(args.accuracy, args.noise, args.weights)
        return
    torch.manual_seed(0)
    rows = []
    big = VideoPose3D(filter_widths=(3, 3, 3, 3, 3), channels=1024)
    _realistic_bn(big)
    rows.append(bench("VideoPose3D 243f, 1024 ch (random weights)", big, args.frames, args.repeats))
    try:
        from posetool.hub.loader import load_model

        shipped = load_model("videopose3d_synth", task="lift3d", device="cpu").module
        rows.append(bench("videopose3d_synth (shipped, pose model)", shipped, args.frames, args.repeats))
    except Exception as exc:  # the shipped weights may be absent in a dev checkout
        print(f"(shipped model skipped: {exc})")
    print(f"threads: {torch.get_num_threads()}, torch {torch.__version__}\n")
    print("| model | RF | frames | official-style (frames/s) | posetool (frames/s) | ratio | max abs diff (m) |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['name']} | {r['rf']} | {r['frames']} | {r['ref_fps']:,.0f} | {r['ours_fps']:,.0f} | "
              f"{r['ratio']:.2f}x | {r['max_diff']:.1e} |")


if __name__ == "__main__":
    main()
