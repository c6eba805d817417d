#!/usr/bin/env bash
# Train one stage: a small VideoPose3D lifter on synthetic clips, then lift with it and score it.
# A tiny run by default (1 epoch, 32 channels) to show the loop; for a useful model raise
# EPOCHS, CHANNELS and the number of clips (docs/lift3d.md has the shipped model's recipe).
#
#   examples/train_lift3d.sh [OUT]              (or OUT=... EPOCHS=... CHANNELS=... examples/...)
#
# OUT: folder for the clips and the run (default: out_train); the run is OUT/run (model.safetensors,
#      last.pt to --resume from, metrics.jsonl).
set -euo pipefail

OUT=${1:-${OUT:-out_train}}
EPOCHS=${EPOCHS:-1}
CHANNELS=${CHANNELS:-32}
FRAMES=${FRAMES:-40}
mkdir -p "$OUT"

# Training and validation clips from different seeds (ground truth 2D and 3D in gt_videopose3d.npz).
[[ -f $OUT/train/gt.jsonl ]] || posetool synth "$OUT/train" --people 3 --frames "$FRAMES" --width 320 --height 240 --seed 1 -q
[[ -f $OUT/valid/gt.jsonl ]] || posetool synth "$OUT/valid" --people 2 --frames "$FRAMES" --width 320 --height 240 --seed 2 -q

posetool train lift3d "$OUT/train" --valid "$OUT/valid" --epochs "$EPOCHS" --channels "$CHANNELS" \
  --arch 3,3 --batch-size 256 --device cpu -o "$OUT/run"

# Lift the validation clip's tracked 2D keypoints with the new weights and score them in mm.
posetool lift3d "$OUT/valid/gt.jsonl" --weights "$OUT/run/model.safetensors" -q -o "$OUT/lifted.msgpack"
posetool eval lift "$OUT/lifted.msgpack" --gt "$OUT/valid/gt.jsonl"
echo "wrote $OUT/run/model.safetensors $OUT/lifted.msgpack"
