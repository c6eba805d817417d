#!/usr/bin/env bash
# Install posetool and its test extras into the current Python.
# CPU torch goes first: a requirement that admits newer torch would otherwise pull the CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if ! "$PY" -c "import torch" 2>/dev/null; then
    "$PY" -m pip install --quiet "torch==${POSETOOL_TORCH_VERSION:-2.13.0}"
fi
"$PY" -m pip install --quiet -e ".[test]"
