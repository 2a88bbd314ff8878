"""The audio readers checked sample for sample (issue 13, mutation testing).

Every file is written here, into tmp_path, with known integer samples in a
lossless codec (PCM / FLAC in Matroska and QuickTime, PCM wav), so what a
reader returns can be compared exactly with the samples that were written:
windows (``start`` / ``duration``, both rounded to the nearest sample), the
seek inside a container, channel order and mixing, the header durations, the
``LoadAudio`` fields and the stored-fbank path.
"""
import io
import tracemalloc

import av
import numpy as np
import pytest
import soundfile
import torch
import torchaudio

from cavsync_mm.datasets.errors import ClipError
from cavsync_mm.datasets.transforms import (ComputeFbank, LoadAudio,
                                            load_audio)
from cavsync_mm.datasets.transforms.audio import (compute_stored_fbank,
                                                  load_stored_fbank,
                                                  probe_audio_duration)

RATE = 8000
SECONDS = 3
PACKET = 1000  # samples per written frame: frame starts at k / 8 s


def samples(seconds=SECONDS, rate=RATE, seed=0):
    """int16 stereo, the two channels independent."""
    rng = np.random.default_rng(seed)
    return rng.integers(-20000, 20000, (2, seconds * rate)).astype(np.int16)


def as_float(ints):
    return ints.astype(np.float32) / 32768


def write_container(path, ints, rate=RATE, codec='pcm_s16le', fmt=None):
    """A lossless stereo audio-only container, ``PACKET`` samples a frame
    (``path`` a file object when ``fmt`` is given)."""
    with av.open(path if fmt else str(path), 'w', format=fmt) as container:
        stream = container.add_stream(codec, rate=rate)
        stream.layout = 'stereo'
        for first in range(0, ints.shape[1], PACKET):
            packed = np.ascontiguousarray(ints[:, first:first + PACKET].T)
            frame = av.AudioFrame.from_ndarray(packed.reshape(1, -1),
                                               format='s16', layout='stereo')
            frame.sample_rate, frame.pts = rate, first
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return str(path)


def write_wav(path, data, rate=RATE, subtype='PCM_16'):
    """``data``: (channels, samples) or (samples,)."""
    soundfile.write(str(path), np.asarray(data).T, rate, subtype=subtype)
    return str(path)


# (start, duration) in seconds -> sample window [round(s r), + round(d r)):
# 0.5 starts on a frame boundary (the seek lands exactly on it), 0.0101 in
# the first frame (the seek lands on 0), 1.2345 inside a frame, 1 / RATE one
# sample in; the starts and durations of x.6 samples round up, where int()
# would round down.
WINDOWS = [(0.0, None), (0.0, 1.0), (0.5, 1.0), (0.0101, 0.5),
           (1.2345, 0.77), (1000.6 / RATE, 500.6 / RATE), (1 / RATE, 0.5)]


def window(start, duration, rate=RATE):
    first = int(round(start * rate))
    stop = None if duration is None else first + int(round(duration * rate))
    return slice(first, stop)


@pytest.fixture(scope='module')
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp('readers')
    ints = samples()
    return ints, dict(
        mka=write_container(root / 'pcm.mka', ints),           # no stream
        mkv=write_container(root / 'flac.mkv', ints, codec='flac'),  # dur.
        mov=write_container(root / 'pcm.mov', ints),           # stream dur.
        wav=write_wav(root / 'pcm.wav', ints))


@pytest.mark.parametrize('kind', ['mka', 'mkv', 'mov', 'wav'])
def test_windows_are_the_written_samples(files, kind):
    ints, paths = files
    ref = as_float(ints)
    for start, duration in WINDOWS:
        cut = ref[:, window(start, duration)]
        mean = load_audio(paths[kind], RATE, 'mean', start, duration)
        assert mean.dtype == np.float32 and mean.flags['C_CONTIGUOUS']
        np.testing.assert_array_equal(mean, cut.mean(axis=0),
                                      err_msg=f'{kind} {start} {duration}')
        first = load_audio(paths[kind], RATE, 'first', start, duration)
        np.testing.assert_array_equal(first, cut[0])


