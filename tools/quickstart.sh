#!/usr/bin/env bash
# Install cavsync_mm into the current Python, then run the main job on the synthetic clips:
# generate them, pretrain CAV-MAE Sync and the CAV-MAE baseline, evaluate every task and
# write work_dirs/quickstart/report.md. Extra arguments go to tools/quickstart.py (--fast, --full, ...).
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install --quiet --disable-pip-version-check -e ".[tests]"
exec python tools/quickstart.py "$@"
