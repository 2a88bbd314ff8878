#!/usr/bin/env bash
# GPU readiness report of the ViT-B model (configs/cavsync_as2m.py) as one
# table: train-step clips/s, MFU and peak memory at batch 64 for fp32 / fp16
# AMP / bf16 AMP, each with and without torch.compile, feature-extraction
# clips/s (bf16) and, where faiss with GPU support is installed, flat-index
# build and search times. About 8 minutes at most on one H100; without a
# CUDA GPU it says so and exits 0. tools/analysis_tools/gpu_report.py says
# what each figure is.
#   bash tools/analysis_tools/gpu_report.sh [--quick] [gpu_report.py options]
# Runs with $PYTHON when set, else with the project's .venv (created by
# tools/setup_venv.sh on first use).
set -euo pipefail
ANALYSIS_DIR=$(cd "$(dirname "$0")" && pwd)
REPO_DIR=$(dirname "$(dirname "$ANALYSIS_DIR")")
PYTHON="${PYTHON:-$(bash "$REPO_DIR/tools/setup_venv.sh" | tail -n 1)}"
PYTHONPATH="$REPO_DIR${PYTHONPATH:+:$PYTHONPATH}" \
exec "$PYTHON" "$ANALYSIS_DIR/gpu_report.py" "$@"
