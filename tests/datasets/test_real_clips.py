"""The two real clips of shared/data/real, read in place (never copied into
the repository); their CAV-MAE layout is extracted into tmp_path."""
import json

import pytest
import torch
from av_test_files import extract_cavmae_layout, use_cavsync_scope

from cavsync_mm.datasets import AudioVisualDataset

use_cavsync_scope()

CLIPS = {  # video_id: (height, width) of the real frames
    '00W1lcxW-WU_40.000': (144, 256),
    'KlsG1EnBEjc_000361': (720, 1280),
}
RAW_PIPELINE = [
    dict(type='LoadAudio'),
    dict(type='ComputeFbank'),
    dict(type='LoadFrames'),
]


@pytest.fixture(scope='module')
def layouts(real_data_dir, tmp_path_factory):
    """Datafiles of both layouts for the real clips (frames in tmp_path)."""
    root = tmp_path_factory.mktemp('real_layout')
    extracted, raw = [], []
    for video_id in CLIPS:
        video = str(real_data_dir / f'{video_id}.mp4')
        extracted.append(extract_cavmae_layout(video, root, 16, video_id))
        raw.append({'video_id': video_id, 'video': video})
    files = {}
    for name, entries in (('extracted', extracted), ('raw', raw)):
        files[name] = str(root / f'{name}.json')
        with open(files[name], 'w') as f:
            json.dump({'data': entries}, f)
    return dict(root=str(root), **files)


def _dataset(layouts, name, pipeline, **kwargs):
    return AudioVisualDataset(layouts[name], data_root=layouts['root'],
                              sampling='all_frames', pipeline=pipeline,
                              test_mode=True, **kwargs)


def test_real_clip_frames_and_fbank_shapes(layouts):
    dataset = _dataset(layouts, 'raw', RAW_PIPELINE)
    for k, (video_id, shape) in enumerate(CLIPS.items()):
        results = dataset[k]
        assert results['video_id'] == video_id
        assert results['audio_duration'] == pytest.approx(10.0, abs=0.02)
        assert results['fbank'].shape == (1024, 128)
        assert results['fbank_num_frames'] in (998, 999)  # AAC padding
        assert len(results['imgs']) == 16
        assert {img.shape for img in results['imgs']} == {shape + (3, )}


@pytest.mark.parametrize('rounding,spec_length,expected', [
    ('floor', None, {0: (0, 416), 7: (240, 656), 15: (608, 1024)}),
    ('round', None, {0: (0, 416), 7: (240, 656), 15: (608, 1024)}),
    # S = the 998 frames of real audio: 7 * 998 / 16 = 436.625
    ('floor', 998, {0: (0, 416), 7: (228, 644), 15: (582, 998)}),
    ('round', 998, {0: (0, 416), 7: (229, 645), 15: (582, 998)}),
])
def test_real_clip_segment_boundaries(layouts, rounding, spec_length,
                                      expected):
    pipeline = RAW_PIPELINE[:2] + [
        dict(type='FrameAlignedSegments', rounding=rounding,
             spec_length=spec_length)
    ]
    results = _dataset(layouts, 'extracted', pipeline)[1]
    fbank, audio = results['fbank'], results['audio']
    assert audio.shape == (16, 416, 128)
    for i, (start, end) in expected.items():
        assert results['audio_segments'][i] == (start, end)
        assert torch.equal(audio[i], fbank[start:end])


def test_raw_video_and_extracted_layout_agree(layouts):
    raw = _dataset(layouts, 'raw', RAW_PIPELINE)
    extracted = _dataset(layouts, 'extracted', RAW_PIPELINE)
    for k in range(len(CLIPS)):
        a, b = raw[k], extracted[k]
        real = slice(0, 998)
        diff = (a['fbank'][real] - b['fbank'][real]).abs()
        # the extracted wav is 16-bit PCM of the same waveform
        assert float(diff.mean()) < 0.1
        assert float(diff[a['fbank'][real] > -5].max()) < 0.1
        for img_a, img_b in zip(a['imgs'], b['imgs']):
            mean_abs = abs(img_a.astype(float) - img_b.astype(float)).mean()
            assert mean_abs < 3.0  # jpg quality 95
