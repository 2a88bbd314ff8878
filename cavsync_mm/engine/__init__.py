"""Runner-side pieces (hooks, loops) of cavsync_mm."""
from .data_health_hook import DataHealthError, DataHealthHook
from .progress_bar_hook import ProgressBarHook

__all__ = ['ProgressBarHook', 'DataHealthHook', 'DataHealthError']
