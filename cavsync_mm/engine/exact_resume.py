"""Resume a run killed in the middle of an epoch so that it continues exactly
as if it had never stopped.

MMEngine 0.10.7's ``EpochBasedTrainLoop`` resumes at the start of the
checkpoint's epoch (it re-runs the whole epoch from batch 0 and overshoots the
iteration count), restores no random generator, and its worker processes are
reseeded with the same seeds at every epoch, so a resumed run draws other
masks, crops and batches than the uninterrupted one. Two parts fix that:

- :class:`ResumableEpochBasedTrainLoop` starts a resumed epoch at the batch
  after the checkpoint (through :class:`ResumableBatchSampler`), loads every
  batch with generators seeded from ``(seed, rank, epoch, batch)``
  (:func:`seeded_fetch`), keeps validation and the worker start-up from
  drawing on the model's random stream, and restores the main process's
  generators right before the first resumed iteration;
- :class:`ExactResumeHook` writes those generators' states (python, numpy,
  torch, CUDA) and the sampler's seed into every checkpoint.

Model, optimizer (with the AMP loss scaler) and schedulers are MMEngine's own
``Runner.resume``. Guarantee: on CPU, a run resumed from any checkpoint
(epoch end or mid-epoch) produces the same per-iteration losses and final
weights as the uninterrupted run, bit for bit (``tests/engine/
test_long_runs.py`` kills a run with SIGKILL and compares); with the same
number of ranks, not necessarily the same ``num_workers``. On GPUs,
non-deterministic kernels can still make runs differ
(``randomness.deterministic=True`` removes most). Several ranks: rank 0
writes the checkpoint, so every rank resumes with rank 0's generator states,
which equal the other ranks' with MMEngine's default
``randomness.diff_rank_seed=False`` (not with ``True``); multi-rank resume
is not covered by a test yet.
"""
import copy
import logging
from functools import partial
from typing import Optional

import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.runner import EpochBasedTrainLoop

from cavsync_mm.datasets.random_state import (get_rng_state, isolated_rng,
                                              set_rng_state)
from cavsync_mm.datasets.samplers import (ResumableBatchSampler,
                                          seeded_fetch)
from cavsync_mm.registry import HOOKS, LOOPS

RESUME_STATE_KEY = 'resume_state'


def _to_checkpoint(rng: dict) -> dict:
    """Generator states as tensors and plain containers only, so that they
    load with ``torch.load(weights_only=True)`` without numpy globals."""
    version, internal, gauss = rng['python']
    name, keys, position, has_gauss, cached = rng['numpy']
    state = dict(python=[version, torch.tensor(internal, dtype=torch.int64),
                         gauss],
                 numpy=[name, torch.from_numpy(keys.astype(np.int64)),
                        int(position), int(has_gauss), float(cached)],
                 torch=rng['torch'])
    if 'cuda' in rng:
        state['cuda'] = [s.cpu() for s in rng['cuda']]
    return state


def _from_checkpoint(state: dict) -> dict:
    version, internal, gauss = state['python']
    name, keys, position, has_gauss, cached = state['numpy']
    rng = dict(python=(version, tuple(int(v) for v in internal), gauss),
               numpy=(name, np.asarray(keys, dtype=np.uint32), position,
                      has_gauss, cached),
               torch=state['torch'])
    if 'cuda' in state:
        rng['cuda'] = state['cuda']
    return rng


@HOOKS.register_module()
class ExactResumeHook(Hook):
    """Save the random generators' states and the sampler seed in every
    checkpoint; hand them to :class:`ResumableEpochBasedTrainLoop` on
    resume. Registered by that loop when a config does not list it."""
    priority = 'VERY_LOW'

    def __init__(self):
        self.loaded_state: Optional[dict] = None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        loop = runner._train_loop  # not runner.train_loop: that builds it
        batch_sampler = getattr(getattr(loop, 'dataloader', None),
                                'batch_sampler', None)
        checkpoint[RESUME_STATE_KEY] = dict(
            rng=_to_checkpoint(get_rng_state()),
            sampler_seed=getattr(getattr(batch_sampler, 'sampler', None),
                                 'seed', None))

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        state = checkpoint.get(RESUME_STATE_KEY)
        self.loaded_state = None if state is None else dict(
            state, rng=_from_checkpoint(state['rng']))


