"""All-gather of features across ranks that keeps the autograd graph."""
from typing import Tuple

import torch
import torch.distributed as dist
import torch.distributed.nn.functional as dist_nn


def world_info() -> Tuple[int, int]:
    """``(rank, world_size)``; ``(0, 1)`` outside ``torch.distributed``."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def gather_with_gradient(features: torch.Tensor) -> torch.Tensor:
    """Concatenate ``features`` ``(n, D)`` of every rank into ``(world * n, D)`` in rank order.

    Gradients flow back to every rank's slice: the backward pass sums, for each
    rank's features, the gradients that all ranks' losses put on them
    (``torch.distributed.nn.functional.all_gather``). Every rank must hold the
    same number of samples (use ``drop_last=True`` in pretraining).
    """
    _, world_size = world_info()
    if world_size == 1:
        return features
    return torch.cat(dist_nn.all_gather(features.contiguous()), dim=0)
