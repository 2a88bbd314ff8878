"""The audio front end (SPEC sec. 1): Kaldi fbank frame count, the fbank
with the paper's settings, cut / zero-pad to 1024 frames, normalisation, and
the loading transform's options, checked by value."""
import numpy as np
import pytest
import soundfile
import torch
import torchaudio
from paper_math import normalise_fbank

from cavsync_mm.datasets.errors import ClipError
from cavsync_mm.datasets.transforms import (ComputeFbank, LoadAudio,
                                            NormalizeFbank, kaldi_fbank,
                                            load_audio, num_fbank_frames)


def reference_fbank(waveform, rate=16000, bins=128):
    """The paper's settings spelled out: 25 ms Hanning window, 10 ms shift,
    htk_compat, no energy, no dither."""
    return torchaudio.compliance.kaldi.fbank(
        torch.as_tensor(waveform, dtype=torch.float32)[None], htk_compat=True,
        sample_frequency=rate, use_energy=False, window_type='hanning',
        num_mel_bins=bins, dither=0.0, frame_shift=10, frame_length=25)


def noise(samples, seed=0):
    return np.random.default_rng(seed).normal(0, 0.1, samples).astype(np.float32)


@pytest.mark.parametrize('rate', [16000, 8000])
def test_frame_count_is_kaldis(rate):
    window, shift = rate // 40, rate // 100   # 25 ms, 10 ms
    for samples in (0, window - 1, window, window + shift - 1, window + shift,
                    rate, 10 * rate - 1, 10 * rate):
        expected = 0 if samples < window else 1 + (samples - window) // shift
        assert num_fbank_frames(samples, rate) == expected
        if samples >= window:
            assert reference_fbank(noise(samples), rate).shape[0] == expected
    assert num_fbank_frames(160000) == 998  # a 10 s clip


def test_fbank_is_the_papers_cut_and_padded():
    wave = noise(5 * 16000 + 123)
    natural = reference_fbank(wave)
    frames = natural.shape[0]
    padded = kaldi_fbank(wave)
    assert padded.shape == (1024, 128) and padded.dtype == torch.float32
    torch.testing.assert_close(padded[:frames], natural)
    assert torch.all(padded[frames:] == 0)
    torch.testing.assert_close(kaldi_fbank(wave, target_length=None), natural)
    torch.testing.assert_close(kaldi_fbank(wave, target_length=100),
                               natural[:100])
    torch.testing.assert_close(kaldi_fbank(wave, 16000, 64, None),
                               reference_fbank(wave, bins=64))
    short = noise(399)  # less than one window
    assert torch.equal(kaldi_fbank(short), torch.zeros(1024, 128))
    assert kaldi_fbank(short, target_length=None).shape == (0, 128)


def test_compute_fbank_transform():
    wave = noise(3 * 8000 + 57, seed=1)
    out = ComputeFbank()(dict(waveform=wave, sample_rate=8000))
    torch.testing.assert_close(out['fbank'][:out['fbank_num_frames']],
                               reference_fbank(wave, 8000))
    assert out['fbank_num_frames'] == num_fbank_frames(len(wave), 8000) == 299
    out = ComputeFbank(num_mel_bins=40, target_length=None)(
        dict(waveform=wave, sample_rate=8000))
    assert out["fbank"].shape == (299, 40)
    assert ComputeFbank()(dict(waveform=noise(16000)))['fbank'].shape == \
        (1024, 128)   # sample rate 16 kHz when not given


def test_normalize_fbank_options():
    values = torch.linspace(-12, 3, 24).reshape(6, 4)
    out = NormalizeFbank()(dict(audio=values.clone(), fbank=values.clone()))
    np.testing.assert_allclose(out['audio'].numpy(),
                               normalise_fbank(values.numpy()), rtol=1e-6)
    torch.testing.assert_close(out['fbank'], values)  # only 'audio' by default
    out = NormalizeFbank(mean=1.0, std=2.0, keys=('fbank', ))(
        dict(audio=values.clone(), fbank=values.clone()))
    torch.testing.assert_close(out['fbank'], (values - 1) / 2)
    torch.testing.assert_close(out['audio'], values)
    for std in (0, -1):
        with pytest.raises(ValueError, match='std must be positive'):
            NormalizeFbank(std=std)