@LOOPS.register_module()
class ResumableEpochBasedTrainLoop(EpochBasedTrainLoop):
    """``EpochBasedTrainLoop`` that resumes mid-epoch exactly (module doc).

    Same arguments as MMEngine's loop. The train dataloader gets a
    :class:`ResumableBatchSampler` (its ``drop_last`` moves there); a config
    that sets its own ``batch_sampler`` must use that class.
    """

    def __init__(self, runner, dataloader, max_epochs: int, **kwargs):
        if isinstance(dataloader, dict):
            dataloader = copy.deepcopy(dataloader)
            if dataloader.get('batch_sampler') is None:
                dataloader['batch_sampler'] = dict(
                    type=ResumableBatchSampler,
                    drop_last=dataloader.pop('drop_last', False))
        super().__init__(runner, dataloader, max_epochs, **kwargs)
        self.batch_sampler = self.dataloader.batch_sampler
        if not isinstance(self.batch_sampler, ResumableBatchSampler):
            raise TypeError(
                'ResumableEpochBasedTrainLoop needs train_dataloader.'
                'batch_sampler = ResumableBatchSampler (or none, then it is '
                f'added), got {type(self.batch_sampler).__name__}')
        dataset = self.dataloader.dataset
        # torch's DataLoader loads a batch through dataset.__getitems__ when
        # the dataset has one (the documented batched-loading hook); this
        # instance attribute seeds the pipeline per batch and changes nothing
        # else about the dataset.
        own_getitems = getattr(type(dataset), '__getitems__', None)
        if own_getitems is not None:
            raise TypeError(f'{type(dataset).__name__} defines __getitems__;'
                            ' exact resume cannot seed its batches')
        dataset.__getitems__ = partial(seeded_fetch, dataset)
        self.resume_hook = next((h for h in runner.hooks
                                 if isinstance(h, ExactResumeHook)), None)
        if self.resume_hook is None:
            self.resume_hook = ExactResumeHook()
            runner.register_hook(self.resume_hook)
        self._pending_rng: Optional[dict] = None

    def run(self) -> torch.nn.Module:
        """MMEngine's ``run`` with validation isolated from the random
        stream of training (so val_interval does not change training)."""
        self._take_resume_state()
        self.runner.call_hook('before_train')
        while self._epoch < self._max_epochs and not self.stop_training:
            self.run_epoch()
            self._decide_current_val_interval()
            if (self.runner.val_loop is not None
                    and self._epoch >= self.val_begin
                    and (self._epoch % self.val_interval == 0
                         or self._epoch == self._max_epochs)):
                with isolated_rng():
                    self.runner.val_loop.run()
        self.runner.call_hook('after_train')
        return self.runner.model

    def run_epoch(self) -> None:
        """Iterate the epoch from the batch after the last finished one."""
        self.runner.call_hook('before_train_epoch')
        self.runner.model.train()
        start = self._iter - self._epoch * len(self.dataloader)
        self.batch_sampler.begin_epoch(self._epoch, seed=self.runner.seed,
                                       start=start)
        # the DataLoader draws its workers' base seed from torch's generator:
        # keep that draw out of the model's stream
        with isolated_rng():
            batches = iter(self.dataloader)
        if self._pending_rng is not None:
            set_rng_state(self._pending_rng)
            self._pending_rng = None
        for idx, data_batch in enumerate(batches, start=start):
            self.run_iter(idx, data_batch)
        self.runner.call_hook('after_train_epoch')
        self._epoch += 1

    def _take_resume_state(self) -> None:
        state, self.resume_hook.loaded_state = \
            self.resume_hook.loaded_state, None
        if self._iter == 0:
            return  # a fresh run (load_from only loads weights)
        if state is None:
            print_log(
                'Resumed from a checkpoint without random-generator states '
                '(written before ExactResumeHook): the run continues but '
                'will not equal an uninterrupted one', logger='current',
                level=logging.WARNING)
            return
        sampler = self.batch_sampler.sampler
        if state.get('sampler_seed') is not None and hasattr(sampler, 'seed'):
            sampler.seed = state['sampler_seed']
        self._pending_rng = state['rng']
        start = self._iter - self._epoch * len(self.dataloader)
        print_log(f'Exact resume: epoch {self._epoch + 1}, batch {start} of '
                  f'{len(self.dataloader)} (iteration {self._iter}); random '
                  'generators restored', logger='current')
