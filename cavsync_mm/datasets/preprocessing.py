"""Turn raw videos into the CAV-MAE layout: T frames + a 16 kHz mono wav per clip.

The importable core of ``tools/data/extract_av.py``. One clip is handled by
:func:`extract_clip`, which decodes everything first and then writes each
file atomically (temporary ``.part`` file + rename), so an interrupted run
never leaves a half-written jpg or wav that a later run would take as done.

The files go where :mod:`cavsync_mm.datasets.layout` says (frame ``i`` of T
as in :func:`frame_indices`; the wav mono, the mean of the channels or the
first one; the fbank with ``store_fbank``), and a CAV-MAE datafile ``{"data": [{"video_id", "wav", "video_path", "labels"}]}``
(:func:`datafile_entry`, :func:`write_datafile`).
"""
import csv
import json
import os
import os.path as osp
from dataclasses import asdict, dataclass, field
from functools import partial
from typing import Dict, Iterator, List, Optional, Sequence

import numpy as np

from ..atomic_files import atomic_path
from .layout import (SETTINGS_FILE, fbank_path, frame_path, frames_dir,
                     is_clip_complete, is_video_file, safe_video_id,
                     video_id_from_path, wav_path)
from .process_pool import WorkerFailure, supervised_map
from .transforms.audio import compute_stored_fbank, load_audio
from .transforms.video import (FRAME_INDEX_MODES, container_frame_index,
                               read_video_frames, release_frame_index)

CHANNEL_MODES = ('mean', 'first')


#: stored fbank: what ``LoadAudio`` + ``ComputeFbank`` compute by default.
FBANK_SETTINGS = dict(num_mel_bins=128, target_length=1024, dtype='float16')


class ExtractionError(RuntimeError):
    """A clip could not be extracted; the message says which stage failed and why."""


@dataclass
class VideoItem:
    """One input video: its id (the output file stem), path and labels.

    ``video_id`` is made safe as a file name (:func:`safe_video_id`);
    ``source_id`` is the id as the input gave it (labels are looked up by
    either).
    """
    video_id: str
    video: str
    labels: str = ''
    source_id: str = ''

    def __post_init__(self):
        self.source_id = self.source_id or self.video_id
        self.video_id = safe_video_id(self.video_id)


@dataclass
class ClipResult:
    """What happened to one clip: ``status`` is 'done', 'skipped' or 'failed'."""
    video_id: str
    video: str
    status: str
    error: str = ''
    info: Dict = field(default_factory=dict)


# --------------------------------------------------------------------------
# Which frames
# --------------------------------------------------------------------------
def frame_indices(total_frames: int, num_frames: int, fps: float,
                  frame_index: str = 'release') -> List[int]:
    """The stream frames that frames 0..T-1 are, in a constant-rate video.

    ``'release'`` (default): CAV-MAE's extractor, ``max(int(i * N / T) - 1,
    0)`` with ``N = min(total_frames, int(fps * 10))`` (it sets OpenCV's
    position to ``int(i * N / T) - 1`` and reads the next frame; the first
    10 s only). ``'uniform'``: ``int(i * total_frames / T)`` (time
    ``i * duration / T``, the paper's uniform sampling over the whole clip).
    Decoding pairs frames by time (:func:`~cavsync_mm.datasets.transforms.
    video.frame_time`), which gives these indices for constant-rate video.
    """
    if frame_index == 'release':
        return [release_frame_index(i, total_frames, num_frames, fps)
                for i in range(num_frames)]
    if frame_index == 'uniform':
        return [container_frame_index(i, total_frames, num_frames)
                for i in range(num_frames)]
    raise ValueError(f'frame_index must be one of {FRAME_INDEX_MODES}, got '
                     f'{frame_index!r}')


# --------------------------------------------------------------------------
# Decoding
# --------------------------------------------------------------------------
def _describe_error(err: Exception) -> str:
    text = str(err).strip().splitlines()
    message = ' '.join(line for line in text if line)[:300]
    if 'no audio track' in message:
        return 'no audio track'
    if 'moov atom not found' in message or 'Invalid data' in message:
        return f'not a readable video container ({message})'
    return message or type(err).__name__


