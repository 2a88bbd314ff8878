"""tools/analysis_tools/gpu_report.sh / gpu_report.py: the no-GPU path and
--help through the shell script, the MFU arithmetic, the peak table, the
table printing, and every measurement of the report on the CPU with a tiny
model (the GPU run itself: ``test_quick_report_on_the_gpu``)."""
import importlib.util
import json
import os
import subprocess
import sys

import pytest
import torch

from repo_paths import REPO_ROOT
from tiny_av import tiny_model

ANALYSIS = REPO_ROOT / 'tools' / 'analysis_tools'
SCRIPT = ANALYSIS / 'gpu_report.sh'


def load(name):
    spec = importlib.util.spec_from_file_location(
        f'cavsync_tool_{name}', ANALYSIS / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(ANALYSIS))  # benchmark_train imports get_flops
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(ANALYSIS))
    return module


def run_script(*args, env=None, timeout=120):
    env = dict(os.environ, PYTHON=sys.executable, OMP_NUM_THREADS='1',
               **(env or {}))
    return subprocess.run(['bash', str(SCRIPT), *args], env=env,
                          capture_output=True, text=True, timeout=timeout,
                          cwd=REPO_ROOT)


def test_without_a_gpu_it_says_so_and_exits_0():
    report = load('gpu_report')
    result = run_script(env=dict(CUDA_VISIBLE_DEVICES=''))
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == report.NO_GPU_MESSAGE
    assert 'no CUDA GPU found' in report.NO_GPU_MESSAGE


def test_help_lists_the_options():
    result = run_script('--help')
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.startswith('usage: gpu_report.py')
    for option in ('--quick', '--batch-size', '--no-compile', '--tf32',
                   '--time-budget', '--faiss-vectors'):
        assert option in result.stdout


def test_arguments_default_to_the_vit_b_config_and_quick_shrinks_them():
    report = load('gpu_report')
    args = report.parse_args([])
    assert args.config == str(REPO_ROOT / 'configs' / 'cavsync_as2m.py')
    assert os.path.isfile(args.config)
    assert (args.batch_size, args.precisions, args.no_compile,
            args.device) == (64, ['fp32', 'fp16', 'bf16'], False, 'cuda')
    quick = report.parse_args(['--quick', '--precisions', 'bf16'])
    assert (quick.batch_size, quick.steps, quick.faiss_vectors,
            quick.precisions) == (4, 2, 10_000, ['bf16'])


def test_mfu_arithmetic():
    report = load('gpu_report')
    # 8.7 TFLOPs a step in 20 ms: 435 TFLOP/s, 43.97 % of 989.4
    achieved, fraction = report.mfu(8.7e12, 0.02, 989.4)
    assert achieved == pytest.approx(435.0)
    assert fraction == pytest.approx(435.0 / 989.4)
    assert report.mfu(8.7e12, 0.02, None) == (pytest.approx(435.0), None)
    assert report.mfu(None, 0.02, 989.4) == (None, None)
    assert report.mfu(1e12, 0.0, 989.4) == (None, None)


def test_peak_table_by_device_name():
    peak = load('benchmark_train').peak_tflops
    for name in ('NVIDIA H100 80GB HBM3', 'NVIDIA H200', 'NVIDIA H100 SXM5'):
        assert (peak(name, 'bfloat16'), peak(name, 'float16'),
                peak(name, 'tfloat32'), peak(name, 'float32')) == (
                    989.4, 989.4, 494.7, 66.9), name
    assert (peak('NVIDIA A100-SXM4-80GB', 'bfloat16'),
            peak('NVIDIA A100-PCIE-40GB', 'float32')) == (312.0, 19.5)
    # other parts (lower peaks) and other GPUs: unknown
    for name in ('NVIDIA H100 PCIe', 'NVIDIA H100 NVL', 'Tesla T4', 'cpu'):
        assert peak(name, 'bfloat16') is None, name


def test_table_prints_every_row_with_n_a_and_dashes():
    report = load('gpu_report')
    rows = [
        report.Row('train step', 'bf16', True, '64 clips', 0.02, 3200.,
                   'clips/s', 435., 0.4397, 21.5, 'compile + first step 60 s'),
        report.Row('train step', 'fp32', False, '64 clips', 0.25, 256.,
                   'clips/s', 34.8, None, 30.25, 'first step 1.0 s'),
        report.Row('train step', 'fp16', True,
                   note='skipped: would not end within the 450 s budget'),
        report.Row('faiss GpuIndexFlatIP', note='faiss not installed'),
    ]
    lines = report.format_table(rows).splitlines()
    assert len(lines) == 2 + len(rows)
    assert lines[0].count('|') == lines[1].count('|') == 11
    assert lines[2] == ('| train step | bf16 | yes | 64 clips | 0.0200 '
                        '| 3,200.0 clips/s | 435.0 | 44.0 % | 21.50 '
                        '| compile + first step 60 s |')
    assert '| 34.8 | n/a | 30.25 |' in lines[3]
    assert lines[4] == ('| train step | fp16 | yes | - | - | - | - | - | - '
                        '| skipped: would not end within the 450 s budget |')
    assert lines[5].startswith('| faiss GpuIndexFlatIP | - | - | - |')


def test_every_measurement_runs_on_the_cpu_with_a_tiny_model(tmp_path,
                                                              capsys):
    config = tmp_path / 'tiny.py'
    config.write_text(
        "default_scope = 'cavsync_mm'\n"
        f'model = {tiny_model()!r}\n'
        "optim_wrapper = dict(optimizer=dict(type='Adam', lr=1e-3))\n")
    out = tmp_path / 'rows.json'
    report = load('gpu_report')
    assert report.main(['--device', 'cpu', '--quick', '--no-compile',
                        '--extract-frames', '2', '--config', str(config),
                        '--json-out', str(out)]) == 0
    printed = capsys.readouterr().out
    rows = json.loads(out.read_text())['rows']
    assert [(r['measurement'], r['precision']) for r in rows] == [
        ('train step', 'fp32'), ('train step', 'fp16'),
        ('train step', 'bf16'),
        ('feature extraction (encoder forward, T=2)', 'bf16'),
        ('faiss GpuIndexFlatIP', '-')]
    for row in rows[:3]:
        assert row['seconds'] > 0 and row['note'].startswith('first step')
        assert row['rate'] == pytest.approx(4 / row['seconds'])
        # FLOPs counted, no peak for a CPU: TFLOP/s but MFU n/a
        assert row['tflops'] > 0 and row['mfu'] is None
    assert rows[3]['rate'] == pytest.approx(2 / rows[3]['seconds'])
    assert 'GFLOPs per clip' in printed
    assert '| train step | fp32 | no | 4 clips |' in printed
    assert printed.count('| n/a |') == 3
    # a spent budget skips the rows, and the table says so
    assert report.main(['--device', 'cpu', '--quick', '--no-compile',
                        '--precisions', 'fp32', 'bf16', '--time-budget',
                        '0', '--config', str(config)]) == 0
    printed = capsys.readouterr().out
    assert printed.count('skipped: would not end within the 0 s') == 4
    assert '| feature extraction | bf16 | - | - |' in printed


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA GPU')
def test_quick_report_on_the_gpu():
    result = run_script('--quick', '--no-compile', timeout=280)
    assert result.returncode == 0, result.stderr[-3000:]
    table = [line for line in result.stdout.splitlines()
             if line.startswith('| train step |')]
    assert len(table) == 3 and not any('failed' in line for line in table)
    assert 'GiB' in result.stdout and 'clips/s' in result.stdout
