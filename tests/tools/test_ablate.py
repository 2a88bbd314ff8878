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


def test_ablate_run_reads_its_own_clips(repo_root, tiny_clips, tmp_path):
    """The frames-per-clip preset's T = 10 run names its own clips
    (``data_root`` shortcut): it is cached, trained and evaluated on them,
    while ``--data-root`` stays the default of the other runs."""
    from cavsync_mm.datasets.synthetic import make_toy_dataset
    clips10 = tmp_path / 'toy_frames10'
    make_toy_dataset(str(clips10), num_clips=4, val_clips=3, seg_per_class=1,
                     workers=1, progress=False, num_frames=10)
    work = tmp_path / 'ablate'
    run = ('t10=configs/cavsync/cavsync_vit-toy-frames10_1xb64-38e_toy.py;'
           f'data_root={clips10};epochs=1;warmup_epochs=1;batch_size=2')
    result = _ablate(repo_root, run, '--seeds', '0', '--work-dir', str(work),
                     '--data-root', str(tiny_clips), '--no-segmentation')
    assert result.returncode == 0, result.stderr[-3000:]
    caches = sorted(p.name for p in (work / 'cache' / 'toy_frames10').iterdir())
    assert any(name.startswith('train_') and name.endswith('_T10')
               for name in caches), caches
    assert not (work / 'cache' / tiny_clips.name).exists()
    assert (work / 'runs' / 't10' / 'seed0.json').is_file()
    # the 16-frame clips are refused by the T = 10 config, not silently read
    wrong = _ablate(repo_root, run.replace(str(clips10), str(tiny_clips)),
                    '--work-dir', str(tmp_path / 'wrong'), '--no-segmentation')
    assert wrong.returncode != 0
    missing = _ablate(repo_root, run.replace(str(clips10), str(tmp_path / 'nope')),
                      '--work-dir', str(tmp_path / 'nope_work'))
    assert missing.returncode != 0
    assert "data_root" in missing.stderr and 'nope' in missing.stderr
