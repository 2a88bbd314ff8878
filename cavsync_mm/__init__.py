"""cavsync_mm: the OpenMMLab toolkit for CAV-MAE Sync (CVPR 2025).

Importing the package registers every component in the ``cavsync_mm`` scope.
It changes nothing else: the fixes old OpenMMLab releases need on current
torch are applied by ``cavsync_mm.compat.apply()`` (the tools call it).
"""
from . import (apis, datasets, engine, evaluation, models,  # noqa: F401
               structures, visualization)
from .version import __version__

__all__ = ['__version__']
