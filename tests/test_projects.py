"""projects/: each example runs from its README's command on synthetic clips."""
import json
import os
import subprocess
import sys
from glob import glob

from repo_paths import REPO_ROOT
from tiny_av import make_tiny_toy

SED = 'projects/sound_event_classification/configs/' \
    'cavsync-audio-tiny_1xb32-10e_toy-sed.py'


def test_sound_event_classification_trains_and_scores(tmp_path):
    """mmpretrain's ImageClassifier + the cavsync_mm audio encoder, from the
    README's command (PYTHONPATH=repo root, tools/train.py), shrunk."""
    make_tiny_toy(tmp_path / 'toy')
    work_dir = tmp_path / 'work'
    options = {
        'model.head.num_classes': 2,
        'train_dataloader.dataset.data_root': tmp_path / 'toy',
        'val_dataloader.dataset.data_root': tmp_path / 'toy',
        'train_cfg.max_epochs': 2, 'train_cfg.val_interval': 2,
        'train_dataloader.batch_size': 4, 'val_dataloader.batch_size': 4,
        'train_dataloader.num_workers': 0, 'val_dataloader.num_workers': 0,
        'train_dataloader.persistent_workers': False,
        'val_dataloader.persistent_workers': False,
    }
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), OMP_NUM_THREADS='1')
    result = subprocess.run(
        [sys.executable, 'tools/train.py', SED, '--work-dir', str(work_dir),
         '--cfg-options', *(f'{k}={v}' for k, v in options.items())],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (work_dir / 'epoch_2.pth').is_file()
    scalars = glob(str(work_dir / '*' / 'vis_data' / 'scalars.json'))
    assert len(scalars) == 1
    with open(scalars[0]) as f:
        records = [json.loads(line) for line in f]
    val = [r for r in records if 'multi-label/mAP' in r]
    assert len(val) == 1 and 0 < val[0]['multi-label/mAP'] <= 100
    assert any('loss' in r for r in records)
