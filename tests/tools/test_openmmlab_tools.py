"""The OpenMMLab-style tools: publish_model, print_config, analyze_logs,
get_flops (+ benchmark_train), browse_dataset."""
import hashlib
import importlib.util
import json
import re
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer
from PIL import Image

from repo_paths import REPO_ROOT
from tiny_av import make_tiny_toy, tiny_model, tiny_pipeline

TOOLS = REPO_ROOT / 'tools'


def load(relative):
    path = TOOLS / relative
    name = 'cavsync_tool_' + relative.replace('/', '_')[:-3]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(path.parent))  # get_flops beside benchmark_train
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(path.parent))
    return module


def tiny_config(tmp_path, toy_root=None):
    dataset = dict(type='AudioVisualDataset', data_root=str(toy_root),
                   ann_file='train.json',
                   label_file='class_labels_indices.csv',
                   sampling='all_frames', num_frames=16,
                   pipeline=tiny_pipeline())
    path = tmp_path / 'tiny_config.py'
    path.write_text(
        "default_scope = 'cavsync_mm'\n"
        f'model = {tiny_model()!r}\n'
        f'train_dataloader = dict(dataset={dataset!r})\n'
        "optim_wrapper = dict(optimizer=dict(type='Adam', lr=1e-3))\n")
    return path


def test_publish_model_strips_and_names_by_sha256(tmp_path):
    hub = HistoryBuffer()
    hub.update(1.0)
    checkpoint = tmp_path / 'epoch_3.pth'
    torch.save(dict(state_dict={'w': torch.arange(4.)},
                    optimizer={'state': {}}, param_schedulers=[],
                    message_hub=dict(log_scalars={'train/loss': hub}),
                    meta=dict(epoch=3)), checkpoint)
    published = load('model_converters/publish_model.py').main(
        [str(checkpoint), str(tmp_path / 'cavsync_tiny.pth')])
    name = published.rsplit('/', 1)[-1]
    assert re.fullmatch(r'cavsync_tiny_\d{8}-[0-9a-f]{8}\.pth', name)
    with open(published, 'rb') as f:
        assert hashlib.sha256(f.read()).hexdigest()[:8] == name[-12:-4]
    loaded = torch.load(published, weights_only=True)
    assert sorted(loaded) == ['meta', 'state_dict']
    assert torch.equal(loaded['state_dict']['w'], torch.arange(4.))
    assert checkpoint.exists()  # the training checkpoint is kept


def test_print_config_merges_bases_and_options(tmp_path, capsys):
    config = tmp_path / 'mine.py'
    config.write_text("_base_ = 'cavsync_mm::cavsync/cavsync_vit-toy_1xb64-38e_toy.py'\n")
    load('misc/print_config.py').main(
        [str(config), '--cfg-options', 'train_dataloader.batch_size=3'])
    printed = capsys.readouterr().out
    assert "type='CAVMAESync'" in printed
    assert 'batch_size=3' in printed and 'batch_size=64' not in printed


def test_analyze_logs(tmp_path):
    run = tmp_path / 'run' / '20260101_000000' / 'vis_data'
    run.mkdir(parents=True)
    records = [dict(iter=i, loss=1.0 / i, time=t)
               for i, t in zip((5, 10, 15), (0.2, 0.4, 0.3))]
    (run / 'scalars.json').write_text(
        '\n'.join(json.dumps(r) for r in records))
    tool = load('analysis_tools/analyze_logs.py')
    timing = tool.main(['cal_train_time', str(tmp_path / 'run')])
    assert timing[str(tmp_path / 'run')] == pytest.approx(
        dict(mean=0.3, slowest=0.4, fastest=0.2))
    out = tmp_path / 'curve.png'
    tool.main(['plot_curve', str(run / 'scalars.json'), '--keys', 'loss',
               '--out', str(out)])
    with Image.open(out) as image:
        assert image.size[0] > 100
    with pytest.raises(SystemExit, match='no records'):
        tool.main(['plot_curve', str(tmp_path / 'run'), '--keys', 'nope',
                   '--out', str(tmp_path / 'x.png')])


def test_get_flops_counts_attention_exactly():
    """One attention layer: qkv + proj linears and the two attention
    products (N^2 d), counted by hand."""
    from mmengine.analysis import FlopAnalyzer

    from cavsync_mm.models.layers import MultiheadSelfAttention
    tool = load('analysis_tools/get_flops.py')
    tokens, dims = 10, 32
    analyzer = FlopAnalyzer(MultiheadSelfAttention(dims, 4),
                            (torch.randn(2, tokens, dims), ))
    analyzer.set_op_handle('aten::scaled_dot_product_attention',
                           tool.sdpa_macs)
    analyzer.unsupported_ops_warnings(False)
    linear = tokens * dims * 3 * dims + tokens * dims * dims
    attention = 2 * tokens * tokens * dims
    assert analyzer.total() == 2 * (linear + attention)


def test_get_flops_and_benchmark_train_run(tmp_path):
    config = tiny_config(tmp_path, tmp_path)
    flops = load('analysis_tools/get_flops.py').main([str(config)])
    assert flops['train_step_flops'] == 6 * flops['forward_macs'] > 0
    double = load('analysis_tools/get_flops.py').main(
        [str(config), '--batch-size', '2'])
    # linear in the batch but for the N x N contrastive similarities
    assert double['forward_macs'] == pytest.approx(
        2 * flops['forward_macs'], rel=1e-3)
    assert double['forward_macs'] > 2 * flops['forward_macs']
    result = subprocess.run(
        [sys.executable, str(TOOLS / 'analysis_tools' / 'benchmark_train.py'),
         str(config), '--steps', '1', '--warmup', '0', '--threads', '1'],
        capture_output=True, text=True, timeout=240, cwd=REPO_ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'median step:' in result.stdout


def test_browse_dataset_writes_one_picture_per_sample(tmp_path):
    toy = tmp_path / 'toy'
    make_tiny_toy(toy, num_clips=2, val_clips=1)
    config = tiny_config(tmp_path, toy)
    tool = load('visualization/browse_dataset.py')
    out = tmp_path / 'browse'
    written = tool.main([str(config), '--output-dir', str(out),
                         '--show-number', '2'])
    assert len(written) == 2
    for path in written:
        picture = np.asarray(Image.open(path))
        assert picture.shape[0] > 100 and picture.shape[1] > 16 * 32
    with pytest.raises(SystemExit, match='exists'):
        tool.main([str(config), '--output-dir', str(out),
                   '--show-number', '1'])
