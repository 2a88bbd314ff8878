"""``load_from`` that fails loudly on weights that do not fit the model."""
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from cavsync_mm.models.checkpoint_fit import check_checkpoint_fit
from cavsync_mm.registry import HOOKS


@HOOKS.register_module()
class CheckpointFitHook(Hook):
    """Check every checkpoint the Runner loads (``load_from``, ``--resume``)
    against the model before MMEngine loads it with ``strict=False``.

    Missing parameters, extra entries or other shapes stop the run with a
    :class:`~cavsync_mm.models.checkpoint_fit.CheckpointMismatchError` that
    names the converter to run (``tools/model_converters/
    official_to_cavsync.py`` or ``mae_to_cavsync.py``); the parameters a
    ``mae_to_cavsync.py`` file declares as left to the model's own
    initialisation are accepted.

    Args:
        allow_partial: load whatever matches and log the rest as a warning
            (``default_hooks.checkpoint_fit.allow_partial=True``).
    """
    priority = 'VERY_HIGH'

    def __init__(self, allow_partial: bool = False):
        self.allow_partial = allow_partial

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) \
            else runner.model
        source = getattr(runner, '_load_from', None) or \
            'the checkpoint being resumed'
        check_checkpoint_fit(
            model, checkpoint, str(source),
            allow_partial=self.allow_partial,
            partial_flag='default_hooks.checkpoint_fit.allow_partial=True')
