"""tools/analysis_tools/probe_study.py: the probe's settings are chosen on a
split carved from the training clips, never on the held-out clips."""
import importlib.util
import json

import pytest


@pytest.fixture(scope='module')
def probe_study(repo_root):
    spec = importlib.util.spec_from_file_location(
        'probe_study', repo_root / 'tools/analysis_tools/probe_study.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_carve_splits_training_clips_only(probe_study, tmp_path):
    entries = [dict(video_id=f'clip{i}', features=f'clip{i}.npz',
                    gt_label=[i % 3]) for i in range(10)]
    (tmp_path / 'index.json').write_text(json.dumps(
        dict(metainfo=dict(num_classes=3), data_list=entries)))
    probe_study.carve(str(tmp_path), 0.3, seed=1)
    fit = json.loads((tmp_path / 'fit_index.json').read_text())
    tune = json.loads((tmp_path / 'tune_index.json').read_text())
    fit_ids = [e['video_id'] for e in fit['data_list']]
    tune_ids = [e['video_id'] for e in tune['data_list']]
    assert len(tune_ids) == 3 and len(fit_ids) == 7
    assert sorted(fit_ids + tune_ids) == sorted(e['video_id']
                                                for e in entries)
    assert fit['metainfo'] == dict(num_classes=3)
    # the same seed carves the same split, another seed another one
    probe_study.carve(str(tmp_path), 0.3, seed=1)
    again = json.loads((tmp_path / 'tune_index.json').read_text())
    assert [e['video_id'] for e in again['data_list']] == tune_ids
    probe_study.carve(str(tmp_path), 0.3, seed=2)
    other = json.loads((tmp_path / 'tune_index.json').read_text())
    assert [e['video_id'] for e in other['data_list']] != tune_ids


def test_probe_config_applies_shortcuts(probe_study, tmp_path):
    name, overrides = probe_study.parse_setting(
        'a;modality=audio;token=patch;epochs=12;optim_wrapper.optimizer.lr=3e-4')
    assert name == 'a'
    cfg, source = probe_study.probe_config(
        overrides, 'fit.json', 'tune.json', str(tmp_path), seed=3)
    assert source == 'encoder'
    assert cfg.model.head.in_channels == 64  # one modality of width 64
    assert cfg.train_dataloader.dataset.modality == 'audio'
    assert cfg.test_dataloader.dataset.token == 'patch'
    assert cfg.train_dataloader.dataset.ann_file == 'fit.json'
    assert cfg.test_dataloader.dataset.ann_file == 'tune.json'
    assert cfg.optim_wrapper.optimizer.lr == 3e-4
    assert cfg.train_cfg.max_epochs == 12
    warmup, cosine = cfg.param_scheduler
    assert (cosine.begin, cosine.end, cosine.T_max) == (warmup.end, 12,
                                                        12 - warmup.end)
    assert cfg.randomness == dict(seed=3)
