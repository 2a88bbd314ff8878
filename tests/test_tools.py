"""tools/train.py, tools/test.py and the launch scripts, run as a user would:
real processes, real checkpoints, a real 2-process gloo run."""
import json
import os
import pickle
import socket
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config

from repo_paths import FIXTURES_DIR, REPO_ROOT
from tool_loader import load_script

TOY_CONFIG = FIXTURES_DIR / 'toy_regression_config.py'
TOOLS = REPO_ROOT / 'tools'


def tool_env():
    env = dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1')
    env['PYTHONPATH'] = os.pathsep.join(
        filter(None, [str(FIXTURES_DIR), env.get('PYTHONPATH')]))
    env['PYTHON'] = sys.executable
    return env


def run_tool(args, cwd, timeout=180):
    result = subprocess.run(
        args, cwd=cwd, env=tool_env(), capture_output=True, text=True,
        timeout=timeout)
    return result, result.stdout + result.stderr


def load_tool(name):
    """Import tools/<name>.py as a module (for its argument handling)."""
    return load_script(f'tools/{name}.py')


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """1 epoch with tools/train.py, then --resume auto to 2 epochs."""
    root = tmp_path_factory.mktemp('tools')
    work_dir = root / 'work'
    train = [sys.executable, str(TOOLS / 'train.py'), str(TOY_CONFIG),
             '--work-dir', str(work_dir)]
    first, first_log = run_tool(
        train + ['--cfg-options', 'train_cfg.max_epochs=1'], root)
    assert first.returncode == 0, first_log[-4000:]
    assert (work_dir / 'epoch_1.pth').is_file()
    assert not (work_dir / 'epoch_2.pth').exists()

    second, second_log = run_tool(train + ['--resume', 'auto'], root)
    assert second.returncode == 0, second_log[-4000:]
    return dict(root=root, work_dir=work_dir, resume_log=second_log)


def test_train_resume_auto_continues_from_epoch_1(trained):
    log = trained['resume_log']
    assert 'Auto resumed from the latest checkpoint' in log
    assert 'resumed epoch: 1' in log
    assert 'Epoch(train) [1]' not in log and 'Epoch(train) [2]' in log
    checkpoint = trained['work_dir'] / 'epoch_2.pth'
    meta = torch.load(checkpoint, map_location='cpu',
                      weights_only=False)['meta']  # our own file
    assert meta['epoch'] == 2
    # configs/_base_/default_runtime.py was inherited and dumped
    assert "default_scope = 'cavsync_mm'" in meta['cfg']


def test_test_tool_dumps_predictions(trained):
    root, out = trained['root'], trained['root'] / 'out' / 'predictions.pkl'
    test = [sys.executable, str(TOOLS / 'test.py'), str(TOY_CONFIG),
            str(trained['work_dir'] / 'epoch_2.pth'), '--work-dir',
            str(root / 'test_work'), '--out', str(out)]
    result, log = run_tool(test, root)
    assert result.returncode == 0, log[-4000:]
    assert 'toy/mse' in log
    with open(out, 'rb') as f:
        predictions = pickle.load(f)
    assert len(predictions) == 16 and {'pred', 'target'} <= set(
        predictions[0])


def test_dist_train_two_gloo_processes(tmp_path):
    work_dir = tmp_path / 'dist'
    env_port = str(free_port())
    command = [
        'bash', str(TOOLS / 'dist_train.sh'), str(TOY_CONFIG), '2',
        '--work-dir', str(work_dir), '--cfg-options',
        'env_cfg.dist_cfg.backend=gloo', 'train_cfg.max_epochs=1'
    ]
    env = dict(tool_env(), PORT=env_port)
    result = subprocess.run(command, cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=240)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-4000:]
    assert 'Distributed training: True' in log
    # 32 samples over 2 ranks at batch 8: 2 iterations per epoch per rank
    assert 'Epoch(train) [1][2/2]' in log
    assert (work_dir / 'epoch_1.pth').is_file()


