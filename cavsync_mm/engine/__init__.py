"""Runner-side pieces (hooks, loops) of cavsync_mm."""
from .progress_bar_hook import ProgressBarHook

__all__ = ['ProgressBarHook']
