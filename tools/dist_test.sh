#!/usr/bin/env bash
# Distributed testing, one process per GPU, with torch.distributed.run.
#   tools/dist_test.sh CONFIG CHECKPOINT GPUS [tools/test.py options]
# NNODES, NODE_RANK, MASTER_ADDR, PORT as in tools/dist_train.sh.
set -euo pipefail

if [ $# -lt 3 ]; then
    echo "usage: $0 CONFIG CHECKPOINT GPUS [test.py options]" >&2
    exit 2
fi
CONFIG=$1
CHECKPOINT=$2
GPUS=$3
exec "$(dirname "$0")/dist_launch.sh" test.py "$GPUS" "$CONFIG" "$CHECKPOINT" \
    --launcher pytorch "${@:4}"
