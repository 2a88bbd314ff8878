"""Shared test setup: few threads, helper modules, the real clips, and no
silent skips.

A skipped test is turned into a failure unless it carries a marker saying
where a skip is expected (``@pytest.mark.gpu``: needs a GPU;
``@pytest.mark.cpu_only``: the CPU path, skipped where a GPU is present).
So a test that should run here but quietly does not -- real clips not found,
a guard that trips -- fails the session instead of passing unseen.
"""
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

# Markers under which a skip is an expected outcome (registered in pytest.ini).
SKIP_ALLOWED_MARKERS = ('gpu', 'cpu_only')


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if not report.skipped or hasattr(report, 'wasxfail'):
        return
    if any(item.get_closest_marker(name) for name in SKIP_ALLOWED_MARKERS):
        return
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else \
        str(report.longrepr)
    report.outcome = 'failed'
    report.longrepr = (
        f'unexpected skip ({reason}): this test must run on every machine. '
        f'Mark it @pytest.mark.{"/".join(SKIP_ALLOWED_MARKERS)} if a skip is '
        'legitimate where it happened.')

# The suite runs the components as the tools do: with cavsync_mm.compat's
# fixes applied (tests/test_compat.py checks that ``import cavsync_mm`` alone
# applies none of them).
from cavsync_mm import compat  # noqa: E402

compat.apply()


@pytest.fixture(scope='session')
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope='session')
def real_data_dir() -> Path:
    """The real AudioSet / VGGSound clips in ``<root>/../shared/data/real``.

    Missing clips are an error, not a skip: CI clones the repository beside
    ``shared/``.
    """
    if not REAL_DATA_DIR.is_dir():
        pytest.fail(f'real clips not found at {REAL_DATA_DIR} (expected '
                    'shared/ beside the repository checkout)')
    return REAL_DATA_DIR


@pytest.fixture(autouse=True)
def _fresh_mmengine_instances():
    """Each test's Runners get their own logger, message hub, visualizer
    and default scope.

    MMEngine keys these global instances by the experiment name, a timestamp
    with one-second resolution: a Runner built within the same second as one
    of an earlier test would reuse that test's logger / visualizer and write
    its log and scalars into the earlier work_dir. Drop the instances a test
    created when it ends (the ones that existed before are kept)."""
    from mmengine.logging import MessageHub, MMLogger
    from mmengine.registry import DefaultScope
    from mmengine.visualization import Visualizer

    from cavsync_mm.visualization import AVVisualizer
    # DefaultScope too: a test that builds under default_scope='mmpretrain'
    # must not leave that scope current for the next test.
    classes = (MMLogger, MessageHub, Visualizer, AVVisualizer, DefaultScope)
    before = {cls: set(cls._instance_dict) for cls in classes}
    yield
    for cls in classes:
        for name in set(cls._instance_dict) - before[cls]:
            del cls._instance_dict[name]
