"""cavsync_mm: the OpenMMLab toolkit for CAV-MAE Sync (CVPR 2025).

Importing the package registers every component in the ``cavsync`` scope.
"""
from . import compat  # noqa: F401  (must come first: patches for current torch)
from . import (apis, datasets, engine, evaluation, models,  # noqa: F401
               structures, visualization)
from .version import __version__

__all__ = ['__version__']
