"""Audio loading and the Kaldi filterbank (paper Sec. 3.1, SPEC section 1).

Pure functions (``load_audio``, ``kaldi_fbank``, ``num_fbank_frames``) are
what tools call; the registered transforms wrap them for pipelines.
"""
import io
import os.path as osp
from typing import Optional

import numpy as np
import torch
import torchaudio
from mmengine import fileio

from cavsync_mm.registry import TRANSFORMS
from ..errors import ClipError
from .base import ClipTransform

#: File endings read with soundfile; everything else goes through PyAV.
SOUNDFILE_EXTENSIONS = ('.wav', '.flac', '.ogg')
FBANK_WINDOW_SAMPLES_16K = 400  # 25 ms at 16 kHz
FBANK_SHIFT_SAMPLES_16K = 160  # 10 ms at 16 kHz


def _read_soundfile(path: str, start: float = 0.0,
                    duration: Optional[float] = None):
    import soundfile
    rate = int(soundfile.info(path).samplerate)
    first = int(round(start * rate))
    frames = -1 if duration is None else int(round(duration * rate))
    data, rate = soundfile.read(path, dtype='float32', always_2d=True,
                                start=first, frames=frames)
    return data.T, int(rate)  # (channels, samples)


def _read_container(path: str, start: float = 0.0,
                    duration: Optional[float] = None):
    """Decode a container's first audio track at its own sample rate.

    Only ``[start, start + duration)`` seconds are decoded: the demuxer seeks
    to ``start`` and decoding stops after the window.

    PyAV, not ``decord.AudioReader``: decord 0.6.0 returns a wrong second
    channel for planar stereo AAC (and so a wrong ``mono=True`` mix).
    """
    import av
    with av.open(path) as container:
        if not container.streams.audio:
            raise ValueError(f'{path} has no audio track')
        stream = container.streams.audio[0]
        rate = int(stream.sample_rate)
        first = int(round(start * rate))
        stop = None if duration is None else first + int(round(duration *
                                                               rate))
        if first > 0:
            container.seek(int(start / stream.time_base), stream=stream,
                           backward=True, any_frame=False)
        resampler = av.AudioResampler(format='fltp')  # planar float32
        chunks, position = [], None
        for frame in container.decode(stream):
            if position is None:  # sample index of the first decoded frame
                position = int(round(frame.time * rate)) \
                    if frame.pts is not None else 0
            for out in resampler.resample(frame):
                chunks.append(out.to_ndarray())
            if stop is not None and position + sum(
                    c.shape[1] for c in chunks) >= stop:
                break
        chunks.extend(out.to_ndarray() for out in resampler.resample(None))
    if not chunks:
        raise ValueError(f'{path}: the audio track decodes to no samples')
    data = np.concatenate(chunks, axis=1).astype(np.float32)
    # from the start: everything decoded (as before windows existed)
    offset = max(first - (position or 0), 0) if first > 0 else 0
    end = None if stop is None else offset + (stop - first)
    return data[:, offset:end], rate


def probe_audio_duration(path: str) -> float:
    """Seconds of audio in a file, from its headers (nothing decoded)."""
    if path.lower().endswith(SOUNDFILE_EXTENSIONS):
        import soundfile
        info = soundfile.info(path)
        return info.frames / info.samplerate
    import av
    with av.open(path) as container:
        if not container.streams.audio:
            raise ValueError(f'{path} has no audio track')
        stream = container.streams.audio[0]
        if stream.duration and stream.time_base:
            return float(stream.duration * stream.time_base)
        return (container.duration or 0) / 1e6


def load_audio(path: str, sample_rate: int = 16000,
               mono: str = 'mean', start: float = 0.0,
               duration: Optional[float] = None) -> np.ndarray:
    """Read an audio file or a video's audio track as a mono waveform.

    wav/flac go through soundfile, containers (mp4, mkv, webm, ...) through
    PyAV (FFmpeg); the audio is resampled with
    ``torchaudio.functional.resample`` when its rate differs.

    Args:
        path: the file.
        sample_rate: output rate in Hz (16 kHz in the paper).
        mono: ``'mean'`` averages the channels (default); ``'first'`` keeps
            the first channel as the authors' extractor does.
        start: seconds to skip (soundfile seeks, PyAV seeks the demuxer).
        duration: seconds to read from ``start``; None reads to the end.

    Returns:
        float32 array ``(num_samples,)``.
    """
    if mono not in ('mean', 'first'):
        raise ValueError(f"mono must be 'mean' or 'first', got {mono!r}")
    if not osp.isfile(path):
        raise FileNotFoundError(f'no such file: {path}')
    if path.lower().endswith(SOUNDFILE_EXTENSIONS):
        data, rate = _read_soundfile(path, start, duration)
    else:
        data, rate = _read_container(path, start, duration)
    if data.shape[-1] == 0:
        raise ValueError(f'{path} holds no audio samples')
    if not np.all(np.isfinite(data)):
        raise ValueError(f'{path} holds NaN or infinite samples')
    waveform = data.mean(axis=0) if mono == 'mean' else data[0]
    if rate != sample_rate:
        waveform = torchaudio.functional.resample(
            torch.from_numpy(np.ascontiguousarray(waveform)), rate,
            sample_rate).numpy()
    return np.ascontiguousarray(waveform, dtype=np.float32)


