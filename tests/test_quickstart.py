"""The README's first command, end to end on a handful of synthetic clips:
every stage runs through the real Runner and configs, and the report with its
tables and pictures is written. (``--smoke``: the numbers mean nothing, but
the report must say what its own stages measured.)"""
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import average_precision_score

REPO_ROOT = Path(__file__).resolve().parents[1]


def stage_metrics(stage_dir):
    """The metrics one stage's test run logged (MMEngine writes them to
    ``<work_dir>/<timestamp>/<timestamp>.json``)."""
    files = [p for p in stage_dir.glob('*/*.json') if p.stem == p.parent.name]
    assert len(files) == 1, files
    return json.loads(files[0].read_text().strip().splitlines()[-1])


def majority_map(cache_root):
    """mAP of a probe that scores every held-out clip with the training
    class frequencies (8 classes; classes without positives left out)."""
    def multi_hot(split):
        entries = json.loads((cache_root / split / 'index.json').read_text())
        labels = np.zeros((len(entries['data_list']), 8))
        for row, entry in zip(labels, entries['data_list']):
            row[entry['gt_label']] = 1
        return labels
    train, val = multi_hot('train'), multi_hot('val')
    scores = np.tile(train.mean(0), (len(val), 1))
    return 100 * np.mean([average_precision_score(val[:, k], scores[:, k])
                          for k in range(8) if val[:, k].any()])


def target_rows(report):
    """``{target: (measured text, verdict)}`` from the report's Targets table."""
    section = report.split('## Targets', 1)[1].split('\n## ', 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip('|').split('|')]
        if len(cells) == 3 and cells[0] not in ('target', '---'):
            rows[cells[0]] = (cells[1], cells[2])
    return rows


