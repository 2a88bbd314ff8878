"""Stored fbank (tools/data/extract_av.py --store-fbank) on the real clips:
what the dataset reads equals what it computes, within float16 rounding."""
import json
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope

from cavsync_mm.datasets import AudioVisualDataset, AudioVisualMixupDataset
from cavsync_mm.datasets.errors import ClipError
from cavsync_mm.registry import TRANSFORMS
from tool_loader import load_tool

init_default_scope(TRANSFORMS.scope)


SEGMENT_PIPELINE = [dict(type='FrameAlignedSegments')]


@pytest.fixture(scope='module')
def extracted(real_data_dir, tmp_path_factory):
    out = str(tmp_path_factory.mktemp('stored_fbank'))
    rc = load_tool('extract_av').main(
        [str(real_data_dir), out, '--num-frames', '4', '--timeout', '0',
         '--relative-paths'])
    assert rc == 0
    return out


def dataset(out, use_stored, extra=(), **kwargs):
    pipeline = [dict(type='LoadAudio', use_stored_fbank=use_stored),
                dict(type='ComputeFbank')] + SEGMENT_PIPELINE + list(extra)
    return AudioVisualDataset(osp.join(out, 'datafile.json'), data_root=out,
                              num_frames=4, sampling='all_frames',
                              pipeline=pipeline, test_mode=True, **kwargs)


def test_datafile_names_the_stored_fbank(extracted):
    with open(osp.join(extracted, 'datafile.json')) as f:
        entries = json.load(f)['data']
    assert len(entries) == 2
    for entry in entries:
        array = np.load(osp.join(extracted, entry['fbank']))
        assert array.dtype == np.float16 and array.shape == (1024, 128)
        assert entry['fbank_num_frames'] in (998, 999)


def test_stored_segments_equal_computed_within_float16(extracted):
    stored, computed = dataset(extracted, True), dataset(extracted, False)
    for k in range(2):
        a, b = stored[k], computed[k]
        assert 'waveform' not in a and 'waveform' in b  # really read
        assert a['fbank_num_frames'] == b['fbank_num_frames']
        assert a['audio'].shape == b['audio'].shape == (4, 416, 128)
        assert a['audio_segments'] == b['audio_segments']
        # float16 keeps 11 significant bits: relative error <= 2^-11
        error = (a['audio'] - b['audio']).abs()
        bound = b['audio'].abs() * 2.0**-11 + 1e-6
        assert bool((error <= bound).all()), float((error - bound).max())
        assert float(error.max()) > 0  # float16, not the float32 fbank


@pytest.mark.parametrize('augment', [
    dict(type='RandomTimeShift'),
    dict(type='SpecAugment', freq_mask_param=24, time_mask_param=96),
])
def test_augmentations_act_alike_on_stored_fbank(extracted, augment):
    extra = [dict(type='NormalizeFbank'), augment]
    outputs = []
    for use_stored in (True, False):
        torch.manual_seed(3)
        np.random.seed(3)
        outputs.append(dataset(extracted, use_stored, extra)[0]['audio'])
    plain = dataset(extracted, True, extra[:1])[0]['audio']
    assert not torch.allclose(outputs[0], plain)  # it did something
    assert torch.allclose(outputs[0], outputs[1], atol=5e-3)


def test_stored_fbank_of_other_shape_is_refused(extracted):
    pipeline = [dict(type='LoadAudio'), dict(type='ComputeFbank',
                                             num_mel_bins=64)]
    data = AudioVisualDataset(osp.join(extracted, 'datafile.json'),
                              data_root=extracted, num_frames=4,
                              pipeline=pipeline, test_mode=True)
    with pytest.raises(ClipError, match=r"fbank.*\(1024, 128\).*\(1024, 64\)"):
        data[0]


def test_corrupt_stored_fbank_names_clip_and_field(extracted, tmp_path):
    with open(osp.join(extracted, 'datafile.json')) as f:
        entries = json.load(f)['data']
    broken = tmp_path / 'broken.npy'
    broken.write_bytes(open(osp.join(extracted, entries[0]['fbank']),
                            'rb').read()[:5000])  # truncated
    entries[0]['fbank'] = str(broken)
    datafile = tmp_path / 'datafile.json'
    datafile.write_text(json.dumps({'data': entries}))
    data = AudioVisualDataset(str(datafile), data_root=extracted,
                              num_frames=4, pipeline=[dict(type='LoadAudio')],
                              test_mode=True)
    with pytest.raises(ClipError) as info:
        data[0]
    assert info.value.clip == entries[0]['video_id']
    assert info.value.field == 'fbank' and 'broken.npy' in str(info.value)


def test_mixup_needs_waveforms(extracted):
    load = [dict(type='LoadFrames')]
    after = [dict(type='ComputeFbank'), dict(type='FrameAlignedSegments')]
    for use_stored in (True, False):
        mixup = AudioVisualMixupDataset(
            dataset=dict(type='AudioVisualDataset',
                         ann_file=osp.join(extracted, 'datafile.json'),
                         data_root=extracted, num_frames=4,
                         sampling='all_frames', test_mode=True,
                         pipeline=[dict(type='LoadAudio',
                                        use_stored_fbank=use_stored)] + load +
                         [dict(type='mmaction.Resize', scale=(32, 32),
                               keep_ratio=False)]),
            pipeline=after, prob=1.0)
        if use_stored:
            with pytest.raises(ClipError, match='use_stored_fbank=False'):
                mixup[0]
        else:
            assert mixup[0]['audio'].shape == (4, 416, 128)
