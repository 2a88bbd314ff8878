"""AudioVisualDataset: parsing, sampling modes, Runner dataloaders, configs,
mixup. Real mp4/wav/jpg files from the ``small_clips`` fixture."""
import os.path as osp

import numpy as np
import pytest
import torch
from av_test_files import short_pipeline, use_cavsync_scope, write_json
from mmengine.config import Config
from mmengine.runner import Runner

from cavsync_mm.datasets import AudioVisualDataset, AudioVisualMixupDataset
from cavsync_mm.registry import DATASETS

use_cavsync_scope()
REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DATASET_CONFIGS = osp.join(REPO, 'configs', '_base_', 'datasets')


def test_vggsound_template_parses_as_it_is(real_data_dir):
    dataset = AudioVisualDataset(
        str(real_data_dir / 'vgg_test_5_per_class_for_retrieval_template.json'),
        data_root='/data/vggsound', path_placeholder='<YOUR_VGGS_PATH>',
        label_file=str(real_data_dir / 'class_labels_indices_vgg.csv'),
        sampling='all_frames', lazy_init=False)
    assert len(dataset) == 1545
    info = dataset.get_data_info(0)
    assert info['video_id'] == 'glLQrEijrKg_000300'
    assert info['audio_path'] == \
        '/data/vggsound/audio/glLQrEijrKg_000300.wav'
    assert info['frame_dir'] == '/data/vggsound/frames/'
    assert info['label_ids'] == ['vgg_47'] and info['gt_label'] == [47]
    assert dataset.metainfo['num_classes'] == 309
    assert dataset.metainfo['classes'][1] == 'basketball bounce'
    assert dataset.get_cat_ids(0) == [47]


def test_placeholder_without_data_root_is_an_error(real_data_dir):
    with pytest.raises(ValueError, match=r"field 'wav'.*placeholder "
                       "'<YOUR_VGGS_PATH>'; set data_root"):
        AudioVisualDataset(
            str(real_data_dir /
                'vgg_test_5_per_class_for_retrieval_template.json'),
            path_placeholder='<YOUR_VGGS_PATH>')


def test_multi_label_entries_and_extra_keys(tmp_path):
    csv = tmp_path / 'labels.csv'
    csv.write_text('index,mid,display_name\n0,/m/a,"A, a"\n1,/m/b,B\n'
                   '2,/m/c,C\n')
    entries = [dict(video_id='x', wav='audio/x.wav', video_path='frames',
                    labels='/m/c,/m/a', frame_labels=[0, -1], note='kept')]
    dataset = AudioVisualDataset(write_json(tmp_path / 'd.json', entries),
                                 data_root=str(tmp_path), label_file='labels.csv')
    info = dataset.get_data_info(0)
    assert info['gt_label'] == [2, 0] and info['num_classes'] == 3
    assert info['frame_labels'] == [0, -1] and info['note'] == 'kept'
    assert info['audio_path'] == osp.join(str(tmp_path), 'audio/x.wav')
    assert dataset.metainfo['classes'] == ('A, a', 'B', 'C')


def test_sampling_modes_choose_frames(small_clips):
    seen = set()
    for sampling, expected in (('middle_frame', [[8]]),
                               ('all_frames', [list(range(16))])):
        dataset = AudioVisualDataset(small_clips['videos_json'],
                                     data_root=small_clips['root'],
                                     sampling=sampling)
        assert [dataset.choose_frames()] == expected
    dataset = AudioVisualDataset(small_clips['videos_json'],
                                 data_root=small_clips['root'], num_frames=5)
    np.random.seed(0)
    for _ in range(60):
        (i, ) = dataset.choose_frames()
        seen.add(i)
    assert seen == set(range(5))
    with pytest.raises(ValueError, match='sampling must be one of'):
        AudioVisualDataset(small_clips['videos_json'], sampling='first')


def test_directory_scan_has_no_labels(small_clips):
    dataset = AudioVisualDataset(osp.join(small_clips['root'], 'videos'),
                                 sampling='middle_frame',
                                 pipeline=short_pipeline(crop=16))
    assert [dataset.get_data_info(k)['video_id'] for k in range(3)] == \
        ['clip0', 'clip1', 'clip2']
    sample = dataset[2]
    assert sample['data_samples'].video_id == 'clip2'
    assert 'gt_label' not in sample['data_samples']
    assert sample['inputs']['frames'].shape == (3, 16, 16)


def test_both_layouts_give_the_same_sample(small_clips):
    samples = []
    for ann in (small_clips['frames_json'], small_clips['videos_json']):
        dataset = AudioVisualDataset(ann, data_root=small_clips['root'],
                                     label_file=small_clips['labels_csv'],
                                     sampling='all_frames',
                                     pipeline=short_pipeline(crop=16))
        samples.append(dataset[1])
    extracted, raw = samples
    for sample in samples:
        assert sample['inputs']['audio'].shape == (16, 416, 128)
        assert sample['inputs']['frames'].shape == (16, 3, 16, 16)
        assert sample['data_samples'].gt_label.tolist() == [1]
    diff = (extracted['inputs']['audio'] - raw['inputs']['audio']).abs()
    # the wav is 16-bit PCM: quantisation shows only in near-empty Mel bins
    assert float(diff.mean()) < 0.02
    loud = raw['inputs']['audio'] > 0  # bins above the AudioSet mean
    assert float(diff[loud].max()) < 0.01
    frame_diff = (extracted['inputs']['frames'].float() -
                  raw['inputs']['frames'].float()).abs()
    assert float(frame_diff.mean()) < 2.0  # jpg quality 95
    assert raw['data_samples'].gt_frame_labels.tolist() == list(range(16))


