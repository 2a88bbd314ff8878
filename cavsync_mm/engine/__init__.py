"""Runner-side pieces (hooks, loops) of cavsync_mm."""
from .checkpoint_hook import MidEpochCheckpointHook
from .data_health_hook import DataHealthError, DataHealthHook
from .exact_resume import ExactResumeHook, ResumableEpochBasedTrainLoop
from .progress_bar_hook import ProgressBarHook

__all__ = [
    'DataHealthError', 'DataHealthHook', 'ExactResumeHook',
    'MidEpochCheckpointHook', 'ProgressBarHook',
    'ResumableEpochBasedTrainLoop'
]