def read_audio(video: str, sample_rate: int = 16000,
               channel: str = 'mean') -> np.ndarray:
    """Decode a video's audio track as mono float32 at ``sample_rate``.

    Calls :func:`cavsync_mm.datasets.transforms.audio.load_audio` (PyAV
    decode at the track's own rate, then resampling) and turns its errors
    into an :class:`ExtractionError` that says what went wrong.

    Args:
        channel: 'mean' averages the channels (default); 'first' keeps the
            first channel as the authors' release extractor does.
    """
    if channel not in CHANNEL_MODES:
        raise ValueError(f'channel must be one of {CHANNEL_MODES}, got {channel!r}')
    try:
        return load_audio(video, sample_rate=sample_rate, mono=channel)
    except Exception as err:
        raise ExtractionError(f'audio: {_describe_error(err)}') from err


def read_frames(video: str, num_frames: int = 16,
                frame_index: str = 'release') -> List[np.ndarray]:
    """Decode the T frames of a video (:func:`frame_indices`) with
    :func:`~cavsync_mm.datasets.transforms.video.read_video_frames`: a list
    of uint8 ``(H, W, 3)`` RGB arrays."""
    try:
        return read_video_frames(video, range(num_frames), num_frames,
                                 frame_index)
    except Exception as err:
        raise ExtractionError(f'video: {_describe_error(err)}') from err


def resize_frame(frame: np.ndarray, image_size: Optional[int] = None,
                 center_crop: bool = False):
    """Resize so the shorter side is ``image_size`` (bicubic); optionally crop
    the centre square. ``image_size=None`` keeps the original size."""
    from PIL import Image
    image = Image.fromarray(frame)
    if image_size is None:
        return image
    width, height = image.size
    scale = image_size / min(width, height)
    new_size = (max(1, round(width * scale)), max(1, round(height * scale)))
    image = image.resize(new_size, Image.BICUBIC)
    if center_crop:
        left = (new_size[0] - image_size) // 2
        top = (new_size[1] - image_size) // 2
        image = image.crop((left, top, left + image_size, top + image_size))
    return image


# --------------------------------------------------------------------------
# Atomic writing
# --------------------------------------------------------------------------
def write_jpg_atomic(image, path: str, quality: int = 95) -> None:
    with atomic_path(path) as part:
        image.save(part, format='JPEG', quality=quality)


def write_wav_atomic(samples: np.ndarray, path: str, sample_rate: int) -> None:
    import soundfile as sf
    with atomic_path(path) as part:
        sf.write(part, np.clip(samples, -1.0, 1.0), sample_rate,
                 subtype='PCM_16', format='WAV')


def write_npy_atomic(array: np.ndarray, path: str) -> None:
    with atomic_path(path) as part, open(part, 'wb') as f:
        np.save(f, array, allow_pickle=False)


def write_json_atomic(obj, path: str) -> None:
    with atomic_path(path) as part, open(part, 'w') as f:
        json.dump(obj, f, indent=1)


# --------------------------------------------------------------------------
# One clip
# --------------------------------------------------------------------------
def extract_clip(video: str, output_dir: str, video_id: Optional[str] = None,
                 num_frames: int = 16, image_size: Optional[int] = None,
                 center_crop: bool = False, sample_rate: int = 16000,
                 channel: str = 'mean', jpeg_quality: int = 95,
                 overwrite: bool = False,
                 frame_index: str = 'release',
                 store_fbank: bool = False) -> ClipResult:
    """Extract T frames and the mono wav of one video into ``output_dir``.

    Skips the clip when all its outputs exist (unless ``overwrite``). Audio and
    frames are decoded before anything is written, so a clip that fails to
    decode leaves no files. Never raises for a bad clip: the returned
    :class:`ClipResult` carries ``status='failed'`` and the reason.
    ``frame_index``: see :func:`frame_indices` (``'release'`` by default).
    ``store_fbank`` also writes the wav's fbank (float16, as ``LoadAudio``
    + ``ComputeFbank`` compute it from that wav) to ``fbank/{video_id}.npy``.
    """
    video_id = safe_video_id(video_id or osp.splitext(osp.basename(video))[0])
    result = ClipResult(video_id=video_id, video=video, status='done')
    if not overwrite and is_clip_complete(output_dir, video_id, num_frames,
                                          store_fbank):
        result.status = 'skipped'
        return result
    try:
        if not osp.exists(video) or osp.isdir(video):
            raise ExtractionError('video: file not found')
        audio = read_audio(video, sample_rate, channel)
        frames = read_frames(video, num_frames, frame_index)
        for i, frame in enumerate(frames):
            image = resize_frame(frame, image_size, center_crop)
            write_jpg_atomic(image, frame_path(output_dir, video_id, i),
                             jpeg_quality)
        # the wav goes last: a clip counts as done only once it is there
        write_wav_atomic(audio, wav_path(output_dir, video_id), sample_rate)
        if store_fbank:  # from the wav as written: equal to the loader's
            fbank, _ = compute_stored_fbank(
                wav_path(output_dir, video_id), sample_rate,
                num_mel_bins=FBANK_SETTINGS['num_mel_bins'],
                target_length=FBANK_SETTINGS['target_length'])
            write_npy_atomic(fbank, fbank_path(output_dir, video_id))
        result.info = dict(duration_s=round(len(audio) / sample_rate, 3),
                           frame_size=list(frames[0].shape[:2]))
    except ExtractionError as err:
        result.status, result.error = 'failed', str(err)
    except Exception as err:  # unexpected: keep the run going, report it
        result.status = 'failed'
        result.error = f'{type(err).__name__}: {err}'
    return result