def num_fbank_frames(num_samples: int, sample_rate: int = 16000) -> int:
    """Frames a Kaldi fbank (25 ms window, 10 ms shift, snip edges) yields."""
    window = int(round(0.025 * sample_rate))
    shift = int(round(0.010 * sample_rate))
    if num_samples < window:
        return 0
    return 1 + (num_samples - window) // shift


def kaldi_fbank(waveform, sample_rate: int = 16000, num_mel_bins: int = 128,
                target_length: Optional[int] = 1024) -> torch.Tensor:
    """Kaldi-compatible log-Mel filterbank of a whole clip.

    25 ms Hanning window, 10 ms shift, ``htk_compat=True``,
    ``use_energy=False``, ``dither=0`` (as in the paper and CAV-MAE). The
    result is cut or zero-padded at the end to ``target_length`` frames
    (1024 = 10.24 s); ``target_length=None`` keeps the natural length.

    Args:
        waveform: ``(num_samples,)`` array or tensor (mean already removed).

    Returns:
        float32 tensor ``(target_length, num_mel_bins)``.
    """
    wav = torch.as_tensor(np.asarray(waveform, dtype=np.float32))
    wav = wav.reshape(1, -1)
    if num_fbank_frames(wav.shape[1], sample_rate) > 0:
        fbank = torchaudio.compliance.kaldi.fbank(
            wav, htk_compat=True, sample_frequency=sample_rate,
            use_energy=False, window_type='hanning',
            num_mel_bins=num_mel_bins, dither=0.0, frame_shift=10,
            frame_length=25)
    else:
        fbank = torch.zeros(0, num_mel_bins)
    if target_length is not None:
        missing = target_length - fbank.shape[0]
        if missing > 0:
            fbank = torch.nn.functional.pad(fbank, (0, 0, 0, missing))
        else:
            fbank = fbank[:target_length]
    return fbank.contiguous()


def compute_stored_fbank(path: str, sample_rate: int = 16000,
                         mono: str = 'mean', num_mel_bins: int = 128,
                         target_length: int = 1024):
    """The fbank ``LoadAudio`` + ``ComputeFbank`` compute from ``path``, as
    it is stored (float16): ``(array (target_length, num_mel_bins),
    fbank_num_frames)``. Stored by ``tools/data/extract_av.py`` and
    ``tools/data/pack_shards.py``; read by ``LoadAudio`` instead of the wav.
    """
    waveform = load_audio(path, sample_rate, mono)
    waveform = waveform - waveform.mean()
    fbank = kaldi_fbank(waveform, sample_rate, num_mel_bins, target_length)
    return (fbank.numpy().astype(np.float16),
            num_fbank_frames(len(waveform), sample_rate))


def load_stored_fbank(path: str,
                      backend_args: Optional[dict] = None) -> torch.Tensor:
    """A stored fbank (``.npy``, float16 ``(frames, mel bins)``) as float32,
    read through MMEngine's fileio (``backend_args``; local disk by
    default)."""
    array = np.load(io.BytesIO(fileio.get(path, backend_args=backend_args)),
                    allow_pickle=False)
    if array.ndim != 2 or not np.issubdtype(array.dtype, np.floating):
        raise ValueError(f'{path} holds a {array.dtype} array of shape '
                         f'{array.shape}, not a (frames, mel bins) fbank')
    if not np.all(np.isfinite(array)):
        raise ValueError(f'{path} holds NaN or infinite values')
    return torch.from_numpy(array.astype(np.float32))


