#!/bin/bash
# Before a GPU check: what the GPU machine's image lacks, put where the device tool can carry it
# (both folders are git-ignored). The image has torch, numpy, scipy, opencv, msgpack, typer, rich,
# pandas, safetensors (KINDS.md); posetool also needs tflite (reads the .tflite graphs), pycocotools
# and motmetrics (imported by eval), for CPython 3.12 on x86-64.
set -eu
cd "$(dirname "$0")/.."
mkdir -p .whl .gpu_cache
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
  -d .whl tflite==2.18.0 pycocotools==2.0.11 motmetrics==1.4.0
cache="${POSETOOL_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/posetool}"
cp -p "$cache"/*.tflite .gpu_cache/ 2>/dev/null || echo "gpu_prepare: no .tflite in $cache (posetool weights pull movenet blazepose first)"
du -sh .whl .gpu_cache
