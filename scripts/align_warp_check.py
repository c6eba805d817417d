"""How far `posetool align` is from the right frame on synchronised real takes, time-warped.

Pose2Sim's demo films one trial with four synchronised cameras, so frame k of every camera shows
the same moment and the right alignment of two cameras is the identity. Between two takes of the
same length the identity is also DTW's cheapest path whatever the descriptor, so this check
time-warps each query camera first: query frame k shows the moment ``s_k = (T - 1) (k / (K - 1))^g``
of its take (keypoints interpolated linearly between the two nearest frames, K = 1.2 T frames), so
the diagonal is wrong and the right reference frame of query frame k is ``s_k``. Printed per camera
and embedder: the mean |matched - true| frame and the share of frames within 5 frames, for nearest
neighbours and DTW, on the warped copy and on the camera as filmed.

    python scripts/align_warp_check.py runs/pose2sim-align --model align_synth --model raw

DIR holds cam01..cam04.msgpack written by scripts/align_pose2sim_demo.sh (posetool run per camera).
"""

from __future__ import annotations

import argparse

import numpy as np

from posetool.align.embedder import open_embedder
from posetool.align.match import distances, dtw, nearest
from posetool.align.sequences import Performance, performance, pick_track, read_records, time_warped, track_frames


def performer(path: str, dims: int = 2) -> Performance:
    """The performer's track of a stream (the one `posetool align` picks), 2D or lifted 3D."""
    header, frames, _ = read_records(path)
    field = "keypoints" if dims == 2 else "keypoints_3d"
    tracks = track_frames(frames, field)
    return performance(header, frames, pick_track(tracks, None, path, frames, field), dims, path)


def errors(ref: Performance, r_emb: np.ndarray, query: Performance, q_emb: np.ndarray,
           truth: np.ndarray) -> dict[str, tuple[float, float]]:
    """Mean |match - truth| and share within 5 frames, nearest and DTW, over present query frames."""
    rows = np.flatnonzero(query.present)
    cols = np.flatnonzero(ref.present)
    dist = distances(q_emb[rows], r_emb[cols])
    out = {}
    for name, match in (("nearest", cols[nearest(dist)]), ("dtw", cols[dtw(dist)])):
        err = np.abs(match - truth[rows])
        out[name] = (float(err.mean()), float((err <= 5).mean()))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dir", help="folder with cam01..cam04.msgpack")
    ap.add_argument("--model", action="append", default=None,
                    help="align model name, trained embedder file (its weights), raw or raw3d (repeatable) "
                    "[default: align_synth, raw]")
    ap.add_argument("--exponent", type=float, default=1.6, help="time warp s = (k / (K - 1))^g")
    args = ap.parse_args()
    models = args.model or ["align_synth", "raw"]
    print(f"| embedder | camera | as filmed: nearest mean err, <=5 | DTW | warped ^{args.exponent:g}: nearest | DTW |")
    print("|---|---|---|---|---|---|")
    for name in models:
        if name.endswith(".safetensors"):
            embedder = open_embedder("align_synth", weights=name, device="cpu")
        else:
            embedder = open_embedder(name, device="cpu")
        ref = performer(f"{args.dir}/cam01.msgpack", embedder.dims)
        queries = {c: performer(f"{args.dir}/cam0{c}.msgpack", embedder.dims) for c in (2, 3, 4)}
        r_emb = embedder.embed(ref)
        for c, q in queries.items():
            shift = q.first_frame - ref.first_frame  # query rows -> reference rows of the same moment
            plain = errors(ref, r_emb, q, embedder.embed(q), np.arange(len(q), dtype=float) + shift)
            wq, times = time_warped(q, int(round(1.2 * len(q))), args.exponent)
            warp = errors(ref, r_emb, wq, embedder.embed(wq), times + shift)
            figures = (plain["nearest"], plain["dtw"], warp["nearest"], warp["dtw"])
            cells = [f"{m:.1f}, {100 * s:.0f} %" for m, s in figures]
            print(f"| {name} | cam0{c} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