@TRANSFORMS.register_module()
class LoadAudio(ClipTransform):
    """Load the clip's audio as a 16 kHz mono waveform with its mean removed.

    Reads ``results['audio_path']`` (wav/flac) or, in the raw-video layout,
    the audio track of ``results['video_file']``.

    Adds ``waveform`` (float32 ``(n,)``), ``sample_rate``,
    ``audio_duration`` (seconds read) and ``clip_duration`` (seconds of
    audio in the file, from its headers).

    When the datafile names a stored fbank (``"fbank"`` key, written by
    ``tools/data/extract_av.py``; ``fbank_path`` here) and
    ``use_stored_fbank`` is True, that fbank is read instead (``fbank``,
    ``fbank_num_frames``; no ``waveform``) and ``ComputeFbank`` keeps it:
    the 87 % of a sample's time spent on the Kaldi fbank is gone. Mixup mixes
    waveforms, so its wrapped pipeline sets ``use_stored_fbank=False``.

    Args:
        sample_rate (int): output rate. Defaults to 16000.
        mono (str): ``'mean'`` of the channels (default) or ``'first'``
            channel (the authors' extractor).
        remove_mean (bool): subtract the waveform mean (paper). Defaults to
            True.
        allow_silent (bool): a waveform whose samples all lie within
            ``silence_threshold`` of each other (all zero, or a constant DC
            offset) raises a ``ClipError`` (``'silent'``) unless this is
            True, because its fbank is a constant (Kaldi removes each
            frame's DC). Defaults to False.
        silence_threshold (float): peak-to-peak amplitude below which a
            waveform is silent. Defaults to 1e-5 (a third of a 16-bit step).
        read_seconds (float | None): decode only the first this many
            seconds. A 1024-frame fbank (10.24 s) uses the first 10.255 s,
            so ``read_seconds=10.255`` gives the same fbank for clips up to
            that length and bounds the cost of a long one (its mean is then
            the mean of what was read). Defaults to None (the whole file).
        max_duration (float | None): a file with more seconds of audio
            than this raises a ``ClipError`` before anything is decoded
            (a file whose headers give no duration, e.g. Matroska written to
            a pipe: after decoding at most ``max_duration + 1`` s). Defaults
            to None (no limit).
        use_stored_fbank (bool): read the stored fbank when the clip has
            one (``max_duration`` is checked against the wav's header).
            Defaults to True.
        backend_args (dict | None): MMEngine fileio backend of the stored
            fbank (e.g. ``dict(backend='petrel')``). Defaults to None (local
            disk). Audio files are decoded by soundfile / PyAV from a local
            path.
    """

    def __init__(self, sample_rate: int = 16000, mono: str = 'mean',
                 remove_mean: bool = True, allow_silent: bool = False,
                 silence_threshold: float = 1e-5,
                 read_seconds: Optional[float] = None,
                 max_duration: Optional[float] = None,
                 use_stored_fbank: bool = True,
                 backend_args: Optional[dict] = None):
        if mono not in ('mean', 'first'):
            raise ValueError(f"mono must be 'mean' or 'first', got {mono!r}")
        self.sample_rate = sample_rate
        self.mono = mono
        self.remove_mean = remove_mean
        self.allow_silent = allow_silent
        self.silence_threshold = silence_threshold
        self.read_seconds = read_seconds
        self.max_duration = max_duration
        self.use_stored_fbank = use_stored_fbank
        self.backend_args = backend_args

    def transform(self, results: dict) -> dict:
        if self.use_stored_fbank and results.get('fbank_path'):
            return self._load_stored(results)
        field, path = self.audio_source(results)
        clip = self.clip_name(results)
        try:
            clip_duration = probe_audio_duration(path) \
                if osp.isfile(path) else None
            if self.max_duration and clip_duration and \
                    clip_duration > self.max_duration:
                raise ValueError(f'{clip_duration:.1f} s of audio, more '
                                 f'than max_duration={self.max_duration} s')
            duration = self.read_seconds
            unknown = bool(self.max_duration) and not clip_duration
            if unknown:  # no duration in the headers (a streamed file)
                limit = self.max_duration + 1.0  # decode a bounded head
                duration = limit if duration is None else min(duration, limit)
            waveform = load_audio(path, self.sample_rate, self.mono,
                                  duration=duration)
            if unknown and len(waveform) > self.max_duration * \
                    self.sample_rate:
                raise ValueError(f'more than max_duration='
                                 f'{self.max_duration} s of audio (the '
                                 'headers give no duration)')
        except Exception as err:  # decoders raise many types; keep the cause
            raise ClipError(clip, field,
                            f'cannot read audio from {path}: {err}') from err
        if self.remove_mean:
            waveform = waveform - waveform.mean()
        spread = float(waveform.max() - waveform.min())
        if not self.allow_silent and spread < self.silence_threshold:
            raise ClipError(
                clip, field,
                f'audio in {path} is silent (all samples lie within '
                f'{spread:.2g} of each other, a constant after mean removal); '
                'set LoadAudio(allow_silent=True) to use it anyway')
        results['waveform'] = waveform.astype(np.float32)
        results['sample_rate'] = self.sample_rate
        results['audio_duration'] = waveform.shape[0] / self.sample_rate
        results['clip_duration'] = clip_duration or results['audio_duration']
        return results

    def _load_stored(self, results: dict) -> dict:
        path = results['fbank_path']
        try:
            fbank = load_stored_fbank(path, self.backend_args)
        except Exception as err:
            raise ClipError(self.clip_name(results), 'fbank',
                            f'cannot read the stored fbank {path}: {err}'
                            ) from err
        num = int(results.get('fbank_num_frames', fbank.shape[0]))
        clip_duration = None
        if results.get('audio_path') and osp.isfile(results['audio_path']):
            clip_duration = probe_audio_duration(results['audio_path'])
        if self.max_duration and clip_duration and \
                clip_duration > self.max_duration:
            raise ClipError(self.clip_name(results), 'wav',
                            f'{clip_duration:.1f} s of audio, more than '
                            f'max_duration={self.max_duration} s')
        results['fbank'] = fbank
        results['fbank_num_frames'] = num
        results['sample_rate'] = self.sample_rate
        results['audio_duration'] = num / 100.0  # 10 ms shift
        results['clip_duration'] = clip_duration or results['audio_duration']
        return results

    @staticmethod
    def audio_source(results: dict):
        if results.get('audio_path'):
            return 'wav', results['audio_path']
        if results.get('video_file'):
            return 'video', results['video_file']
        raise ClipError(LoadAudio.clip_name(results), 'wav',
                        "the entry has neither 'wav' nor 'video'")


