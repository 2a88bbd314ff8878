"""cavsync_mm.compat: nothing on import, every fix on ``apply()``; real
Runner checkpoints on torch >= 2.6, and no ``mmaction.models`` anywhere in the
toolkit outside compat's opt-in fix for the mmaction2 wheel."""
import io
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from mmengine.runner import Runner, load_checkpoint

from cavsync_mm.compat import CheckpointRefusedError  # conftest: apply()
from repo_paths import REPO_ROOT

# tests/fixtures/toy_regression.py: importing it registers the Toy* parts
from toy_regression import (EpochRecorderHook, InterruptAfterEpochHook,
                            ToyRegressor, TrainingInterrupted)


def make_runner(work_dir, max_epochs, name, **kwargs):
    """A seeded Runner for the toy regression task (SGD with momentum and a
    step schedule, so a resume must restore optimizer and scheduler state)."""
    settings = dict(
        model=dict(type='ToyRegressor'),
        work_dir=str(work_dir),
        experiment_name=name,
        train_dataloader=dict(
            dataset=dict(type='ToyRegressionDataset', num_samples=32),
            sampler=dict(type='DefaultSampler', shuffle=True),
            collate_fn=dict(type='default_collate'),
            batch_size=8,
            num_workers=0),
        optim_wrapper=dict(
            optimizer=dict(type='SGD', lr=0.05, momentum=0.9)),
        param_scheduler=dict(type='MultiStepLR', milestones=[1, 3]),
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', interval=1),
            logger=dict(type='LoggerHook', interval=100)),
        randomness=dict(seed=0, deterministic=True),
        default_scope='cavsync_mm',
        log_level='WARNING')
    return Runner(**{**settings, **kwargs})


@pytest.fixture(scope='module')
def runs(tmp_path_factory):
    """An uninterrupted 4-epoch run, and the same run interrupted after
    epoch 2 then resumed by a new Runner."""
    root = tmp_path_factory.mktemp('compat_runs')
    straight = make_runner(root / 'straight', 4, 'straight')
    straight.train()
    interrupted = make_runner(root / 'resumed', 4, 'first_half',
                              custom_hooks=[InterruptAfterEpochHook(2)])
    with pytest.raises(TrainingInterrupted):
        interrupted.train()
    recorder = EpochRecorderHook()
    resumed = make_runner(root / 'resumed', 4, 'second_half', resume=True,
                          custom_hooks=[recorder])
    resumed.train()
    return dict(root=root, straight=straight, resumed=resumed,
                resumed_epochs=recorder.started_epochs)


def test_runner_checkpoint_is_refused_by_plain_weights_only_load(runs):
    """The allow-list is scoped to mmengine's loader: the raw torch.load
    default still refuses what MMEngine pickles (the reason compat exists)."""
    checkpoint = runs['root'] / 'resumed' / 'epoch_2.pth'
    with pytest.raises(Exception, match='HistoryBuffer'):
        torch.load(checkpoint, weights_only=True)


def test_resume_continues_at_epoch_2_and_matches_uninterrupted_run(runs):
    assert runs['resumed_epochs'] == [2, 3]
    assert runs['resumed'].epoch == runs['straight'].epoch == 4
    straight = runs['straight'].model.state_dict()
    resumed = runs['resumed'].model.state_dict()
    assert straight.keys() == resumed.keys()
    for key in straight:
        assert torch.equal(straight[key], resumed[key]), key
    # The restored optimizer state matters: a fresh optimizer would differ.
    momentum = runs['resumed'].optim_wrapper.optimizer.state_dict()['state']
    assert momentum and all('momentum_buffer' in s for s in momentum.values())


