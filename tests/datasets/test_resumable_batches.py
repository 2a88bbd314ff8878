"""ResumableBatchSampler / seeded_fetch: a resumed epoch starts at the right
batch, and a batch's pipeline randomness depends only on which batch it is."""
import random

import numpy as np
import pytest
import torch
from mmengine.dataset import DefaultSampler

from cavsync_mm.datasets.samplers import (ResumableBatchSampler, SeededBatch,
                                          seeded_fetch)


class RandomDataset:
    """Each sample draws from python, numpy and torch, as transforms do."""

    def __len__(self):
        return 10

    def __getitem__(self, index):
        return (index, random.random(), float(np.random.rand()),
                float(torch.rand(())))


def batches(epoch, start=0, seed=3):
    sampler = DefaultSampler(RandomDataset(), shuffle=True, seed=7)
    sampler.set_epoch(epoch)
    batch_sampler = ResumableBatchSampler(sampler, batch_size=3,
                                          drop_last=False)
    batch_sampler.begin_epoch(epoch, seed=seed, start=start)
    return list(batch_sampler)


def test_start_skips_whole_batches_of_the_same_order():
    full = batches(epoch=1)
    assert [len(b) for b in full] == [3, 3, 3, 1]
    assert batches(epoch=1, start=2) == full[2:]
    assert [b.seed for b in batches(epoch=1, start=2)] == [
        b.seed for b in full[2:]]
    assert batches(epoch=1, start=4) == []
    with pytest.raises(ValueError, match='batch 5 of an epoch of 4'):
        batches(epoch=1, start=5)
    assert batches(epoch=2) != full  # a new shuffle per epoch


def test_samples_depend_on_the_batch_not_on_the_loading_history():
    dataset = RandomDataset()
    first, second = batches(epoch=0)[:2]
    alone = seeded_fetch(dataset, second)
    seeded_fetch(dataset, first)  # a worker that loaded another batch first
    assert seeded_fetch(dataset, second) == alone
    other_epoch = seeded_fetch(dataset, batches(epoch=1, seed=3)[1])
    assert [s[1:] for s in other_epoch] != [s[1:] for s in alone]
    # the caller's generators are left as they were
    state = (random.getstate(), torch.get_rng_state())
    seeded_fetch(dataset, second)
    assert (random.getstate(), torch.get_rng_state().tolist()) == (
        state[0], state[1].tolist())
    # a plain list of indices is loaded without seeding
    plain = SeededBatch(second)
    assert [s[0] for s in seeded_fetch(dataset, plain)] == list(second)