def test_resampled_to_16k_is_torchaudios_resample(files):
    ints, paths = files
    expected = torchaudio.functional.resample(
        torch.from_numpy(as_float(ints).mean(axis=0)), RATE, 16000).numpy()
    for kind in ('mka', 'wav'):
        out = load_audio(paths[kind])  # 16 kHz by default
        assert out.shape == (SECONDS * 16000, )
        # exactly: the readers give float32 (resampling float64 differs)
        np.testing.assert_array_equal(out, expected)


def test_mono_wav_and_float_wav(tmp_path):
    mono = as_float(samples()[0])
    path = write_wav(tmp_path / 'mono.wav', mono, subtype='FLOAT')
    np.testing.assert_array_equal(load_audio(path, RATE), mono)
    np.testing.assert_array_equal(load_audio(path, RATE, 'first', 0.25, 0.5),
                                  mono[2000:6000])


def test_wav_flac_ogg_are_read_by_soundfile(tmp_path):
    """Whatever the case of the ending; other endings go through PyAV.
    (FFmpeg's Vorbis decoder differs from libvorbis by ~4e-7, so the reader
    shows in the values.)"""
    data = 0.3 * np.random.default_rng(4).standard_normal((2, 4000))
    path = str(tmp_path / 'LOUD.OGG')
    soundfile.write(path, data.T.astype(np.float32), RATE, format='OGG',
                    subtype='VORBIS')
    read, _ = soundfile.read(path, dtype='float32', always_2d=True)
    np.testing.assert_array_equal(load_audio(path, RATE), read.mean(axis=1))
    assert probe_audio_duration(path) == 0.5


def test_empty_file_is_refused(tmp_path):
    path = write_wav(tmp_path / 'empty.wav', np.zeros((2, 0), np.int16))
    with pytest.raises(ValueError, match='empty.wav holds no audio samples'):
        load_audio(path)
    one = write_wav(tmp_path / 'one.wav', np.full(1, 1000, np.int16))
    np.testing.assert_array_equal(load_audio(one, RATE), [1000 / 32768])


def test_streamed_container_without_durations(tmp_path):
    """Matroska written to a pipe has no duration in its headers: the
    probe says 0, LoadAudio reports the seconds it read and checks
    max_duration on them (it used to let any length through)."""
    ints = samples(1)

    class Pipe(io.RawIOBase):  # not seekable: the muxer cannot go back
        def __init__(self, file):
            self.file = file

        def writable(self):
            return True

        def write(self, data):
            return self.file.write(data)

    path = tmp_path / 'streamed.mka'
    with open(path, 'wb') as file:
        write_container(Pipe(file), ints, codec='flac', fmt='matroska')
    with av.open(str(path)) as container:
        assert container.duration is None
        assert container.streams.audio[0].duration is None
    assert probe_audio_duration(str(path)) == 0
    out = LoadAudio(RATE, remove_mean=False)(
        dict(video_id='p', video_file=str(path)))
    np.testing.assert_array_equal(out['waveform'],
                                  as_float(ints).mean(axis=0))
    assert out['clip_duration'] == out['audio_duration'] == 1.0
    # max_duration is still enforced, on what was decoded (at most 1 s more)
    loader = LoadAudio(RATE, remove_mean=False, max_duration=1.0)
    assert loader(dict(video_id='p', video_file=str(path)))[
        'audio_duration'] == 1.0
    with pytest.raises(ClipError, match=r"clip p: field 'video': .*more than "
                       r'max_duration=0\.9 s of audio \(the headers give no '
                       r'duration\)'):
        LoadAudio(RATE, max_duration=0.9)(dict(video_id='p',
                                              video_file=str(path)))
    # read_seconds shorter than that: only read_seconds are decoded
    head = LoadAudio(RATE, remove_mean=False, max_duration=0.25,
                     read_seconds=0.125)(dict(video_id='p',
                                              video_file=str(path)))
    np.testing.assert_array_equal(head['waveform'],
                                  as_float(ints).mean(axis=0)[:1000])


def test_header_durations(files, tmp_path):
    _, paths = files
    for kind in paths:  # mka/mkv: the container's, mov/wav: the stream's
        assert probe_audio_duration(paths[kind]) == SECONDS, kind
    odd = write_wav(tmp_path / 'odd.wav', np.zeros(12345, np.int16))
    assert probe_audio_duration(odd) == 12345 / RATE
    mov = write_container(tmp_path / 'odd.mov', samples()[:, :12345])
    assert probe_audio_duration(mov) == 12345 / RATE