def test_load_from_and_load_checkpoint(runs):
    checkpoint = runs['root'] / 'resumed' / 'epoch_2.pth'
    model = ToyRegressor()
    loaded = load_checkpoint(model, str(checkpoint), map_location='cpu')
    assert loaded['meta']['epoch'] == 2
    hub_scalars = loaded['message_hub']['log_scalars']
    assert 'train/loss' in hub_scalars
    assert isinstance(hub_scalars['train/loss'].data[0], np.ndarray)

    runner = make_runner(runs['root'] / 'load_from', 1, 'load_from',
                         load_from=str(checkpoint))
    runner.load_or_resume()
    for key, value in model.state_dict().items():
        assert torch.equal(runner.model.state_dict()[key], value), key
    assert runner.epoch == 0  # load_from loads weights only, no resume


def test_checkpoint_written_with_numpy_1_loads(tmp_path):
    """numpy 1.x pickles name ``numpy.core.multiarray``; such files (e.g. the
    OpenMMLab model zoo's) load through the same allow-list."""
    buffer = io.BytesIO()
    meta = dict(eta=np.float64(1.5), palette=np.arange(3, dtype=np.uint8))
    torch.save(dict(state_dict=ToyRegressor().state_dict(), meta=meta),
               buffer, _use_new_zipfile_serialization=False)
    numpy_2_bytes = buffer.getvalue()
    assert b'numpy._core.multiarray' in numpy_2_bytes
    checkpoint = tmp_path / 'numpy1.pth'
    checkpoint.write_bytes(
        numpy_2_bytes.replace(b'numpy._core.multiarray',
                              b'numpy.core.multiarray'))
    loaded = load_checkpoint(ToyRegressor(), str(checkpoint),
                             map_location='cpu')
    assert loaded['meta']['eta'] == 1.5
    assert loaded['meta']['palette'].tolist() == [0, 1, 2]


class _RunsCodeWhenUnpickled:
    """A pickle payload: unpickling it creates ``marker``."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return exec, (f'open({self.marker!r}, "w").close()', )


class _WritesFileThroughGetattr:
    """A payload that needs ``getattr``: ``numpy.ndarray.tofile(marker)``."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return np.ndarray.tofile, (np.zeros(1), self.marker)


@pytest.mark.parametrize('payload, offender', [
    (_RunsCodeWhenUnpickled, 'exec'),
    (_WritesFileThroughGetattr, "builtins.getattr(numpy.ndarray, 'tofile')"),
])
def test_checkpoint_with_code_payload_is_refused(tmp_path, payload,
                                                  offender):
    marker = tmp_path / 'marker'
    checkpoint = tmp_path / 'evil.pth'
    torch.save(
        dict(state_dict=ToyRegressor().state_dict(),
             meta=dict(epoch=1, note=payload(marker))), checkpoint)

    with pytest.raises(CheckpointRefusedError) as refused:
        load_checkpoint(ToyRegressor(), str(checkpoint), map_location='cpu')
    assert str(checkpoint) in str(refused.value)
    assert repr(offender) in str(refused.value)
    runner = make_runner(tmp_path / 'work', 1, f'evil_{payload.__name__}',
                         load_from=str(checkpoint))
    with pytest.raises(CheckpointRefusedError, match=re.escape(offender)):
        runner.load_or_resume()
    assert not marker.exists()

    # The payload is live: an unrestricted unpickler would have run it.
    torch.load(checkpoint, weights_only=False)
    assert marker.exists()


@pytest.mark.cpu_only
@pytest.mark.skipif(torch.cuda.is_available(),
                    reason='the CPU path of AmpOptimWrapper')
def test_amp_optim_wrapper_runs_bfloat16_on_cpu(tmp_path):
    runner = make_runner(
        tmp_path, 1, 'amp_cpu',
        optim_wrapper=dict(type='AmpOptimWrapper',
                           optimizer=dict(type='SGD', lr=0.05)))
    runner.train()
    wrapper = runner.optim_wrapper
    assert wrapper.cast_dtype is torch.bfloat16
    with wrapper.optim_context(runner.model):
        assert runner.model(torch.randn(2, 8)).dtype is torch.bfloat16
    with pytest.raises(ValueError, match='bfloat16'):
        make_runner(
            tmp_path, 1, 'amp_cpu_fp16',
            optim_wrapper=dict(type='AmpOptimWrapper', dtype='float16',
                               optimizer=dict(type='SGD', lr=0.05))).train()


