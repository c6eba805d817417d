#!/usr/bin/env bash
# The piped chain, each stage's output cached on disk: run it again and only missing stages run;
# change the tracking options and only tracking and lifting run again.
#
#   examples/piped_cached.sh [VIDEO] [OUT]      (or VIDEO=... OUT=... SIMILARITY=... examples/...)
#
# VIDEO: a video file or an image folder (default: a small synthetic clip made here).
# OUT:   the cache folder (default: out_piped). Models: posetool's synth-trained ones (no download).
# The same stages as one live pipe, without the cache:
#   posetool detect VIDEO --model centernet_r18_synth | posetool pose2d | posetool correspond \
#     | posetool recover | posetool track --similarity corr:0.5,oks:0.5 | posetool lift3d -o poses.msgpack
set -euo pipefail

VIDEO=${1:-${VIDEO:-}}
OUT=${2:-${OUT:-out_piped}}
DETECT_MODEL=${DETECT_MODEL:-centernet_r18_synth}
SIMILARITY=${SIMILARITY:-corr:0.5,oks:0.5}
mkdir -p "$OUT"

if [[ -z $VIDEO ]]; then
  VIDEO=$OUT/clip/video.mp4
  [[ -f $VIDEO ]] || posetool synth "$OUT/clip" --people 2 --frames "${FRAMES:-24}" --width 320 --height 240 -q
fi

# cached OUTPUT COMMAND...: run the posetool stage COMMAND into OUTPUT unless an earlier run made it.
# The stage writes OUTPUT.part first, so an interrupted run never leaves a file that looks complete.
cached() {
  local out=$1
  shift
  if [[ -s $out ]]; then
    echo "cached: $out" >&2
    return
  fi
  "$@" -o "$out.part" -q
  mv "$out.part" "$out"
}

tag=${SIMILARITY//[:,]/_}  # the tracking options name the files that depend on them
cached "$OUT/1_boxes.msgpack" posetool detect "$VIDEO" --model "$DETECT_MODEL"
cached "$OUT/2_keypoints.msgpack" posetool pose2d "$OUT/1_boxes.msgpack"
cached "$OUT/3_correspondences.msgpack" posetool correspond "$OUT/2_keypoints.msgpack"
cached "$OUT/4_recovered.msgpack" posetool recover "$OUT/3_correspondences.msgpack"
cached "$OUT/5_tracks_$tag.msgpack" posetool track "$OUT/4_recovered.msgpack" --similarity "$SIMILARITY"
cached "$OUT/6_lifted_$tag.msgpack" posetool lift3d "$OUT/5_tracks_$tag.msgpack"

posetool inspect "$OUT/6_lifted_$tag.msgpack"
echo "wrote $OUT/1_boxes.msgpack ... $OUT/6_lifted_$tag.msgpack"
