"""tools/data/compute_fbank_stats.py against a direct computation."""
import json
import os.path as osp

import numpy as np
import pytest
import soundfile as sf
import torch
import torchaudio
from tool_loader import load_tool

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


fbank_stats = load_tool('compute_fbank_stats')


def direct_fbank(path):
    """Read, remove the mean, Kaldi fbank, zero-pad/cut to 1024 frames."""
    samples, rate = sf.read(path, dtype='float32')
    assert rate == 16000
    waveform = torch.from_numpy(samples - samples.mean())[None]
    fbank = torchaudio.compliance.kaldi.fbank(
        waveform, htk_compat=True, sample_frequency=16000, use_energy=False,
        window_type='hanning', num_mel_bins=128, dither=0.0, frame_shift=10,
        frame_length=25).double()
    pad = 1024 - fbank.shape[0]
    return torch.nn.functional.pad(fbank, (0, 0, 0, pad))[:1024].numpy()


@pytest.fixture
def tiny_set(tmp_path):
    rng = np.random.default_rng(0)
    t = np.arange(16000 * 3) / 16000
    clips = {  # different lengths: one padded to 1024 frames, one cut
        'tone': 0.3 * np.sin(2 * np.pi * 440 * t[:16000 * 2]),
        'noise': 0.05 * rng.standard_normal(16000 * 11),
        'chirp': 0.5 * np.sin(2 * np.pi * (200 + 300 * t) * t),
    }
    (tmp_path / 'audio').mkdir()
    entries = []
    for name, samples in clips.items():
        sf.write(tmp_path / 'audio' / f'{name}.wav', samples, 16000)
        entries.append(dict(video_id=name, wav=f'<YOUR_DATA_PATH>/audio/{name}.wav',
                            video_path='frames', labels=''))
    datafile = tmp_path / 'train.json'
    datafile.write_text(json.dumps({'data': entries}))
    paths = [str(tmp_path / 'audio' / f'{n}.wav') for n in clips]
    return str(datafile), paths


def test_pooled_stats_match_direct_computation(tiny_set, tmp_path, capsys):
    datafile, paths = tiny_set
    fbanks = [direct_fbank(p) for p in paths]
    every_value = np.concatenate([f.ravel() for f in fbanks])
    out = tmp_path / 'stats.json'
    assert fbank_stats.main([datafile, '--out', str(out)]) == 0
    result = json.loads(out.read_text())
    assert result['num_clips'] == 3
    np.testing.assert_allclose(result['mean'], every_value.mean(), rtol=1e-6)
    np.testing.assert_allclose(result['std'], every_value.std(), rtol=1e-6)
    assert f"mean={every_value.mean():.4f}" in capsys.readouterr().out


def test_per_clip_average_and_workers(tiny_set, tmp_path):
    datafile, paths = tiny_set
    fbanks = [direct_fbank(p) for p in paths]
    out = tmp_path / 'stats.json'
    assert fbank_stats.main([datafile, '--per-clip-average', '--workers', '2',
                             '--out', str(out)]) == 0
    result = json.loads(out.read_text())
    np.testing.assert_allclose(result['mean'], np.mean([f.mean() for f in fbanks]),
                               rtol=1e-6)
    np.testing.assert_allclose(result['std'], np.mean([f.std() for f in fbanks]),
                               rtol=1e-6)


def test_max_clips_and_unreadable_clip(tiny_set, tmp_path):
    datafile, paths = tiny_set
    data = json.loads(open(datafile).read())
    data['data'].append(dict(video_id='broken', wav='audio/missing.wav',
                             video_path='frames', labels=''))
    with open(datafile, 'w') as f:
        json.dump(data, f)
    with pytest.raises(RuntimeError, match='clip broken: .*missing.wav'):
        fbank_stats.main([datafile])
    out = tmp_path / 'stats.json'
    assert fbank_stats.main([datafile, '--skip-errors', '--out', str(out)]) == 0
    result = json.loads(out.read_text())
    assert result['num_clips'] == 3 and result['skipped'] == ['broken']
    assert fbank_stats.main([datafile, '--max-clips', '2', '--skip-errors',
                             '--out', str(out)]) == 0
    assert json.loads(out.read_text())['num_clips'] + len(
        json.loads(out.read_text())['skipped']) == 2
