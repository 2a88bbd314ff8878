"""Shared test setup: few threads, helper modules, the real clips."""
import sys
from pathlib import Path

import pytest
import torch

# Small helper modules (``repo_paths``, ``toy_regression``) import by name.
_FIXTURES = str(Path(__file__).resolve().parent / 'fixtures')
if _FIXTURES not in sys.path:
    sys.path.insert(0, _FIXTURES)

from repo_paths import REAL_DATA_DIR, REPO_ROOT  # noqa: E402

# Two CPU cores are shared by many processes: keep runs small and repeatable.
torch.set_num_threads(1)


@pytest.fixture(scope='session')
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope='session')
def real_data_dir() -> Path:
    """The real AudioSet / VGGSound clips in ``<root>/../shared/data/real``."""
    if not REAL_DATA_DIR.is_dir():
        pytest.skip(f'real clips not found at {REAL_DATA_DIR} (expected '
                    'shared/ beside the repository checkout)')
    return REAL_DATA_DIR