@pytest.mark.timeout(900)
def test_quickstart_smoke_writes_the_report(tmp_path):
    work_dir = tmp_path / 'quickstart'
    data_root = tmp_path / 'toy'
    result = subprocess.run(
        [sys.executable, 'tools/quickstart.py', '--smoke', '--work-dir',
         str(work_dir), '--data-root', str(data_root), '--workers', '1'],
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

    # ---- the verdicts and ratios, recomputed from the stages' own outputs
    num_val = len(json.loads((data_root / 'val.json').read_text())['data'])
    chance = 100 / num_val
    retrieval = work_dir / 'retrieval'
    sync = stage_metrics(retrieval / 'cav_mae_sync' / 'all_frames')
    sync_r1 = sync['retrieval/v2a_diagonal_mean_R@1']
    baseline = []  # CAV-MAE, every evaluation and strategy, V->A
    for evaluation in sorted((retrieval / 'cav_mae').iterdir()):
        metrics = stage_metrics(evaluation)
        for key in metrics:
            match = re.fullmatch(r'retrieval/v2a_(\w+?)_R@1', key)
            if match:
                prefix = f'retrieval/v2a_{match.group(1)}_'
                baseline.append(tuple(metrics[prefix + k] for k in (
                    'R@1', 'R@5', 'R@10')) + (-metrics[prefix + 'MedR'], ))
    assert len(baseline) >= 3  # middle frame, all frames, mean token
    best_r1 = max(baseline)[0]
    seg_sync = stage_metrics(work_dir / 'segmentation' / 'cav_mae_sync')
    seg_prior = stage_metrics(work_dir / 'segmentation' / 'centre_prior')
    seg_surgery = stage_metrics(work_dir / 'segmentation' / 'feature_surgery')
    sync_iou = seg_sync['sound_prompted_segmentation/mIoU']
    prior_iou = seg_prior['sound_prompted_segmentation/mIoU']
    probe_map = stage_metrics(work_dir / 'probe')['multi-label/mAP']
    majority = majority_map(work_dir / 'probe' / 'feature_cache')

    def verdict(ok):
        return 'met' if ok else '**missed**'
    ratio = (f'{sync_r1 / best_r1:.1f}x' if best_r1 > 0 else
             f'{sync_r1:.1f} % vs 0 % (no CAV-MAE query ranked its clip '
             'first)')
    sync_a2v = sync['retrieval/a2v_diagonal_mean_R@1']
    seg_ratio = sync_iou / max(prior_iou, 1e-9)
    expected = {  # issue 10's targets
        'V->A R@1 >= 25 %': (f'{sync_r1:.1f} %', verdict(sync_r1 >= 25)),
        'A->V R@1 >= 20 %': (f'{sync_a2v:.1f} %', verdict(sync_a2v >= 20)),
        'V->A R@1 >= 3x the best CAV-MAE evaluation': (
            ratio, verdict(sync_r1 >= 3 * best_r1 and sync_r1 > 0)),
        'segmentation mIoU >= 1.5x the centre prior': (
            f'{sync_iou:.1f} vs {prior_iou:.1f} ({seg_ratio:.2f}x)',
            verdict(sync_iou >= 1.5 * prior_iou)),
        'probe mAP >= 85': (
            f'{probe_map:.1f} (majority-class probe {majority:.1f})',
            verdict(probe_map >= 85)),
    }
    assert target_rows(report) == expected
    headline = report.split('## Headline', 1)[1].split('\n## ', 1)[0]
    assert (f'| CAV-MAE Sync | {sync_r1:.1f} | '
            f'{sync["retrieval/a2v_diagonal_mean_R@1"]:.1f} | {chance:.1f} |'
            ) in headline
    baseline_line, = [line for line in headline.splitlines()
                      if line.startswith('| CAV-MAE (best')]
    assert f') | {best_r1:.1f} | ' in baseline_line

    summary = json.loads((work_dir / 'report.json').read_text())
    rows = summary['retrieval']['CAV-MAE Sync']['all frames']
    assert set(rows) == {f'{d}_{s}' for d in ('v2a', 'a2v') for s in (
        'diagonal_mean', 'diagonal_max', 'block_mean', 'block_max')}
    for name, values in rows.items():
        assert values == [sync[f'retrieval/{name}_{k}']
                          for k in ('R@1', 'R@5', 'R@10', 'MedR')]
    assert summary['probe_mAP'] == pytest.approx(probe_map)
    assert summary['majority_mAP'] == pytest.approx(majority)
    assert summary['segmentation'] == {
        'CAV-MAE Sync': [seg_sync['sound_prompted_segmentation/mAP'],
                         sync_iou],
        'CAV-MAE Sync, feature surgery (non-default map)': [
            seg_surgery['sound_prompted_segmentation/mAP'],
            seg_surgery['sound_prompted_segmentation/mIoU']],
        'centre prior': [seg_prior['sound_prompted_segmentation/mAP'],
                         prior_iou]}


def test_encoder_overrides_reach_every_evaluation_config():
    """``--cfg-options model.backbone.X`` changes the encoder the quickstart's
    checkpoints hold; every evaluation config (retrieval, the localizer that
    wraps the whole model, the probe's encoder alone) must build that same
    encoder, or loading the checkpoint fails after the pretraining."""
    import importlib.util

    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from cavsync_mm.models.backbones import AudioVisualEncoder
    from cavsync_mm.registry import MODELS
    spec = importlib.util.spec_from_file_location(
        'cavsync_quickstart_tool', REPO_ROOT / 'tools' / 'quickstart.py')
    quickstart = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(quickstart)
    options = {'use_global_token': False, 'num_register_tokens': 4}
    init_default_scope('cavsync_mm')
    pretrain = Config.fromfile(
        str(REPO_ROOT / quickstart.MODELS['CAV-MAE Sync'][0]))
    pretrain.merge_from_dict(
        {f'model.backbone.{k}': v for k, v in options.items()})
    expected = {k: tuple(v.shape) for k, v in
                MODELS.build(pretrain.model).backbone.state_dict().items()}

    def encoder_keys(config, encoder_options=None):
        model = MODELS.build(
            quickstart.load_config(config, encoder_options).model)
        encoder, = [m for m in model.modules()
                    if isinstance(m, AudioVisualEncoder)]
        return {k: tuple(v.shape) for k, v in encoder.state_dict().items()}
    configs = (quickstart.MODELS['CAV-MAE Sync'][1],
               'configs/cavsync/benchmarks/vit-toy_sound-prompted-seg_toy.py',
               'configs/cavsync/benchmarks/vit-toy_temporal-probe_toy.py')
    assert encoder_keys(configs[0]) != expected  # without the overrides
    for config in configs:
        assert encoder_keys(config, options) == expected, config
