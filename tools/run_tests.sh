#!/usr/bin/env bash
# Install cavsync_mm and its tested dependencies into the project's .venv
# (created on first use, see tools/setup_venv.sh), then run the test suite
# with it. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="$(bash tools/setup_venv.sh | tail -n 1)"
exec "$PYTHON" -m pytest tests "$@"