def _extract_item(item: 'VideoItem', **kwargs) -> ClipResult:
    return extract_clip(item.video, video_id=item.video_id, **kwargs)


def extract_clips(items: Sequence['VideoItem'], output_dir: str,
                  workers: int = 1, progress: bool = True,
                  timeout: Optional[float] = None,
                  **clip_kwargs) -> Iterator[ClipResult]:
    """Run :func:`extract_clip` over ``items`` in ``workers`` processes.

    Yields one :class:`ClipResult` per item, in completion order, and shows a
    tqdm progress bar. ``clip_kwargs`` go to :func:`extract_clip`. With
    ``workers > 1`` or a ``timeout`` (seconds per clip) the clips run in
    :func:`~cavsync_mm.datasets.process_pool.supervised_map`: a clip whose
    worker dies (OOM killer, SIGKILL) or runs past ``timeout`` is reported
    as failed and the run goes on.
    """
    from tqdm import tqdm
    worker = partial(_extract_item, output_dir=output_dir, **clip_kwargs)
    bar = tqdm(total=len(items), desc='extract', unit='clip',
               dynamic_ncols=True, disable=not progress)
    try:
        if workers <= 1 and timeout is None:
            for item in items:
                result = worker(item)
                bar.update()
                yield result
        else:
            for index, result in supervised_map(worker, items, workers,
                                                timeout):
                if isinstance(result, WorkerFailure):
                    item = items[index]
                    result = ClipResult(item.video_id, item.video, 'failed',
                                        result.message)
                bar.update()
                yield result
    finally:
        bar.close()


# --------------------------------------------------------------------------
# Inputs: a directory, a list file, or a raw-video datafile
# --------------------------------------------------------------------------
def collect_videos(source: str, video_root: Optional[str] = None,
                   recursive: bool = False) -> List[VideoItem]:
    """List the videos to extract.

    ``source`` is a directory of videos, a list file (one video path per line,
    ``#`` comments allowed), or a raw-video datafile (``{"data": [{"video_id",
    "video", "labels"}]}``). Relative paths are joined with ``video_root``
    (default: the list file's / datafile's directory). The video id is the
    file name without extension unless the datafile gives one.
    """
    if osp.isdir(source):
        if recursive:
            paths = [osp.join(d, f) for d, _, files in os.walk(source)
                     for f in files if is_video_file(f)]
        else:
            paths = [osp.join(source, f) for f in os.listdir(source)
                     if is_video_file(f) and osp.isfile(osp.join(source, f))]
        items = [VideoItem(video_id_from_path(p), p) for p in sorted(paths)]
    elif not osp.isfile(source):
        raise FileNotFoundError(f'input {source!r} is neither a directory nor a file')
    else:
        root = video_root or osp.dirname(osp.abspath(source))
        if source.endswith('.json'):
            with open(source) as f:
                entries = json.load(f).get('data')
            if not isinstance(entries, list):
                raise ValueError(f'{source}: a raw-video datafile needs a "data" list')
            items = []
            for k, entry in enumerate(entries):
                if 'video' not in entry:
                    raise ValueError(f'{source}: entry {k} has no "video" field')
                path = osp.join(root, entry['video'])
                items.append(VideoItem(str(entry.get('video_id') or
                                           video_id_from_path(path)),
                                       path, entry.get('labels', '')))
        else:
            with open(source) as f:
                lines = [ln.strip() for ln in f]
            items = [VideoItem(video_id_from_path(ln), osp.join(root, ln))
                     for ln in lines if ln and not ln.startswith('#')]
    seen = {}
    for item in items:
        if item.video_id in seen:
            raise ValueError(
                f'video id {item.video_id!r} appears twice: {seen[item.video_id]} '
                f'and {item.video}; outputs are named by video id (made safe '
                'as a file name)')
        seen[item.video_id] = item.video
    return items


