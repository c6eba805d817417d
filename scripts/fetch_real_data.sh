#!/usr/bin/env bash
# Fetch the real test videos into posetool's data cache ($POSETOOL_DATA, else $POSETOOL_HOME/data,
# else ~/.cache/posetool/data): vtest.avi from Debian's opencv-doc (apt-get download + dpkg-deb -x)
# and Pose2Sim's demo clips from the pose2sim wheel (pip download). Nothing lands in the repository.
set -euo pipefail
exec python -m posetool.data.real_videos "$@"
