"""Class-balanced sampling for VGGSound probing (paper Table 9)."""
import math
from typing import Iterator, List, Optional, Sized

import torch
from mmengine.dist import get_dist_info, sync_random_seed
from torch.utils.data import Sampler

from cavsync_mm.registry import DATA_SAMPLERS


def class_balanced_weights(labels: List[List[int]],
                           smoothing: float = 0.01) -> torch.Tensor:
    """Per-clip weights inverse to class frequency.

    A class seen ``n`` times weighs ``1 / (n + smoothing)``; a clip weighs
    the sum over its labels (multi-label clips count each class). Clips
    without labels get weight 0.
    """
    counts = {}
    for clip_labels in labels:
        for label in clip_labels:
            counts[label] = counts.get(label, 0) + 1
    weights = [sum(1.0 / (counts[label] + smoothing) for label in clip_labels)
               for clip_labels in labels]
    return torch.tensor(weights, dtype=torch.float64)


@DATA_SAMPLERS.register_module()
class ClassBalancedSampler(Sampler):
    """Draw clips with replacement, weighted inverse to class frequency.

    Distributed-safe: every rank draws the same global sequence from
    ``seed + epoch`` and keeps its own shard ``[rank::world_size]``; call
    ``set_epoch`` (MMEngine's loops do) for a new draw each epoch.

    Args:
        dataset: a dataset with ``get_cat_ids(idx)`` (class indices).
        num_samples (int, optional): samples per epoch over all ranks;
            defaults to ``len(dataset)``.
        seed (int, optional): shared by all ranks; a random one is synced
            when None.
    """

    def __init__(self, dataset: Sized, num_samples: Optional[int] = None,
                 seed: Optional[int] = None):
        self.dataset = dataset
        self.rank, self.world_size = get_dist_info()
        self.seed = sync_random_seed() if seed is None else seed
        self.epoch = 0
        labels = [list(dataset.get_cat_ids(idx))
                  for idx in range(len(dataset))]
        self.weights = class_balanced_weights(labels)
        if not bool((self.weights > 0).any()):
            raise ValueError('ClassBalancedSampler: no clip has a label')
        total = len(dataset) if num_samples is None else num_samples
        self.num_samples = math.ceil(total / self.world_size)
        self.total_size = self.num_samples * self.world_size

    def __iter__(self) -> Iterator[int]:
        generator = torch.Generator()
        generator.manual_seed(self.seed + self.epoch)
        indices = torch.multinomial(self.weights, self.total_size,
                                    replacement=True, generator=generator)
        return iter(indices[self.rank::self.world_size].tolist())

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch
