#!/usr/bin/env bash
# Install cavsync_mm into the project's .venv (created on first use, see
# tools/setup_venv.sh), then run the main job on the synthetic clips with it:
# generate them, pretrain CAV-MAE Sync and the CAV-MAE baseline, evaluate every
# task and write work_dirs/quickstart/report.md. Extra arguments go to
# tools/quickstart.py (--fast, --full, ...).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="$(bash tools/setup_venv.sh | tail -n 1)"
exec "$PYTHON" tools/quickstart.py "$@"
