#!/usr/bin/env bash
# Distributed training, one process per GPU, with torch.distributed.run.
#   tools/dist_train.sh CONFIG GPUS [tools/train.py options]
# Several nodes: run it on every node with the same MASTER_ADDR / PORT and
#   NNODES=2 NODE_RANK=0 MASTER_ADDR=10.0.0.1 tools/dist_train.sh CONFIG 8
#   NNODES=2 NODE_RANK=1 MASTER_ADDR=10.0.0.1 tools/dist_train.sh CONFIG 8
# Without CUDA GPUs the processes use gloo (the configs ask for nccl).
set -euo pipefail

if [ $# -lt 2 ]; then
    echo "usage: $0 CONFIG GPUS [train.py options]" >&2
    exit 2
fi
CONFIG=$1
GPUS=$2
exec "$(dirname "$0")/dist_launch.sh" train.py "$GPUS" "$CONFIG" --launcher pytorch "${@:3}"
