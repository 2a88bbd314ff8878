#!/usr/bin/env bash
# Install cavsync_mm with its test extras into the current Python, then run the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install --quiet --disable-pip-version-check -e ".[tests]"
exec python -m pytest tests "$@"