def test_load_audio_options(tmp_path):
    rate = 8000
    t = np.arange(rate) / rate
    left = (0.3 * np.sin(2 * np.pi * 200 * t) + 0.1).astype(np.float32)
    right = (0.2 * np.sin(2 * np.pi * 300 * t)).astype(np.float32)
    path = tmp_path / 'st.wav'
    soundfile.write(path, np.stack([left, right], 1), rate, subtype='FLOAT')
    mean = load_audio(str(path), sample_rate=rate)
    np.testing.assert_allclose(mean, (left + right) / 2, atol=1e-6)
    np.testing.assert_allclose(load_audio(str(path), rate, 'first'), left,
                               atol=1e-6)
    assert load_audio(str(path)).shape == (16000, )  # resampled to 16 kHz
    with pytest.raises(ValueError, match="mono must be 'mean' or 'first'"):
        load_audio(str(path), mono='last')
    with pytest.raises(FileNotFoundError, match='no such file'):
        load_audio(str(tmp_path / 'missing.wav'))
    bad = tmp_path / 'nan.wav'
    soundfile.write(bad, np.array([0.1, np.nan, 0.2] * 100, np.float32), rate,
                    subtype='FLOAT')
    with pytest.raises(ValueError, match='NaN or infinite'):
        load_audio(str(bad))

    loader = LoadAudio(sample_rate=rate)
    out = loader(dict(video_id='c', audio_path=str(path)))
    np.testing.assert_allclose(out['waveform'],
                               (left + right) / 2 - ((left + right) / 2).mean(),
                               atol=1e-6)
    assert (out['sample_rate'], out['audio_duration']) == (rate, 1.0)
    assert out['waveform'].dtype == np.float32
    kept = LoadAudio(rate, 'first', remove_mean=False)(
        dict(video_id='c', audio_path=str(path)))
    np.testing.assert_allclose(kept['waveform'], left, atol=1e-6)
    defaults = LoadAudio()
    assert (defaults.sample_rate, defaults.mono, defaults.remove_mean,
            defaults.allow_silent) == (16000, 'mean', True, False)
    with pytest.raises(ValueError, match='mono must be'):
        LoadAudio(mono='left')


def test_load_audio_transform_errors_name_clip_and_field(tmp_path):
    silent = tmp_path / 'silent.wav'
    soundfile.write(silent, np.zeros(8000, np.float32), 8000)
    with pytest.raises(ClipError, match="clip s1: field 'wav': audio in .* is "
                       'silent'):
        LoadAudio()(dict(video_id='s1', audio_path=str(silent)))
    out = LoadAudio(allow_silent=True)(dict(video_id='s1',
                                            audio_path=str(silent)))
    assert not np.any(out['waveform'])
    with pytest.raises(ClipError, match="clip m2: field 'video': cannot read "
                       'audio from .*nothing.mp4'):
        LoadAudio()(dict(video_id='m2', video_file=str(tmp_path / 'nothing.mp4')))
    with pytest.raises(ClipError, match="clip e3: field 'wav': the entry has "
                       "neither 'wav' nor 'video'"):
        LoadAudio()(dict(video_id='e3'))
    # a wav beside a video: the wav is read
    assert LoadAudio.audio_source(dict(audio_path='a.wav', video_file='b.mp4')) \
        == ('wav', 'a.wav')


def test_fbank_edges():
    """One frame exactly, one frame short of the target, 8 kHz windows,
    float64 input, the default rate and a small std."""
    one = noise(400)                          # exactly one 25 ms window
    torch.testing.assert_close(kaldi_fbank(one, target_length=None),
                               reference_fbank(one))
    wave = noise(16000)
    natural = reference_fbank(wave)           # 98 frames
    short_by_one = kaldi_fbank(wave, target_length=natural.shape[0] + 1)
    assert short_by_one.shape == (natural.shape[0] + 1, 128)
    assert torch.all(short_by_one[-1] == 0)
    at_8k = noise(300)                        # 2 frames at 8 kHz, none at 16
    torch.testing.assert_close(kaldi_fbank(at_8k, 8000, target_length=None),
                               reference_fbank(at_8k, 8000))
    as_float64 = kaldi_fbank(wave.astype(np.float64), target_length=None)
    assert as_float64.dtype == torch.float32
    torch.testing.assert_close(as_float64, natural)
    torch.testing.assert_close(
        ComputeFbank(target_length=None)(dict(waveform=wave))['fbank'], natural)
    torch.testing.assert_close(
        NormalizeFbank(mean=0.0, std=0.5)(dict(audio=torch.ones(2, 2)))['audio'],
        torch.full((2, 2), 2.0))
