#!/usr/bin/env bash
# Align the four cameras of Pose2Sim's single-person demo (one trial filmed from four sides, so
# every camera's frame k shows the same moment: the right alignment is offset 0) with the real
# chain (BlazePose) and the shipped align_synth embedder; prints the frame offsets per camera and
# writes side-by-side stills. The videos are fetched into the posetool cache, never committed.
#
#   scripts/align_pose2sim_demo.sh [OUTDIR]        (default runs/pose2sim-align)
set -euo pipefail
OUT=${1:-runs/pose2sim-align}
VIDEOS=$(python scripts/fetch_pose2sim_demo.py)
mkdir -p "$OUT"
posetool weights pull blazepose -q
for c in 1 2 3 4; do
  [ -f "$OUT/cam0$c.msgpack" ] || posetool run "$VIDEOS/cam0$c.mp4" -o "$OUT/cam0$c.msgpack" -q
done
for c in 2 3 4; do
  posetool align "$OUT/cam01.msgpack" "$OUT/cam0$c.msgpack" -o "$OUT/cam0$c.nn.msgpack" --csv "$OUT/cam0$c.nn.csv" -q
  posetool align "$OUT/cam01.msgpack" "$OUT/cam0$c.msgpack" --dtw -o "$OUT/cam0$c.dtw.msgpack" --csv "$OUT/cam0$c.dtw.csv" -q
done
python - "$OUT" <<'EOF'
import csv, sys
import numpy as np
out = sys.argv[1]
print("camera  method  median offset  mean |offset|  within 2 frames  within 5 frames  (frames at 60 fps)")
for c in (2, 3, 4):
    for method in ("nn", "dtw"):
        rows = list(csv.DictReader(open(f"{out}/cam0{c}.{method}.csv")))
        off = np.array([int(r["ref_frame"]) - int(r["frame"]) for r in rows])
        print(f"cam0{c}   {method:6s}  {np.median(off):13.1f}  {np.mean(np.abs(off)):13.2f}  "
              f"{np.mean(np.abs(off) <= 2):15.2f}  {np.mean(np.abs(off) <= 5):15.2f}")
EOF
for c in 2 3 4; do
  posetool render "$OUT/cam0$c.dtw.msgpack" --side-by-side "$OUT/cam01.msgpack" --video "$VIDEOS/cam0$c.mp4" \
    --ref-video "$VIDEOS/cam01.mp4" --png "$OUT/stills_cam0$c" --frames 30,60 -q
done
