"""Importing this module applies :func:`cavsync_mm.compat.apply`.

For configs run by a program that does not call it, e.g.::

    custom_imports = dict(imports=['cavsync_mm', 'cavsync_mm.compat_apply'],
                          allow_failed_imports=False)
"""
from .compat import apply

apply()