def test_window_decoding_keeps_only_the_window(tmp_path):
    """A 1 s window 10 s into a 40 s container: the demuxer seeks to it and
    decoding stops after it, so the decoded samples held are about the
    window, not the 10 s before it nor the 29 s after it."""
    rate = 16000
    ints = samples(40, rate, seed=1)
    path = write_container(tmp_path / 'long.mka', ints, rate)
    tracemalloc.start()
    out = load_audio(path, rate, 'first', start=10.0, duration=1.0)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    np.testing.assert_array_equal(out, as_float(ints)[0, 160000:176000])
    # 1 s of float32 stereo is 128 kB; 10 s (no seek) is 1.3 MB
    assert peak < 700 * 1024, peak


def test_load_audio_fields_and_bounded_read(tmp_path):
    ints = samples()
    path = write_container(tmp_path / 'clip.mka', ints)
    results = dict(video_id='v', video_file=path)
    out = LoadAudio(RATE, read_seconds=1.2345)(dict(results))
    head = as_float(ints).mean(axis=0)[:9876]
    np.testing.assert_allclose(out['waveform'], head - head.mean(), atol=1e-7)
    assert out['sample_rate'] == RATE
    assert out['audio_duration'] == 9876 / RATE
    assert out['clip_duration'] == SECONDS  # the file's, not what was read
    # max_duration: a clip of exactly the limit is read
    full = LoadAudio(RATE, remove_mean=False, max_duration=3.0)(dict(results))
    np.testing.assert_array_equal(full['waveform'],
                                  as_float(ints).mean(axis=0))
    assert full['clip_duration'] == full['audio_duration'] == SECONDS
    with pytest.raises(ClipError, match=r"clip v: field 'video': .*3\.0 s of "
                       r'audio, more than max_duration=2\.9'):
        LoadAudio(RATE, max_duration=2.9)(dict(results))


def test_silence_threshold_is_strict(tmp_path):
    """Silent means a spread strictly below the threshold (1e-5 default)."""
    wave = np.tile(np.array([0.0, 0.5], np.float32), 4000)  # spread 0.5
    path = write_wav(tmp_path / 'half.wav', wave, subtype='FLOAT')
    results = dict(video_id='h', audio_path=path)
    out = LoadAudio(RATE, silence_threshold=0.5)(dict(results))
    np.testing.assert_array_equal(out['waveform'], wave - 0.25)
    with pytest.raises(ClipError, match='silent'):
        LoadAudio(RATE, silence_threshold=0.5000001)(dict(results))
    quiet = write_wav(tmp_path / 'quiet.wav', wave * 1.8e-5, subtype='FLOAT')
    with pytest.raises(ClipError, match='silent'):  # spread 9e-6 < 1e-5
        LoadAudio(RATE)(dict(video_id='q', audio_path=quiet))
    loud = write_wav(tmp_path / 'loud.wav', wave * 2.2e-5, subtype='FLOAT')
    assert LoadAudio(RATE)(dict(video_id='q', audio_path=loud))[
        'waveform'].shape == (8000, )


def test_stored_fbank_is_read_with_its_fields(tmp_path):
    wav = write_wav(tmp_path / 'a.wav', samples()[:, :12000])  # 1.5 s
    stored = np.linspace(-3, 3, 5 * 4).reshape(5, 4).astype(np.float16)
    npy = tmp_path / 'a.npy'
    np.save(npy, stored)
    base = dict(video_id='s', audio_path=wav, fbank_path=str(npy))
    out = LoadAudio(RATE)(dict(base, fbank_num_frames=3))
    assert out['fbank'].dtype == torch.float32 and 'waveform' not in out
    np.testing.assert_array_equal(out['fbank'].numpy(),
                                  stored.astype(np.float32))
    assert (out['fbank_num_frames'], out['sample_rate']) == (3, RATE)
    assert out['audio_duration'] == 0.03  # 10 ms a frame
    assert out['clip_duration'] == 1.5  # from the wav's header
    out = LoadAudio()(dict(base, audio_path=None))  # no wav beside it
    assert out['fbank_num_frames'] == 5
    assert out['clip_duration'] == out['audio_duration'] == 0.05
    assert LoadAudio(max_duration=1.5)(dict(base))['clip_duration'] == 1.5
    with pytest.raises(ClipError, match=r"clip s: field 'wav': 1\.5 s of "
                       r'audio, more than max_duration=1\.4'):
        LoadAudio(max_duration=1.4)(dict(base))
    # use_stored_fbank=False reads the wav instead
    out = LoadAudio(RATE, use_stored_fbank=False)(dict(base))
    assert 'waveform' in out and out['waveform'].shape == (12000, )
    with pytest.raises(ClipError, match=r"clip s: field 'wav': cannot read "
                       r'audio from .*gone\.wav: no such file'):
        LoadAudio(use_stored_fbank=False)(dict(
            base, audio_path=str(tmp_path / 'gone.wav')))


