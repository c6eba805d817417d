#!/usr/bin/env bash
# Evaluate a tracker: the same detections and keypoints tracked with each similarity, scored with
# PoseTrack's rules (eval track: per-joint AP and MOTA) and the MOT box metrics (eval mot: MOTA,
# IDF1, ID switches, HOTA). Tables go to the terminal; the numbers also go to JSON files.
#
#   examples/eval_tracker.sh [DATA] [OUT]       (or DATA=... OUT=... SIMILARITIES="oks iou" ...)
#
# DATA: a `posetool synth` folder (video.mp4 and its ground truth); made here if it does not exist,
#       with PEOPLE, FRAMES, WIDTH, HEIGHT (defaults 3, 40, 320, 240).
# OUT:  folder for the streams and the JSON results (default: out_eval).
set -euo pipefail

DATA=${1:-${DATA:-synth_clip}}
OUT=${2:-${OUT:-out_eval}}
SIMILARITIES=${SIMILARITIES:-oks iou}
mkdir -p "$OUT"

if [[ ! -f $DATA/gt.jsonl ]]; then
  posetool synth "$DATA" --people "${PEOPLE:-3}" --frames "${FRAMES:-40}" \
    --width "${WIDTH:-320}" --height "${HEIGHT:-240}" --seed 7 -q
fi

# Detection and keypoints once; only tracking changes between the runs.
posetool detect "$DATA/video.mp4" --model centernet_r18_synth -q | posetool pose2d -q -o "$OUT/keypoints.msgpack"

for sim in $SIMILARITIES; do
  posetool track "$OUT/keypoints.msgpack" --similarity "$sim" -q -o "$OUT/tracks_$sim.msgpack"
  echo "== track --similarity $sim"
  posetool eval mot "$OUT/tracks_$sim.msgpack" --gt "$DATA/gt_mot.txt"
  posetool eval mot "$OUT/tracks_$sim.msgpack" --gt "$DATA/gt_mot.txt" --json > "$OUT/mot_$sim.json"
  posetool eval track "$OUT/tracks_$sim.msgpack" --gt "$DATA/gt_posetrack18.json" --json > "$OUT/posetrack_$sim.json"
done
echo "wrote $OUT/mot_*.json $OUT/posetrack_*.json"
