#!/usr/bin/env bash
# The README's main job: install, then run `posetool demo` (synth clip → chain → metrics).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
exec posetool demo "$@"
