"""The README's first command, end to end on a handful of synthetic clips:
every stage runs through the real Runner and configs, and the report with its
tables and pictures is written. (``--smoke``: the numbers mean nothing.)"""
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.timeout(900)
def test_quickstart_smoke_writes_the_report(tmp_path):
    work_dir = tmp_path / 'quickstart'
    result = subprocess.run(
        [sys.executable, 'tools/quickstart.py', '--smoke', '--work-dir',
         str(work_dir), '--data-root', str(tmp_path / 'toy'), '--workers',
         '1'],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    report = (work_dir / 'report.md').read_text()
    for section in ('## Headline', '## Targets', '## Zero-shot retrieval',
                    '## Linear probing', '## Sound-prompted segmentation',
                    '## Temporal segmentation', '## Figures'):
        assert section in report
    for picture in ('loss_curves.png', 'reconstruction.png',
                    'temporal_cav_mae_sync.png', 'temporal_cav_mae.png'):
        assert (work_dir / picture).stat().st_size > 1000
        assert f']({picture})' in report
    assert list((work_dir / 'segmentation' / 'cav_mae_sync' /
                 'heatmaps').glob('*.png'))

    summary = json.loads((work_dir / 'report.json').read_text())
    sync = summary['retrieval']['CAV-MAE Sync']['all frames']
    assert set(sync) == {f'{d}_{s}' for d in ('v2a', 'a2v') for s in (
        'diagonal_mean', 'diagonal_max', 'block_mean', 'block_max')}
    assert 0 <= summary['probe_mAP'] <= 100
    assert set(summary['segmentation']) == {'CAV-MAE Sync', 'centre prior'}
