"""``mim train cavsync_mm <config name>`` on an installed cavsync_mm.

openmim (the tests extra) finds the package with ``pkg_resources`` and reads
``<package>/.mim/{tools,configs}``, which setup.py ships. openmim 0.3.9 cannot
locate a PEP 660 editable install (``pip install -e .`` with setuptools >= 64:
it looks for ``site-packages/cavsync_mm``, which does not exist), so the test
builds a regular install of this checkout into a temporary folder, as
``pip install .`` / ``mim install .`` would, and runs mim against it: the
config is found by name in the shipped configs, mim starts the shipped
``tools/train.py`` and the toy model trains two iterations on tiny generated
clips.
"""
import os
import shutil
import subprocess
import sys

from tiny_av import make_tiny_toy

SHIPPED = ('setup.py', 'MANIFEST.in', 'README.md', 'model-index.yml',
           'cavsync_mm',
           'configs', 'tools', 'requirements')


def _install_copy(repo_root, tmp_path):
    """``pip install --target`` of a copy of the checkout (a build in the
    checkout itself would replace its editable ``.mim`` links by copies)."""
    src = tmp_path / 'src'
    src.mkdir()
    for name in SHIPPED:
        path = repo_root / name
        if path.is_dir():
            shutil.copytree(path, src / name, symlinks=False,
                            ignore=shutil.ignore_patterns(
                                '__pycache__', '.mim', '*.egg-info'))
        else:
            shutil.copy(path, src / name)
    site = tmp_path / 'site'
    result = subprocess.run(
        [sys.executable, '-m', 'pip', 'install', '--quiet', '--no-deps',
         '--no-build-isolation', '--no-index', '--target', str(site),
         str(src)], capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-3000:]
    return site


def test_mim_train_runs_a_shipped_config_by_name(repo_root, tmp_path):
    import mim  # noqa: F401  (openmim, requirements/tests.txt)
    site = _install_copy(repo_root, tmp_path)
    shipped = site / 'cavsync_mm' / '.mim'
    assert (shipped / 'tools' / 'train.py').is_file()
    assert (shipped / 'configs' / 'cavsync' /
            'cavsync_vit-toy_1xb64-38e_toy.py').is_file()
    data = tmp_path / 'toy'
    make_tiny_toy(data, num_clips=4, val_clips=1)
    work_dir = tmp_path / 'work'
    env = dict(os.environ, PYTHONPATH=str(site))
    result = subprocess.run(
        [sys.executable, '-m', 'mim', 'train', 'cavsync_mm',
         'cavsync_vit-toy_1xb64-38e_toy.py', '--work-dir', str(work_dir),
         '--cfg-options', f'train_dataloader.dataset.data_root={data}',
         f'val_dataloader.dataset.data_root={data}',
         'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
         'train_dataloader.persistent_workers=False', 'train_cfg.max_epochs=1',
         'train_cfg.val_begin=2', 'default_hooks.logger.interval=1',
         'log_level=INFO'],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    # mim found the config among the shipped ones and ran the shipped tool
    assert str(shipped.resolve()) in output or str(shipped) in output
    assert 'Training finished successfully' in output
    # the run imported this install, trained 2 iterations (4 clips / 2)
    assert (work_dir / 'epoch_1.pth').is_file()
    logs = list(work_dir.glob('*/vis_data/scalars.json'))
    assert len(logs) == 1
    steps = [line for line in logs[0].read_text().splitlines()
             if '"loss"' in line]
    assert len(steps) == 2, steps
