#!/usr/bin/env bash
# One process per GPU with torch.distributed.run; shared by dist_train.sh and
# dist_test.sh:  tools/dist_launch.sh SCRIPT NPROC [SCRIPT arguments]
# Several nodes: NNODES, NODE_RANK, MASTER_ADDR, PORT (defaults 1, 0,
# 127.0.0.1, 29500) on every node.
set -euo pipefail

SCRIPT=$1
NPROC=$2
TOOLS_DIR=$(cd "$(dirname "$0")" && pwd)

PYTHONPATH="$(dirname "$TOOLS_DIR")${PYTHONPATH:+:$PYTHONPATH}" \
exec "${PYTHON:-python}" -m torch.distributed.run \
    --nnodes="${NNODES:-1}" \
    --node_rank="${NODE_RANK:-0}" \
    --master_addr="${MASTER_ADDR:-127.0.0.1}" \
    --master_port="${PORT:-29500}" \
    --nproc_per_node="$NPROC" \
    "$TOOLS_DIR/$SCRIPT" "${@:3}"