def test_slurm_scripts_compose_srun(tmp_path):
    """The slurm scripts hand srun the resources and the tool's arguments
    (a stand-in ``srun`` records its command line)."""
    fake_bin = tmp_path / 'bin'
    fake_bin.mkdir()
    record = tmp_path / 'srun_args'
    srun = fake_bin / 'srun'
    srun.write_text(f'#!/usr/bin/env bash\nprintf "%s\\n" "$@" > {record}\n')
    srun.chmod(0o755)
    env = dict(tool_env(), PATH=f'{fake_bin}{os.pathsep}{os.environ["PATH"]}',
               GPUS='16', GPUS_PER_NODE='8', SRUN_ARGS='--quotatype=auto')

    subprocess.run(['bash', str(TOOLS / 'slurm_train.sh'), 'gpu', 'job',
                    'cfg.py', 'work_dirs/x', '--amp'], env=env, check=True)
    args = record.read_text().splitlines()
    assert args[:2] == ['-p', 'gpu'] and '--job-name=job' in args
    assert {'--gres=gpu:8', '--ntasks=16', '--ntasks-per-node=8',
            '--cpus-per-task=5', '--quotatype=auto'} <= set(args)
    tool = args[args.index('-u') + 1:]
    assert tool[0].endswith('tools/train.py')
    assert tool[1:] == ['cfg.py', '--work-dir', 'work_dirs/x', '--launcher',
                        'slurm', '--amp']

    subprocess.run(['bash', str(TOOLS / 'slurm_train.sh'), 'gpu', 'job',
                    'cfg.py', '--amp'], env=env, check=True)
    tool = record.read_text().splitlines()
    assert tool[tool.index('-u') + 2:] == ['cfg.py', '--launcher', 'slurm',
                                           '--amp']

    subprocess.run(['bash', str(TOOLS / 'slurm_test.sh'), 'gpu', 'job',
                    'cfg.py', 'ckpt.pth', '--out', 'r.pkl'], env=env,
                   check=True)
    tool = record.read_text().splitlines()
    assert tool[tool.index('-u') + 1].endswith('tools/test.py')
    assert tool[tool.index('-u') + 2:] == [
        'cfg.py', 'ckpt.pth', '--launcher', 'slurm', '--out', 'r.pkl'
    ]


# ---- argument handling, in-process (no training) ---------------------------
@pytest.fixture(scope='module')
def train_tool():
    return load_tool('train')


def merged_train_cfg(train_tool, *argv):
    args = train_tool.parse_args([str(TOY_CONFIG), *argv])
    return train_tool.merge_args(Config.fromfile(args.config), args)


def test_train_defaults_and_resume_forms(train_tool, tmp_path):
    cfg = merged_train_cfg(train_tool)
    assert cfg.work_dir == './work_dirs/toy_regression_config'
    assert cfg.launcher == 'none' and cfg.resume is False

    cfg = merged_train_cfg(train_tool, '--resume')
    assert cfg.resume is True and cfg.load_from is None
    checkpoint = tmp_path / 'epoch_3.pth'
    checkpoint.write_bytes(b'')
    cfg = merged_train_cfg(train_tool, '--resume', str(checkpoint),
                           '--work-dir', 'w', '--cfg-options',
                           'work_dir=ignored', 'train_cfg.max_epochs=7')
    assert cfg.resume is True and cfg.load_from == str(checkpoint)
    assert cfg.work_dir == 'w' and cfg.train_cfg.max_epochs == 7
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        merged_train_cfg(train_tool, '--resume', str(tmp_path / 'missing.pth'))


def test_train_amp_switches_optim_wrapper(train_tool):
    cfg = merged_train_cfg(train_tool, '--amp')
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.optim_wrapper.loss_scale == 'dynamic'
    if not torch.cuda.is_available():
        assert cfg.optim_wrapper.dtype == 'bfloat16'
    cfg = merged_train_cfg(train_tool, '--amp', '--cfg-options',
                           'optim_wrapper.dtype=float16')
    assert cfg.optim_wrapper.dtype == 'float16'  # the config's choice wins


def test_test_tool_out_suffix_and_existing_file(tmp_path):
    test_tool = load_tool('test')
    existing = tmp_path / 'metrics.json'
    existing.write_text('{"keep": 1}')
    with pytest.raises(SystemExit):
        test_tool.parse_args([str(TOY_CONFIG), 'c.pth', '--out',
                              str(existing)])
    assert existing.read_text() == '{"keep": 1}'
    with pytest.raises(SystemExit):
        test_tool.parse_args([str(TOY_CONFIG), 'c.pth', '--out', 'x.txt'])
    with pytest.raises(FileExistsError):
        test_tool.write_metrics({'toy/mse': 0.5}, str(existing))
    assert existing.read_text() == '{"keep": 1}'
    fresh = tmp_path / 'new' / 'metrics.json'
    test_tool.write_metrics({'toy/mse': torch.tensor(0.5)}, str(fresh))
    assert json.loads(fresh.read_text()) == {'toy/mse': 0.5}
    args = test_tool.parse_args(
        [str(TOY_CONFIG), 'c.pth', '--out', str(tmp_path / 'p.pkl')])
    cfg = test_tool.merge_args(Config.fromfile(args.config), args)
    assert cfg.load_from == 'c.pth' and cfg.resume is False
    assert [e['type'] for e in cfg.test_evaluator] == [
        'ToyMSEMetric', 'DumpResults'
    ]
