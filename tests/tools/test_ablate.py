"""tools/analysis_tools/ablate.py: pretraining + evaluation of configs x
seeds on synthetic clips, resumable, with a mean ± std table and a plot."""
import json
import os
import subprocess
import sys

import pytest


@pytest.fixture(scope='module')
def tiny_clips(tmp_path_factory):
    from cavsync_mm.datasets.synthetic import make_toy_dataset
    root = tmp_path_factory.mktemp('toy')
    make_toy_dataset(str(root), num_clips=4, val_clips=3, seg_per_class=1,
                     workers=1, progress=False)
    return root


def _ablate(repo_root, *args):
    env = dict(os.environ, PYTHONPATH=str(repo_root))
    return subprocess.run(
        [sys.executable, 'tools/analysis_tools/ablate.py', *args],
        cwd=repo_root, env=env, capture_output=True, text=True, timeout=600)


def test_ablate_runs_resumes_and_tabulates(repo_root, tiny_clips, tmp_path):
    work = tmp_path / 'ablate'
    run = ('tiny=configs/cavsync/cavsync_vit-toy_1xb64-38e_toy.py;epochs=2;warmup_epochs=1;'
           'batch_size=2;model.contrastive_loss.loss_weight=0.5')
    args = [run, '--seeds', '0', '1', '--work-dir', str(work),
            '--data-root', str(tiny_clips), '--save-checkpoints']
    result = _ablate(repo_root, *args)
    assert result.returncode == 0, result.stderr[-3000:]
    record = json.loads((work / 'runs' / 'tiny' / 'seed0.json').read_text())
    assert record['run']['overrides']['model.contrastive_loss.loss_weight'] \
        == 0.5
    assert record['results']['steps'] == 4  # 2 epochs x 4 clips / batch 2
    # warmup over the first epoch (2 steps) from 1e-2 x lr, then constant
    assert record['log'][0]['lr'] == pytest.approx(1e-5)
    for key in ('v2a_diagonal_mean_R@1', 'a2v_block_max_R@1', 'seg_mIoU',
                'seg_center_prior_mIoU'):
        assert 0 <= record['results'][key] <= 100
    assert (work / 'runs' / 'tiny' / 'seed1.pth').is_file()
    # the heatmap diagnostics replay the joint block on the saved model:
    # their 'paper' map scores what ablate's evaluation scored
    diagnostics = subprocess.run(
        [sys.executable, 'tools/analysis_tools/heatmap_diagnostics.py',
         '--work-dir', str(work), '--run', 'tiny', '--data-root',
         str(tiny_clips), '--out', str(tmp_path / 'diagnostics.json')],
        cwd=repo_root, env=dict(os.environ, PYTHONPATH=str(repo_root)),
        capture_output=True, text=True, timeout=600)
    assert diagnostics.returncode == 0, diagnostics.stderr[-3000:]
    maps = json.loads((tmp_path / 'diagnostics.json').read_text())['0']['maps']
    for name, key in (('paper', 'seg'), ('prior', 'seg_center_prior'),
                      ('surgery_paper', 'seg_feature_surgery')):
        assert maps[name]['mIoU'] == pytest.approx(
            record['results'][f'{key}_mIoU'], abs=1e-6)
    table = (work / 'results.md').read_text()
    assert '| tiny | 2 |' in table and '±' in table
    assert (work / 'results.png').stat().st_size > 0
    # resumable: a finished run is not trained again
    stamp = (work / 'runs' / 'tiny' / 'seed0.json').stat().st_mtime_ns
    again = _ablate(repo_root, *args)
    assert again.returncode == 0, again.stderr[-3000:]
    assert 'step 0' not in again.stdout
    assert (work / 'runs' / 'tiny' / 'seed0.json').stat().st_mtime_ns == stamp


def test_ablate_rejects_unknown_schedule(repo_root, tiny_clips, tmp_path):
    result = _ablate(repo_root, 'configs/cavsync/cavsync_vit-toy_1xb64-38e_toy.py;schedule=step',
                     '--work-dir', str(tmp_path), '--data-root',
                     str(tiny_clips))
    assert result.returncode != 0
    assert "decay must be 'cosine' or 'constant'" in result.stderr
