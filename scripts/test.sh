#!/usr/bin/env bash
# The README's test command: install everything, then run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
exec "${PYTHON:-python3}" -m pytest -q "$@"
