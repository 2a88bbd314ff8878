"""Where the extracted clips live: file names, folders and the names of the
files that describe an extraction.

An extraction under ``output_dir`` (CAV-MAE's layout)::

    frames/frame_{i}/{video_id}.jpg     i = 0..T-1
    audio/{video_id}.wav                16 kHz mono
    fbank/{video_id}.npy                its Kaldi fbank, float16 (1024, 128)
    extract_av_settings.json            the settings the clips were made with
    extract_failures.json               the clips that failed, and why

Video ids become file names only through :func:`safe_video_id` (no path
separators, no ``..``), so no input name can write outside ``output_dir``.
Readers (datasets, demos), writers (``tools/data/extract_av.py``,
``pack_shards.py``, the synthetic generator) and listings take their names
from here.
"""
import os.path as osp
from typing import List

#: the video files a folder listing takes (compared in lower case)
VIDEO_EXTENSIONS = ('.mp4', '.mkv', '.webm', '.avi', '.mov', '.flv', '.m4v')
#: the extraction settings, beside the ``frames`` folder
SETTINGS_FILE = 'extract_av_settings.json'
#: the clips an extraction could not make, and why
FAILURE_REPORT = 'extract_failures.json'


def safe_video_id(name: str) -> str:
    """``name`` made safe as a file stem: path separators, NUL and control
    characters become ``_``, ``..`` becomes ``__`` and a leading ``.`` or
    ``-`` is replaced, so ``{dir}/{id}.jpg`` stays inside ``dir``.

    >>> safe_video_id('../../etc/passwd')
    '______etc_passwd'
    """
    name = str(name)
    out = ''.join('_' if ch in '/\\' or ord(ch) < 32 else ch for ch in name)
    out = out.replace('..', '__')
    if out[:1] in ('.', '-'):
        out = '_' + out[1:]
    if not out:
        raise ValueError('empty video id')
    return out[:200]


def is_video_file(name: str) -> bool:
    """The file name ends with one of :data:`VIDEO_EXTENSIONS`."""
    return name.lower().endswith(VIDEO_EXTENSIONS)


def video_id_from_path(path: str) -> str:
    """The file name without its extension."""
    return osp.splitext(osp.basename(path))[0]


def extracted_frame_path(video_path: str, video_id: str, i: int) -> str:
    """``{video_path}/frame_{i}/{video_id}.jpg`` (``video_path`` is the
    datafile's field: the parent of the ``frame_{i}`` folders)."""
    return osp.join(video_path, f'frame_{i}', f'{video_id}.jpg')


def frames_dir(output_dir: str) -> str:
    """The datafile's ``video_path``: the parent of the ``frame_{i}`` folders."""
    return osp.join(output_dir, 'frames')


def frame_path(output_dir: str, video_id: str, index: int) -> str:
    return extracted_frame_path(frames_dir(output_dir), video_id, index)


def wav_path(output_dir: str, video_id: str) -> str:
    return osp.join(output_dir, 'audio', f'{video_id}.wav')


def fbank_path(output_dir: str, video_id: str) -> str:
    """The stored fbank: ``fbank/{video_id}.npy`` (float16, 1024 x 128)."""
    return osp.join(output_dir, 'fbank', f'{video_id}.npy')


def clip_output_paths(output_dir: str, video_id: str,
                      num_frames: int, store_fbank: bool = False) -> List[str]:
    """All files one clip produces: T jpgs, the wav (, the fbank)."""
    paths = [frame_path(output_dir, video_id, i) for i in range(num_frames)]
    paths.append(wav_path(output_dir, video_id))
    if store_fbank:
        paths.append(fbank_path(output_dir, video_id))
    return paths


def is_clip_complete(output_dir: str, video_id: str, num_frames: int,
                     store_fbank: bool = False) -> bool:
    """True when every output file of the clip exists and is non-empty.

    Files are only ever created by an atomic rename, so existence means the
    file was written completely.
    """
    return all(
        osp.isfile(p) and osp.getsize(p) > 0
        for p in clip_output_paths(output_dir, video_id, num_frames,
                                   store_fbank))
