"""A tqdm progress bar over training iterations and test batches."""
from typing import Optional

from mmengine.hooks import Hook
from tqdm import tqdm

from cavsync_mm.registry import HOOKS


@HOOKS.register_module()
class ProgressBarHook(Hook):
    """Show training and testing progress as tqdm bars (rank 0 only).

    Useful when the log level hides MMEngine's per-interval log lines, e.g.
    ``custom_hooks=[dict(type='ProgressBarHook')]`` with
    ``log_level='WARNING'``. The training bar shows the latest losses.

    Args:
        desc: text in front of the bars (default: the experiment name).
        loss_keys: logged values shown beside the training bar.
    """
    priority = 'VERY_LOW'

    def __init__(self, desc: Optional[str] = None,
                 loss_keys=('loss', 'contrastive_accuracy')):
        self.desc = desc
        self.loss_keys = tuple(loss_keys)
        self._bar = None

    def _open(self, runner, total, what):
        if runner.rank != 0:
            return
        self._bar = tqdm(total=total, desc=f'{self.desc or runner.experiment_name} {what}',
                         unit='it', dynamic_ncols=True)

    def _close(self):
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def before_train(self, runner) -> None:
        self._open(runner, runner.max_iters, 'train')
        if self._bar is not None:
            self._bar.update(runner.iter)

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        if self._bar is None:
            return
        if outputs:
            self._bar.set_postfix({k: f'{float(outputs[k]):.3f}'
                                   for k in self.loss_keys if k in outputs},
                                  refresh=False)
        self._bar.update(1)

    def after_train(self, runner) -> None:
        self._close()

    def before_test_epoch(self, runner) -> None:
        self._open(runner, len(runner.test_dataloader), 'test')

    def after_test_iter(self, runner, batch_idx, data_batch=None,
                        outputs=None) -> None:
        if self._bar is not None:
            self._bar.update(1)

    def after_test_epoch(self, runner, metrics=None) -> None:
        self._close()
