"""Epoch checkpoints plus checkpoints inside an epoch.

An AudioSet-2M epoch is ~3.9k iterations at batch 512 (hours of 8 GPUs);
MMEngine's ``CheckpointHook`` saves either by epoch or by iteration, and two
instances of it would share (and corrupt) the ``keep_ckpt_ids`` rotation
record. :class:`MidEpochCheckpointHook` is ``CheckpointHook`` (epoch
checkpoints, ``max_keep_ckpts``, ``save_best``, ``last_checkpoint``) plus a
checkpoint every ``iter_interval`` iterations inside an epoch, kept in a
rotation of its own.
"""
import os.path as osp
from collections import deque
from typing import Optional

from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook

from cavsync_mm.atomic_files import atomic_path
from cavsync_mm.registry import HOOKS

ITER_CKPTS_KEY = 'keep_mid_epoch_ckpt_ids'


@HOOKS.register_module()
class MidEpochCheckpointHook(CheckpointHook):
    """``CheckpointHook`` that also saves ``iter_{N}.pth`` inside epochs.

    Args:
        iter_interval (int, optional): save every this many iterations
            (global iteration count, 1-based); the last iteration of an
            epoch is left to the epoch checkpoint. None: epoch checkpoints
            only (MMEngine's behaviour).
        max_keep_iter_ckpts (int): newest mid-epoch checkpoints kept; an
            older one is deleted only after the newer one is written.
        iter_filename_tmpl (str): file name of mid-epoch checkpoints.
        *args, **kwargs: ``CheckpointHook``'s (``interval`` is in epochs
            when ``by_epoch=True``, the default).

    Every checkpoint written, mid-epoch or not, becomes ``last_checkpoint``,
    so ``tools/train.py --resume`` continues from the newest one.
    """

    def __init__(self, *args, iter_interval: Optional[int] = None,
                 max_keep_iter_ckpts: int = 1,
                 iter_filename_tmpl: str = 'iter_{}.pth', **kwargs):
        super().__init__(*args, **kwargs)
        if iter_interval is not None and iter_interval < 1:
            raise ValueError(f'iter_interval must be >= 1 or None, got '
                             f'{iter_interval}')
        if max_keep_iter_ckpts < 1:
            raise ValueError('max_keep_iter_ckpts must be >= 1, got '
                             f'{max_keep_iter_ckpts}')
        self.iter_interval = iter_interval
        self.max_keep_iter_ckpts = max_keep_iter_ckpts
        self.iter_filename_tmpl = iter_filename_tmpl
        self.iter_ckpt_ids = deque()

    def before_train(self, runner) -> None:
        super().before_train(runner)
        self.iter_ckpt_ids = deque(
            runner.message_hub.runtime_info.get(ITER_CKPTS_KEY, []))

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        super().after_train_iter(runner, batch_idx, data_batch, outputs)
        if (not self.by_epoch or self.iter_interval is None
                or (runner.iter + 1) % self.iter_interval
                or self.end_of_epoch(runner.train_dataloader, batch_idx)):
            return
        step = runner.iter + 1
        runner.logger.info(f'Saving mid-epoch checkpoint at {step} '
                           f'iterations (epoch {runner.epoch + 1}, batch '
                           f'{batch_idx + 1})')
        filename = self.iter_filename_tmpl.format(step)
        runner.save_checkpoint(
            self.out_dir, filename, self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=dict(epoch=runner.epoch, iter=step), by_epoch=False,
            backend_args=self.backend_args, **self.args)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        self.iter_ckpt_ids.append(step)
        while len(self.iter_ckpt_ids) > self.max_keep_iter_ckpts:
            old = self.file_backend.join_path(
                self.out_dir,
                self.iter_filename_tmpl.format(self.iter_ckpt_ids.popleft()))
            if is_main_process() and self.file_backend.isfile(old):
                self.file_backend.remove(old)
        runner.message_hub.update_info(ITER_CKPTS_KEY,
                                       list(self.iter_ckpt_ids))
        if is_main_process():
            # written after the checkpoint, and atomically: a kill at any
            # moment leaves it naming a complete file
            last = osp.join(runner.work_dir, 'last_checkpoint')
            with atomic_path(last) as part, open(part, 'w') as f:
                f.write(self.last_ckpt)