# --------------------------------------------------------------------------
# mmaction.models is broken on the PyPI wheel: nothing may reach it.
# --------------------------------------------------------------------------
SCANNED_FOLDERS = ('cavsync_mm', 'tools', 'demo', 'configs', 'projects')
BANNED = [
    (re.compile(r'^\s*(import|from)\s+mmaction\.models\b', re.M),
     'imports mmaction.models'),
    (re.compile(r'^\s*from\s+mmaction\s+import\s+[^\n]*\bmodels\b', re.M),
     'imports mmaction.models'),
    (re.compile(r'[\'"]mmaction\.models\b'),
     'names mmaction.models (custom_imports / import_module)'),
    (re.compile(r'\bmmaction\b[^\n]*\bregister_all_modules\b'),
     "uses mmaction's register_all_modules (it imports mmaction.models)"),
    (re.compile(r'default_scope\s*=\s*[\'"]mmaction[\'"]'),
     "sets default_scope='mmaction' (model types would load mmaction.models)"),
]
MMACTION_TYPE = re.compile(r'[\'"]mmaction\.(\w+)[\'"]')


# compat's fix 6 names mmaction.models to make it importable, on request only
# (``apply()``); nothing else in the toolkit may reach it.
NOT_SCANNED = ('cavsync_mm/compat.py', )


def _sources():
    for folder in SCANNED_FOLDERS:
        yield from sorted(
            path for path in (REPO_ROOT / folder).rglob('*.py')
            if path.relative_to(REPO_ROOT).as_posix() not in NOT_SCANNED)


def _mmaction_names_without_models():
    """Names registered by the parts of mmaction that import cleanly."""
    import mmaction.datasets  # noqa: F401
    import mmaction.engine  # noqa: F401
    import mmaction.evaluation  # noqa: F401
    import mmaction.visualization  # noqa: F401
    from mmaction import registry
    names = set()
    for value in vars(registry).values():
        if hasattr(value, 'module_dict') and value.scope == 'mmaction':
            names.update(value.module_dict)
    return names


def test_no_source_reaches_mmaction_models():
    problems = []
    for path in _sources():
        text = path.read_text(encoding='utf-8')
        where = path.relative_to(REPO_ROOT)
        for pattern, why in BANNED:
            for match in pattern.finditer(text):
                problems.append(f'{where}: {why}: {match.group(0).strip()}')
    reachable = None
    for path in _sources():
        for name in MMACTION_TYPE.findall(path.read_text(encoding='utf-8')):
            reachable = reachable or _mmaction_names_without_models()
            if name not in reachable:
                problems.append(
                    f'{path.relative_to(REPO_ROOT)}: type mmaction.{name} is '
                    'not a transform/dataset/metric/hook: building it would '
                    'import mmaction.models')
    assert not problems, '\n'.join(problems)


def test_scanner_catches_an_offending_source(tmp_path):
    """The scanner's patterns are live (guards against a vacuous pass)."""
    offending_lines = [
        'from mmaction.models import Recognizer3D',
        'import mmaction.models.backbones',
        'from mmaction import apis, models',
        "custom_imports = dict(imports=['mmaction.models'])",
        'from mmaction.utils import register_all_modules',
        "default_scope = 'mmaction'",
    ]
    for line in offending_lines:
        assert any(pattern.search(line) for pattern, _ in BANNED), line
    assert not any(
        pattern.search('from mmaction.datasets.transforms import DecordInit')
        for pattern, _ in BANNED)
    assert MMACTION_TYPE.findall("dict(type='mmaction.Recognizer3D')") == [
        'Recognizer3D'
    ]
    assert 'Recognizer3D' not in _mmaction_names_without_models()
    assert 'DecordInit' in _mmaction_names_without_models()


