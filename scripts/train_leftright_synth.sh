#!/usr/bin/env bash
# Trains the shipped leftright_synth (track --lr-consistency learned) on the clips of scripts/leftright_data.py.
#   python scripts/leftright_data.py --out runs/lr-data --chain
#   scripts/train_leftright_synth.sh [runs/lr-data] [runs/leftright_synth] [more train leftright options]
#   cp runs/leftright_synth/best.safetensors posetool/weights/leftright_synth.safetensors
# Training: seeds 7600-7604 and 7620-7624 of each scene (run, crossing, reenter, turn), mixed-action seeds 7610-7611
# and run seeds 7606-7609, 7612-7615; validation (best.safetensors = fewest wrongly labelled pairs): seed 7605 of
# each scene. Each clip gives two streams (KEYPOINTS): GT boxes through the synth pose model (pre_gt.msgpack) and
# the synth chain's tracks with the labels left alone (chain.msgpack), cut into windows along each predicted track
# (--by-track, so identity switches are seen as the tracker sees them). Windows of 51 frames (the tracker's
# look-ahead of 25 on each side), every 4th frame, mirrored too. The model shipped before (2026-12-07 afternoon)
# was KEYPOINTS=pre_gt.msgpack with --by-person.
set -euo pipefail
data=${1:-runs/lr-data}
out=${2:-runs/leftright_synth}
shift $(( $# < 2 ? $# : 2 ))  # what follows goes to train leftright as it is
train=()
for scene in run crossing reenter turn; do
  for seed in 7600 7601 7602 7603 7604 7620 7621 7622 7623 7624; do train+=("$data/$scene-$seed"); done
done
train+=("$data/mix-7610" "$data/mix-7611")
for seed in 7606 7607 7608 7609 7612 7613 7614 7615; do train+=("$data/run-$seed"); done
val=()
for scene in run crossing reenter turn; do val+=(--val "$data/$scene-7605"); done
posetool train leftright "${train[@]}" "${val[@]}" --keypoints "${KEYPOINTS:-pre_gt.msgpack,chain.msgpack}" --by-track \
  --window 51 --stride 4 --epochs "${EPOCHS:-20}" --batch-size 64 --lr 1e-3 --seed 0 --device cpu -o "$out" "$@"
