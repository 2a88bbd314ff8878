"""Data health: one skip count across DataLoader workers and ranks.

:class:`~cavsync_mm.datasets.AudioVisualDataset` with ``on_error='skip'``
serves another clip in place of a broken one and notes the skipped
``(clip, field, problem)`` on the sample it serves (``skipped_clips`` in the
data sample's metainfo). Worker processes share no memory with the main
process, so the skips travel with the batches: this hook reads them from
every batch, sums them over ranks (``all_reduce``) and stops the run when
too many visits fail.
"""
import logging
import re
from collections import Counter
from typing import Dict, Optional, Sequence

import torch
from mmengine.dist import all_gather_object, all_reduce, get_world_size
from mmengine.hooks import Hook
from mmengine.logging import print_log

from cavsync_mm.registry import HOOKS

_PATH = re.compile(r"\S*[/\\]\S*")
_NUMBER = re.compile(r'\d+(\.\d+)?')


def skip_cause(field: str, problem: str) -> str:
    """A problem without its paths and numbers: skips of one kind group."""
    text = _NUMBER.sub('N', _PATH.sub('<path>', problem))
    return f'{field}: {text[:160]}'


class DataHealthError(RuntimeError):
    """More clip visits failed than ``max_skip_ratio`` allows."""


def _skips_of(data_batch) -> list:
    """The ``(clip, field, problem)`` skips noted on a collated batch."""
    if not isinstance(data_batch, dict):
        return []
    skips = []
    samples = data_batch.get('data_samples')
    if isinstance(samples, (list, tuple)):
        for sample in samples:
            meta = getattr(sample, 'metainfo', None)
            if meta is None:
                meta = sample if isinstance(sample, dict) else {}
            skips.extend(meta.get('skipped_clips', ()) or ())
    for item in data_batch.get('skipped_clips', ()) or ():
        skips.extend(item)  # unpacked results: one list per sample
    return skips


def _batch_size(data_batch) -> int:
    if not isinstance(data_batch, dict):
        return len(data_batch or ())
    samples = data_batch.get('data_samples', data_batch.get('video_id'))
    return len(samples) if samples is not None else 0


