#!/usr/bin/env bash
# Export a pose stream for other tools: COCO results (pycocotools), PoseTrack18 (poseval),
# MOTChallenge txt (py-motmetrics, TrackEval), VideoPose3D .npz and a DeepLabCut-style CSV.
#
#   examples/export_formats.sh [STREAM] [OUT]   (or STREAM=... OUT=... examples/export_formats.sh)
#
# STREAM:  a tracked pose stream (default: one made here from a synthetic clip with `posetool run`).
# OUT:     folder for the exported files (default: out_export).
# COCO_GT: a COCO keypoints file whose image ids the COCO export uses (optional; the synthetic
#          clip's own when STREAM is made here).
set -euo pipefail

STREAM=${1:-${STREAM:-}}
OUT=${2:-${OUT:-out_export}}
COCO_GT=${COCO_GT:-}
mkdir -p "$OUT"

if [[ -z $STREAM ]]; then
  posetool synth "$OUT/clip" --people 2 --frames "${FRAMES:-24}" --width 320 --height 240 -q
  posetool run "$OUT/clip/video.mp4" --preset synth -q -o "$OUT/poses.msgpack"
  STREAM=$OUT/poses.msgpack
  COCO_GT=$OUT/clip/gt_coco.json
fi

posetool export "$STREAM" --to coco ${COCO_GT:+--gt "$COCO_GT"} -o "$OUT/coco_results.json"
posetool export "$STREAM" --to posetrack18 -o "$OUT/posetrack18.json"
posetool export "$STREAM" --to mot -o "$OUT/mot.txt"
posetool export "$STREAM" --to videopose3d -o "$OUT/videopose3d.npz"
posetool export "$STREAM" --to csv -o "$OUT/keypoints.csv"

# The COCO results go straight into pycocotools; posetool's own evaluator reads them the same way.
if [[ -n $COCO_GT ]]; then
  posetool eval pose "$OUT/coco_results.json" --gt "$COCO_GT"
fi
echo "wrote $OUT/coco_results.json $OUT/posetrack18.json $OUT/mot.txt $OUT/videopose3d.npz $OUT/keypoints.csv"