@pytest.mark.parametrize('array', [
    np.zeros(8, np.float16),                    # not 2-D
    np.zeros((2, 3, 4), np.float32),            # not 2-D
    np.zeros((4, 3), np.int16),                 # not floating point
    np.array([[0.0, np.inf]], np.float32),      # not finite
    np.array([[np.nan, 1.0]], np.float16),
])
def test_stored_fbank_refused(tmp_path, array):
    np.save(tmp_path / 'x.npy', array)
    with pytest.raises(ValueError, match='x.npy holds'):
        load_stored_fbank(str(tmp_path / 'x.npy'))


def test_stored_fbank_reads_no_pickles(tmp_path):
    np.save(tmp_path / 'o.npy', np.array([[None, 1.0]], dtype=object))
    with pytest.raises(ValueError, match='allow_pickle'):
        load_stored_fbank(str(tmp_path / 'o.npy'))


def test_compute_stored_fbank_is_the_pipelines(tmp_path):
    ints = samples(2, 16000, seed=2)
    wav = write_wav(tmp_path / 'b.wav', ints, 16000)
    mean = as_float(ints).mean(axis=0)
    mean = mean - mean.mean()
    fbank = torchaudio.compliance.kaldi.fbank(
        torch.from_numpy(mean)[None], htk_compat=True, sample_frequency=16000,
        use_energy=False, window_type='hanning', num_mel_bins=128, dither=0.0,
        frame_shift=10, frame_length=25)
    assert fbank.shape[0] == 198
    array, frames = compute_stored_fbank(wav)
    assert (array.dtype, array.shape, frames) == (np.float16, (1024, 128), 198)
    np.testing.assert_array_equal(array[:198], fbank.numpy().astype(np.float16))
    assert not array[198:].any()
    first = as_float(ints)[0] - as_float(ints)[0].mean()
    array, frames = compute_stored_fbank(wav, 16000, 'first', 64, 100)
    assert (array.shape, frames) == ((100, 64), 198)
    expected = torchaudio.compliance.kaldi.fbank(
        torch.from_numpy(first)[None], htk_compat=True,
        sample_frequency=16000, use_energy=False, window_type='hanning',
        num_mel_bins=64, dither=0.0, frame_shift=10, frame_length=25)
    np.testing.assert_array_equal(array, expected[:100].numpy().astype(
        np.float16))
    # at 8 kHz: 2 s resampled, frames counted at 8 kHz
    assert compute_stored_fbank(wav, 8000)[1] == 198


def test_compute_fbank_keeps_a_stored_fbank_only_without_waveform():
    stored = torch.arange(7 * 128, dtype=torch.float32).reshape(7, 128)
    kept = ComputeFbank(target_length=None)(dict(fbank=stored.clone()))
    assert torch.equal(kept['fbank'], stored)
    with pytest.raises(ClipError, match=r'\(7, 128\), the pipeline computes '
                       r'\(1024, 128\)'):
        ComputeFbank()(dict(video_id='f', fbank=stored.clone()))
    # a waveform present: the fbank is computed from it (a stale one replaced)
    wave = np.random.default_rng(3).normal(0, 0.1, 16000).astype(np.float32)
    out = ComputeFbank(target_length=None)(dict(waveform=wave,
                                                fbank=stored.clone()))
    assert out['fbank'].shape == (98, 128) and out['fbank_num_frames'] == 98
