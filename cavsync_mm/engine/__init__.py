"""Runner-side pieces (hooks, loops) of cavsync_mm."""
from .checkpoint_fit_hook import CheckpointFitHook
from .checkpoint_hook import MidEpochCheckpointHook
from .data_health_hook import DataHealthError, DataHealthHook
from .evaluation_wrapper import EvaluationModelWrapper
from .exact_resume import ExactResumeHook, ResumableEpochBasedTrainLoop
from .non_finite_guard import NonFiniteError, NonFiniteGuardHook
from .progress_bar_hook import ProgressBarHook
from .visualization_hook import AVVisualizationHook

__all__ = [
    'CheckpointFitHook', 'DataHealthError', 'DataHealthHook',
    'EvaluationModelWrapper',
    'ExactResumeHook', 'MidEpochCheckpointHook', 'NonFiniteError',
    'NonFiniteGuardHook', 'ProgressBarHook', 'ResumableEpochBasedTrainLoop',
    'AVVisualizationHook'
]