# --------------------------------------------------------------------------
# opt-in: import alone changes nothing; apply() applies every fix
# --------------------------------------------------------------------------
SIDE_EFFECTS = textwrap.dedent("""
    import json, matplotlib
    backend = matplotlib.get_backend()
    from mmengine.config import utils as config_utils
    from mmengine.dist import utils as dist_utils
    from mmengine.model import MMDistributedDataParallel
    from mmengine.optim import AmpOptimWrapper
    from mmengine.runner.checkpoint import CheckpointLoader

    def state():
        return dict(
            amp=AmpOptimWrapper.__init__.__module__,
            ddp=MMDistributedDataParallel.__init__.__module__,
            init_dist=dist_utils._init_dist_pytorch.__module__,
            checkpoint=CheckpointLoader.load_checkpoint.__func__.__module__,
            config_package='cavsync_mm' in config_utils.MODULE2PACKAGE,
            backend_unchanged=matplotlib.get_backend() == backend)

    before = state()
    import cavsync_mm
    import cavsync_mm.visualization
    after_import = state()
    from cavsync_mm import compat
    compat.apply()
    compat.apply()  # idempotent
    after_apply = state()
    print(json.dumps([before, after_import, after_apply]))
    """)

# compat's fix 6, tested on its own: mmaction.models is reached only through
# a build under the mmaction scope, before and after an explicit apply()
MMACTION_MODELS_ON_REQUEST = textwrap.dedent("""
    import json, os, importlib.util
    import cavsync_mm
    from mmengine.registry import MODELS, DefaultScope
    # a cavsync_mm part built from an mmaction2 project (its default scope):
    # MMEngine imports the scope's model location, mmaction.models, first
    part = dict(type='cavsync_mm.InfoNCELoss')
    with DefaultScope.overwrite_default_scope('mmaction'):
        try:
            before = type(MODELS.build(part)).__name__
        except ModuleNotFoundError as err:
            before = str(err)
    from cavsync_mm import compat
    compat.apply()
    with DefaultScope.overwrite_default_scope('mmaction'):
        after = type(MODELS.build(part)).__name__
    # no import of mmaction.models here: the build above under the mmaction
    # scope is what loads it (MMEngine imports the scope's model location),
    # so its registry holds mmaction's own models only if fix 6 worked
    from mmaction.registry import MODELS as MMACTION_MODELS
    drn = os.path.join(os.path.dirname(importlib.util.find_spec(
        'mmaction').origin), 'models', 'localizers', 'drn')
    print(json.dumps([os.path.isdir(drn), before, after,
                      'Recognizer3D' in MMACTION_MODELS.module_dict]))
    """)


def test_import_changes_nothing_apply_fixes_everything(tmp_path):
    result = subprocess.run([sys.executable, '-c', SIDE_EFFECTS],
                            cwd=tmp_path, capture_output=True, text=True,
                            timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    import json
    before, after_import, after_apply = json.loads(
        result.stdout.strip().splitlines()[-1])
    assert after_import == before
    assert not before['config_package']
    assert before['amp'].startswith('mmengine.')
    for key in ('amp', 'ddp', 'init_dist', 'checkpoint'):
        assert after_apply[key] == 'cavsync_mm.compat', key
    assert after_apply['config_package']
    assert after_apply['backend_unchanged']


def test_apply_makes_mmaction_models_importable(tmp_path):
    """Why fix 6 stays: on the PyPI wheel (no drn folder) nothing can be
    built under default_scope='mmaction', cavsync_mm parts included, until
    compat.apply(); then mmaction's own models register too."""
    import json
    result = subprocess.run([sys.executable, '-c', MMACTION_MODELS_ON_REQUEST],
                            cwd=tmp_path, capture_output=True, text=True,
                            timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    has_drn, before, after, recognizer = json.loads(
        result.stdout.strip().splitlines()[-1])
    if has_drn:  # an mmaction2 install from source: nothing to fix
        assert before == 'InfoNCELoss'
    else:
        assert "No module named 'mmaction.models.localizers.drn'" in before
    assert after == 'InfoNCELoss' and recognizer