@pytest.mark.parametrize('num_workers', [0, 2])
@pytest.mark.parametrize('layout', ['frames_json', 'videos_json'])
def test_runner_builds_and_iterates_dataloaders(small_clips, layout,
                                                num_workers):
    for sampling, audio_shape, frame_shape in (
            ('random_frame', (2, 416, 128), (2, 3, 16, 16)),
            ('all_frames', (2, 16, 416, 128), (2, 16, 3, 16, 16))):
        cfg = dict(
            batch_size=2, num_workers=num_workers,
            sampler=dict(type='DefaultSampler', shuffle=True),
            dataset=dict(type='AudioVisualDataset',
                         ann_file=small_clips[layout],
                         data_root=small_clips['root'],
                         label_file=small_clips['labels_csv'],
                         sampling=sampling, pipeline=short_pipeline(crop=16)))
        loader = Runner.build_dataloader(cfg, seed=0)
        batches = list(loader)
        assert len(batches) == 2
        batch = batches[0]
        assert torch.stack(batch['inputs']['audio']).shape == audio_shape
        frames = torch.stack(batch['inputs']['frames'])
        assert frames.shape == frame_shape and frames.dtype == torch.uint8
        ids = [s.video_id for b in batches for s in b['data_samples']]
        assert sorted(ids) == ['clip0', 'clip1', 'clip2']


@pytest.mark.parametrize('name', [
    'toy_pretrain', 'toy_multiframe', 'audioset_pretrain', 'vggsound_pretrain',
    'audioset_retrieval', 'vggsound_retrieval'
])
def test_dataset_configs_build_on_small_clips(small_clips, name):
    cfg = Config.fromfile(osp.join(DATASET_CONFIGS, f'{name}.py'))
    assert cfg.test_dataloader.dataset.type == 'AudioVisualDataset'
    stages = [stage for stage in ('train_dataloader', 'test_dataloader')
              if stage in cfg]
    for stage in stages:
        loader_cfg = cfg[stage].copy()
        loader_cfg.update(batch_size=3, num_workers=0,
                          persistent_workers=False)
        loader_cfg.dataset.update(ann_file=small_clips['frames_json'],
                                  data_root=small_clips['root'],
                                  label_file=small_clips['labels_csv'])
        loader = Runner.build_dataloader(loader_cfg, seed=0)
        batch = next(iter(loader))
        audio = batch['inputs']['audio'][0]
        assert audio.shape[-2:] == (416, 128)
        multi = cfg[stage].dataset.sampling == 'all_frames'
        assert audio.dim() == (3 if multi else 2)


def test_vggsound_retrieval_config_reads_the_template(real_data_dir):
    cfg = Config.fromfile(osp.join(DATASET_CONFIGS, 'vggsound_retrieval.py'))
    dataset_cfg = cfg.test_dataloader.dataset
    dataset_cfg.update(
        data_root='/data/vggsound',
        ann_file=str(real_data_dir /
                     'vgg_test_5_per_class_for_retrieval_template.json'),
        label_file=str(real_data_dir / 'class_labels_indices_vgg.csv'))
    dataset = DATASETS.build(dataset_cfg)
    assert len(dataset) == 1545 and dataset.sampling == 'all_frames'
    assert dataset.get_data_info(3)['audio_path'].startswith(
        '/data/vggsound/audio/')


def test_mixup_mixes_waveform_frames_and_labels(small_clips):
    load = short_pipeline(crop=16, pack=False)
    inner = dict(type='AudioVisualDataset',
                 ann_file=small_clips['videos_json'],
                 data_root=small_clips['root'],
                 label_file=small_clips['labels_csv'], sampling='all_frames',
                 pipeline=[load[0], load[4], load[5], load[6]])
    after = [load[1], load[2], load[3], dict(type='PackAudioVisualInputs')]
    dataset = AudioVisualMixupDataset(inner, after, alpha=10.0, prob=1.0)
    assert len(dataset) == 3 and dataset.metainfo['num_classes'] == 3
    first, second = dataset.dataset[0], dataset.dataset[2]
    mixed = dataset.mix(dict(first, imgs=list(first['imgs'])), second, 0.7)
    expected = 0.7 * first['waveform'] + 0.3 * second['waveform'][
        :len(first['waveform'])]
    np.testing.assert_allclose(mixed['waveform'], expected - expected.mean(),
                               atol=1e-6)
    np.testing.assert_allclose(
        mixed['imgs'][3], 0.7 * first['imgs'][3] + 0.3 * second['imgs'][3],
        atol=1e-4)
    np.testing.assert_allclose(mixed['gt_score'], [0.7, 0, 0.3], atol=1e-6)
    np.random.seed(1)
    sample = dataset[0]
    meta = sample['data_samples']
    lam, other = meta.mixup_lambda, meta.mixup_video_id
    assert 0 < lam < 1
    expected = torch.zeros(3)
    expected[0] += lam
    expected[int(other[-1])] += 1 - lam
    torch.testing.assert_close(meta.gt_score, expected)
    assert sample['inputs']['audio'].shape == (16, 416, 128)
    assert sample['inputs']['frames'].dtype == torch.uint8