def read_labels(path: str) -> Dict[str, str]:
    """Read a ``video_id,labels`` csv (labels comma-separated inside quotes,
    e.g. ``abc,"/m/09x0r,/m/04rlf"``). A header row starting with
    ``video_id`` and ``#`` comment rows are skipped."""
    labels = {}
    with open(path, newline='') as f:
        for row_number, row in enumerate(csv.reader(f, skipinitialspace=True), 1):
            if not row or row[0].startswith('#') or row[0] == 'video_id':
                continue
            if len(row) < 2:
                raise ValueError(f'{path}:{row_number}: expected "video_id,labels", got {row}')
            # unquoted labels spill into further columns: join them back
            labels[row[0].strip()] = ','.join(c.strip() for c in row[1:] if c.strip())
    return labels


def check_no_collision(items: Sequence[VideoItem], output_dir: str,
                       source: str, extra_outputs: Sequence[str] = ()) -> None:
    """Refuse an output location that could overwrite or mix with the inputs."""
    out = osp.realpath(output_dir)
    if osp.isdir(source) and osp.realpath(source) == out:
        raise ValueError(f'output dir {output_dir!r} is the input dir: choose another one')
    for item in items:
        video = osp.realpath(item.video)
        if video == out or video.startswith(out + os.sep):
            raise ValueError(f'input video {item.video!r} lies inside the output dir '
                             f'{output_dir!r}: choose another output dir')
    inputs = {osp.realpath(i.video) for i in items} | {osp.realpath(source)}
    for path in extra_outputs:
        if osp.realpath(path) in inputs:
            raise ValueError(f'output file {path!r} is one of the inputs')


# --------------------------------------------------------------------------
# Datafile and reports
# --------------------------------------------------------------------------
def datafile_entry(output_dir: str, video_id: str, labels: str = '',
                   relative_to: Optional[str] = None,
                   store_fbank: bool = False) -> Dict[str, str]:
    """One CAV-MAE datafile entry; paths are absolute unless ``relative_to``.

    With ``store_fbank`` the entry also names the stored fbank (``fbank``)
    and how many of its 1024 frames hold audio (``fbank_num_frames``, from
    the wav's length).
    """
    video_id = safe_video_id(video_id)
    paths = dict(wav=wav_path(output_dir, video_id),
                 video_path=frames_dir(output_dir))
    if store_fbank:
        paths['fbank'] = fbank_path(output_dir, video_id)
    for key, path in paths.items():
        paths[key] = osp.relpath(path, relative_to) \
            if relative_to is not None else osp.abspath(path)
    entry = dict(video_id=video_id, wav=paths['wav'],
                 video_path=paths['video_path'], labels=labels)
    if store_fbank:
        import soundfile
        from .transforms.audio import num_fbank_frames
        info = soundfile.info(wav_path(output_dir, video_id))
        entry['fbank'] = paths['fbank']
        entry['fbank_num_frames'] = num_fbank_frames(info.frames,
                                                     info.samplerate)
    return entry


def write_datafile(path: str, entries: List[Dict[str, str]]) -> None:
    write_json_atomic({'data': entries}, path)


def write_failure_report(path: str, results: Sequence[ClipResult]) -> List[Dict]:
    """Write the failed clips (id, video, reason) as json; return them."""
    failures = [dict(video_id=r.video_id, video=r.video, error=r.error)
                for r in results if r.status == 'failed']
    write_json_atomic({'num_failed': len(failures), 'failures': failures}, path)
    return failures


def settings_mismatch(output_dir: str, settings: Dict) -> Optional[str]:
    """Compare with the settings an earlier run stored in ``output_dir``."""
    path = osp.join(output_dir, SETTINGS_FILE)
    if not osp.isfile(path):
        return None
    with open(path) as f:
        previous = json.load(f)
    changed = {k: (previous.get(k), v) for k, v in settings.items()
               if previous.get(k) != v}
    if not changed:
        return None
    return ', '.join(f'{k}: {old!r} -> {new!r}' for k, (old, new) in changed.items())


def save_settings(output_dir: str, settings: Dict) -> None:
    write_json_atomic(settings, osp.join(output_dir, SETTINGS_FILE))


def result_as_dict(result: ClipResult) -> Dict:
    return asdict(result)
