"""Files that appear whole or not at all."""
import contextlib
import os
import os.path as osp
from typing import Iterator


@contextlib.contextmanager
def atomic_path(path: str, suffix: str = '.part') -> Iterator[str]:
    """Yield a temporary path beside ``path`` (``path + suffix``) to write.

    When the block ends, the file is renamed to ``path`` in one step (a rename
    within one file system), so a reader, or a run killed half-way, never
    sees a partly written ``path``; when the block raises, the temporary file
    is removed and ``path`` is left as it was. The parent folder is created.

    >>> with atomic_path('out/settings.json') as part:
    ...     with open(part, 'w') as f:
    ...         f.write('{}')
    """
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    part = path + suffix
    try:
        yield part
        os.replace(part, path)
    finally:
        if osp.exists(part):
            os.remove(part)
