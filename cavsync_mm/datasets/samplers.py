"""Samplers: class-balanced sampling for VGGSound probing (paper Table 9) and
the resumable, seeded batches of exact resume."""
import math
from typing import Iterator, List, Optional, Sized

import torch
from mmengine.dist import get_dist_info, sync_random_seed
from torch.utils.data import BatchSampler, Sampler

from cavsync_mm.registry import DATA_SAMPLERS
from .random_state import isolated_rng, seed_everything


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


class SeededBatch(list):
    """The dataset indices of one batch and the seed its samples are drawn
    with (``seed`` is None outside a :class:`ResumableBatchSampler`)."""
    seed = None


@DATA_SAMPLERS.register_module()
class ResumableBatchSampler(BatchSampler):
    """Batches of ``sampler`` that can start in the middle of an epoch and
    carry the seed their samples are augmented with.

    Exact resume needs two things a plain ``BatchSampler`` cannot give:

    - the position: ``begin_epoch(epoch, start=k)`` skips the first ``k``
      batches of the epoch's order (the order itself is the sampler's, e.g.
      ``DefaultSampler`` draws it from ``seed + epoch``);
    - the pipeline's random stream: every batch is a :class:`SeededBatch`
      whose seed derives from ``(seed, rank, epoch, batch index)``. Loaded
      through :func:`seeded_fetch`, a batch's random crops, time shifts and
      mixup partners depend only on which batch it is, not on which worker
      loads it or how many batches that worker loaded before, so a resumed
      run (fresh workers, any ``num_workers``) sees the same samples.

    ``ResumableEpochBasedTrainLoop`` sets it up; with other loops it is a
    ``BatchSampler`` whose batches carry seeds.
    """

    def __init__(self, sampler, batch_size: int, drop_last: bool = False,
                 seed: int = 0):
        super().__init__(sampler, batch_size, drop_last)
        self.seed = seed
        self.epoch = 0
        self.rank = get_dist_info()[0]
        self._start = 0

    def begin_epoch(self, epoch: int, seed: int, start: int = 0) -> None:
        """The next iteration yields batches ``start, start + 1, ...`` of
        ``epoch`` (``start`` is used once)."""
        if not 0 <= start <= len(self):
            raise ValueError(f'cannot start at batch {start} of an epoch of '
                             f'{len(self)} batches')
        self.epoch, self.seed, self._start = epoch, seed, start

    def __iter__(self) -> Iterator[SeededBatch]:
        start, self._start = self._start, 0
        for index, batch in enumerate(super().__iter__()):
            if index < start:
                continue  # indices only: skipping costs no data loading
            batch = SeededBatch(batch)
            batch.seed = (self.seed, self.rank, self.epoch, index)
            yield batch


def seeded_fetch(dataset, indices) -> list:
    """Load the samples of ``indices``; a :class:`SeededBatch` is loaded with
    the global generators seeded from its seed, and the caller's generator
    states are left as they were (so loading in the main process,
    ``num_workers=0``, does not shift the model's random stream)."""
    seed = getattr(indices, 'seed', None)
    if seed is None:
        return [dataset[index] for index in indices]
    with isolated_rng():
        seed_everything(seed)
        return [dataset[index] for index in indices]
