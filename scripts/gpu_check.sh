#!/bin/bash
# The GPU check, one run on a lent GPU machine (see scripts/gpu_check.py for what it checks):
#   here:   bash scripts/gpu_prepare.sh     # wheels the GPU image lacks -> .whl/, TFLite weights -> .gpu_cache/
#   there:  bash scripts/gpu_check.sh       # (device tool: carry .whl and .gpu_cache) -> $OUT/gpu_check.md, .json
# DEVICE=cpu bash scripts/gpu_check.sh runs it CPU against CPU (a dry run of the script).
set -u
cd "$(dirname "$0")/.."
if [ "${DEVICE:-cuda}" != cpu ] && ls .whl/*.whl >/dev/null 2>&1; then  # the wheels are for the GPU image's Python 3.12
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    && export PYTHONPATH=/tmp/site || exit 1
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
if [ -d .gpu_cache ]; then export POSETOOL_HOME="$PWD/.gpu_cache"; fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || true
exec python3 scripts/gpu_check.py --device "${DEVICE:-cuda}" --out "${OUT:-runs/gpu_check}" "$@"