@TRANSFORMS.register_module()
class ComputeFbank(ClipTransform):
    """Compute the clip's Kaldi fbank once; segments are sliced from it later.

    Adds ``fbank`` (float32 tensor ``(target_length, num_mel_bins)``) and
    ``fbank_num_frames`` (frames that hold audio, before padding/cutting).

    Args:
        num_mel_bins (int): Mel bins. Defaults to 128.
        target_length (int | None): frames after cutting / zero-padding.
            Defaults to 1024 (10.24 s).
    """

    def __init__(self, num_mel_bins: int = 128,
                 target_length: Optional[int] = 1024):
        self.num_mel_bins = num_mel_bins
        self.target_length = target_length

    def transform(self, results: dict) -> dict:
        if 'waveform' not in results and 'fbank' in results:
            return self._check_stored(results)
        waveform = results['waveform']
        rate = results.get('sample_rate', 16000)
        results['fbank'] = kaldi_fbank(waveform, rate, self.num_mel_bins,
                                       self.target_length)
        results['fbank_num_frames'] = num_fbank_frames(len(waveform), rate)
        return results

    def _check_stored(self, results: dict) -> dict:
        """The fbank ``LoadAudio`` read from disk: keep it if its shape is
        the one this transform would compute."""
        shape = tuple(results['fbank'].shape)
        expected = (self.target_length or shape[0], self.num_mel_bins)
        if shape != expected:
            raise ClipError(self.clip_name(results), 'fbank',
                            f'the stored fbank {results.get("fbank_path")} '
                            f'is {shape}, the pipeline computes {expected}; '
                            're-extract it or set '
                            'LoadAudio(use_stored_fbank=False)')
        return results


@TRANSFORMS.register_module()
class NormalizeFbank(ClipTransform):
    """``(fbank - mean) / std`` with the AudioSet statistics of the paper.

    Args:
        mean (float): Defaults to -5.081.
        std (float): Defaults to 4.4849.
        keys (tuple[str]): entries to normalise. Defaults to ``('audio',)``
            (the frame-aligned segments).
    """

    def __init__(self, mean: float = -5.081, std: float = 4.4849,
                 keys=('audio', )):
        if std <= 0:
            raise ValueError(f'std must be positive, got {std}')
        self.mean = mean
        self.std = std
        self.keys = tuple(keys)

    def transform(self, results: dict) -> dict:
        for key in self.keys:
            results[key] = (results[key] - self.mean) / self.std
        return results