@HOOKS.register_module()
class DataHealthHook(Hook):
    """Count skipped clips over all workers and ranks; stop when too many.

    A *visit* is one attempt to load a clip: every served sample plus every
    skip it replaced. Per epoch (and for each validation / test run) the
    hook logs ``skipped / visits`` summed over ranks with the most frequent
    causes (the metrics themselves report the clips they scored, e.g.
    ``retrieval/num_clips``). When the skipped
    fraction exceeds ``max_skip_ratio`` it raises :class:`DataHealthError`
    naming the top causes with an example clip each: every ``interval``
    training iterations once ``min_visits`` visits were made, and at the end
    of each epoch / evaluation. Entries dropped while parsing the datafile
    (``on_error='skip'``) count against the same ratio before training.

    Args:
        max_skip_ratio (float): the largest tolerated fraction of failed
            visits. Defaults to 0.01 (1 %).
        interval (int): training iterations between checks. Defaults to 50.
        min_visits (int): visits before a mid-epoch check may stop the run
            (a few early failures are noise). Defaults to 1000.
        top_k (int): causes listed. Defaults to 5.
    """
    priority = 'NORMAL'

    def __init__(self, max_skip_ratio: float = 0.01, interval: int = 50,
                 min_visits: int = 1000, top_k: int = 5):
        if not 0 <= max_skip_ratio <= 1:
            raise ValueError('max_skip_ratio must be in [0, 1], got '
                             f'{max_skip_ratio}')
        self.max_skip_ratio = max_skip_ratio
        self.interval = interval
        self.min_visits = min_visits
        self.top_k = top_k
        self._state: Dict[str, dict] = {}

    # ------------------------------------------------------------- counting
    def _reset(self, mode: str):
        self._state[mode] = dict(served=0, causes=Counter(), examples={})

    def _count(self, mode: str, data_batch):
        state = self._state.setdefault(
            mode, dict(served=0, causes=Counter(), examples={}))
        state['served'] += _batch_size(data_batch)
        for clip, field, problem in _skips_of(data_batch):
            cause = skip_cause(field, problem)
            state['causes'][cause] += 1
            state['examples'].setdefault(cause, f'{clip}: {problem}')

    def _totals(self, mode: str):
        """(skipped, visits) summed over ranks: a collective call."""
        state = self._state.get(mode) or dict(served=0, causes=Counter())
        skipped = sum(state['causes'].values())
        counts = torch.tensor([skipped, state['served'] + skipped],
                              dtype=torch.float64)
        if get_world_size() > 1:
            all_reduce(counts, op='sum')
        return int(counts[0]), int(counts[1])

    def _causes(self, mode: str):
        """Causes and examples merged over ranks: a collective call."""
        state = self._state.get(mode) or dict(causes=Counter(), examples={})
        gathered = all_gather_object((dict(state['causes']),
                                      state['examples'])) \
            if get_world_size() > 1 else [(state['causes'],
                                           state['examples'])]
        causes, examples = Counter(), {}
        for rank_causes, rank_examples in gathered:
            causes.update(rank_causes)
            for cause, example in rank_examples.items():
                examples.setdefault(cause, example)
        return causes, examples

    def _describe(self, mode: str, skipped: int, visits: int) -> str:
        causes, examples = self._causes(mode)
        lines = [f'{skipped} of {visits} clip visits skipped '
                 f'({100 * skipped / max(visits, 1):.2f} %) over '
                 f'{get_world_size()} rank(s)']
        for cause, count in causes.most_common(self.top_k):
            lines.append(f'  {count} x {cause}  (e.g. {examples[cause]})')
        return '\n'.join(lines)

    def _check(self, runner, mode: str, final: bool, where: str) -> tuple:
        skipped, visits = self._totals(mode)
        too_many = visits > 0 and skipped > self.max_skip_ratio * visits
        if too_many and (final or visits >= self.min_visits):
            raise DataHealthError(
                f'{where}: {self._describe(mode, skipped, visits)}\n'
                f'more than max_skip_ratio={self.max_skip_ratio} of the '
                'visits failed: fix the data (see the causes above) or '
                'raise DataHealthHook(max_skip_ratio=...)')
        if final:
            level = logging.WARNING if skipped else logging.INFO
            print_log(f'data health, {where}: '
                      f'{self._describe(mode, skipped, visits)}',
                      logger='current', level=level)
        return skipped, visits

    # ---------------------------------------------------------------- hooks
    def before_train(self, runner) -> None:
        dataset = getattr(runner.train_dataloader, 'dataset', None)
        entries = getattr(dataset, 'num_entries', 0)
        dropped = len(getattr(dataset, 'skipped_clips', {}) or {})
        if entries and dropped > self.max_skip_ratio * entries:
            examples = list(dataset.skipped_clips.values())[:self.top_k]
            raise DataHealthError(
                f'{dropped} of {entries} datafile entries were dropped '
                f'while parsing (more than max_skip_ratio='
                f'{self.max_skip_ratio}), e.g.:\n  ' + '\n  '.join(examples))

    def before_train_epoch(self, runner) -> None:
        self._reset('train')

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        self._count('train', data_batch)
        if self.every_n_train_iters(runner, self.interval):
            self._check(runner, 'train', final=False,
                        where=f'train epoch {runner.epoch + 1}, iteration '
                        f'{runner.iter + 1}')

    def after_train_epoch(self, runner) -> None:
        self._check(runner, 'train', final=True,
                    where=f'train epoch {runner.epoch + 1}')

    def before_val_epoch(self, runner) -> None:
        self._reset('val')

    def after_val_iter(self, runner, batch_idx: int, data_batch=None,
                       outputs: Optional[Sequence] = None) -> None:
        self._count('val', data_batch)

    def after_val_epoch(self, runner, metrics: Optional[dict] = None):
        self._evaluated(runner, 'val', metrics)

    def before_test_epoch(self, runner) -> None:
        self._reset('test')

    def after_test_iter(self, runner, batch_idx: int, data_batch=None,
                        outputs: Optional[Sequence] = None) -> None:
        self._count('test', data_batch)

    def after_test_epoch(self, runner, metrics: Optional[dict] = None):
        self._evaluated(runner, 'test', metrics)

    def _evaluated(self, runner, mode: str, metrics: Optional[dict]):
        self._check(runner, mode, final=True, where=mode)
