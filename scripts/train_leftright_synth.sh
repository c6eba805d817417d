#!/usr/bin/env bash
# Trains the shipped leftright_synth (track --lr-consistency learned) on the clips of scripts/leftright_data.py.
#   python scripts/leftright_data.py --out runs/lr-data --chain
#   scripts/train_leftright_synth.sh [runs/lr-data] [runs/leftright_synth] [more train leftright options]
#   cp runs/leftright_synth/best.safetensors posetool/weights/leftright_synth.safetensors
# Training (80 clips): seeds 7600-7604, 7620-7624 and 7640-7644 of each scene (run, crossing, reenter, turn),
# mixed-action seeds 7610-7611 and 7653-7654, run seeds 7606-7609, 7612-7615 and 7645-7652; validation
# (best.safetensors = fewest wrongly labelled pairs): seeds 7605 and 7655 of each scene. Each clip gives two
# streams (KEYPOINTS): GT boxes through the synth pose model (pre_gt.msgpack) and the synth chain's tracks with
# the labels left alone (chain.msgpack), cut into windows along each predicted track (--by-track, so identity
# switches are seen as the tracker sees them). Windows of 51 frames (the tracker's look-ahead of 25 on each
# side), every 4th frame, mirrored too. The shipped file (2026-12-08) is best.safetensors of 12 epochs (epoch 8).
# The model before it (2026-12-07 evening) trained on the first 54 clips, validation seed 7605, EPOCHS=4.
set -euo pipefail
data=${1:-runs/lr-data}
out=${2:-runs/leftright_synth}
shift $(( $# < 2 ? $# : 2 ))  # what follows goes to train leftright as it is
train=()
for scene in run crossing reenter turn; do
  for seed in 7600 7601 7602 7603 7604 7620 7621 7622 7623 7624 7640 7641 7642 7643 7644; do train+=("$data/$scene-$seed"); done
done
train+=("$data/mix-7610" "$data/mix-7611" "$data/mix-7653" "$data/mix-7654")
for seed in 7606 7607 7608 7609 7612 7613 7614 7615 7645 7646 7647 7648 7649 7650 7651 7652; do train+=("$data/run-$seed"); done
val=()
for scene in run crossing reenter turn; do val+=(--val "$data/$scene-7605" --val "$data/$scene-7655"); done
posetool train leftright "${train[@]}" "${val[@]}" --keypoints "${KEYPOINTS:-pre_gt.msgpack,chain.msgpack}" --by-track \
  --window 51 --stride 4 --epochs "${EPOCHS:-12}" --batch-size 64 --lr 1e-3 --seed 0 --device cpu -o "$out" "$@"
