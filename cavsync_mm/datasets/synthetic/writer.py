"""Write the synthetic data as the files real datasets use.

Every writer produces byte-identical files for identical inputs (jpg, png,
wav, json, npz); the mp4 (PyAV, H.264 + AAC) decodes to identical content.
Files are written to a temporary name first and renamed, so an interrupted
run never leaves a half-written file under the final name.
"""
import io
import json
import os
import os.path as osp
import tempfile
import zipfile
from typing import Any, Dict, List

import av
import numpy as np
import soundfile as sf
from PIL import Image

from cavsync_mm.atomic_files import atomic_path

#: JPEG quality of the extracted frames.
JPEG_QUALITY = 92
#: Fixed time stamp of the members of an npz archive (keeps bytes stable).
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def _atomic(path: str):
    """:func:`~cavsync_mm.atomic_files.atomic_path` with a temporary name
    per process (generator workers never share one)."""
    return atomic_path(path, suffix=f'.part{os.getpid()}')


def write_jpg(path: str, image: np.ndarray) -> None:
    """RGB uint8 ``(H, W, 3)`` as a JPEG."""
    with _atomic(path) as tmp:
        Image.fromarray(image).save(tmp, format='JPEG', quality=JPEG_QUALITY)


def write_png_mask(path: str, mask: np.ndarray) -> None:
    """Bool ``(H, W)`` as a single-channel PNG (255 on the object)."""
    with _atomic(path) as tmp:
        Image.fromarray(mask.astype(np.uint8) * 255, mode='L').save(
            tmp, format='PNG')


def write_wav(path: str, wave: np.ndarray, sample_rate: int) -> None:
    """Mono float waveform in [-1, 1] as 16-bit PCM wav."""
    with _atomic(path) as tmp:
        sf.write(tmp, wave, sample_rate, subtype='PCM_16', format='WAV')


def write_json(path: str, obj: Any) -> None:
    with _atomic(path) as tmp:
        with open(tmp, 'w', encoding='utf-8') as f:
            json.dump(obj, f, indent=1)
            f.write('\n')


def write_entry_list(path: str, key: str, entries: List[Dict],
                     **fields: Any) -> None:
    """A json object ``{**fields, key: entries}`` with one entry per line
    (the datafiles and the segmentation annotations)."""
    head = ''.join(f' {json.dumps(k)}: {json.dumps(v)},\n'
                   for k, v in fields.items())
    body = ',\n'.join(f'  {json.dumps(e)}' for e in entries)
    with _atomic(path) as tmp:
        with open(tmp, 'w', encoding='utf-8') as f:
            f.write(f'{{\n{head} {json.dumps(key)}: [\n{body}\n ]\n}}\n')


def write_npy(path: str, array: np.ndarray) -> None:
    """One array as ``.npy`` (the stored fbank)."""
    with _atomic(path) as tmp:
        with open(tmp, 'wb') as f:
            np.save(f, array, allow_pickle=False)


def write_npz(path: str, arrays: Dict[str, np.ndarray]) -> None:
    """Like ``np.savez_compressed`` but with fixed member time stamps, so the
    same arrays give the same bytes; ``np.load`` reads it as usual."""
    with _atomic(path) as tmp:
        with zipfile.ZipFile(tmp, 'w', compression=zipfile.ZIP_DEFLATED) as zf:
            for name, array in arrays.items():
                buffer = io.BytesIO()
                np.lib.format.write_array(buffer, np.asarray(array),
                                          allow_pickle=False)
                info = zipfile.ZipInfo(f'{name}.npy', date_time=_ZIP_DATE)
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, buffer.getvalue())


def write_mp4(path: str, frames: np.ndarray, fps: int, wave: np.ndarray,
              sample_rate: int) -> None:
    """Frames ``(N, H, W, 3)`` uint8 at ``fps`` and a mono waveform as an
    H.264 (yuv420p, crf 18) + AAC mp4. H and W must be even."""
    height, width = frames.shape[1:3]
    if height % 2 or width % 2:
        raise ValueError(f'{path}: H.264 needs an even frame size, got '
                         f'{width}x{height}')
    with _atomic(path) as tmp:
        with av.open(tmp, mode='w', format='mp4') as container:
            video = container.add_stream('libx264', rate=fps)
            video.width, video.height, video.pix_fmt = width, height, 'yuv420p'
            video.options = {'crf': '18', 'preset': 'veryfast'}
            video.codec_context.thread_count = 1
            audio = container.add_stream('aac', rate=sample_rate)
            audio.layout = 'mono'
            for image in frames:
                frame = av.VideoFrame.from_ndarray(image, format='rgb24')
                container.mux(video.encode(frame))
            container.mux(video.encode())
            samples = np.asarray(wave, dtype=np.float32)[None]
            frame = av.AudioFrame.from_ndarray(samples, format='fltp',
                                               layout='mono')
            frame.sample_rate = sample_rate
            container.mux(audio.encode(frame))
            container.mux(audio.encode())


def check_video_readable(frame_size: int, fps: int, sample_rate: int) -> None:
    """Write a two-frame probe mp4 of this size and read it back with decord.

    decord 0.6.0 misreads H.264 video of some widths (16, 24, 48 and 72 px
    among the small ones: it reports 4 channels or fails); refusing such a
    size up front beats writing a dataset that the loaders cannot read.
    """
    try:
        import decord
    except ImportError:  # nothing to check against
        return
    with tempfile.TemporaryDirectory() as folder:
        path = osp.join(folder, 'probe.mp4')
        frames = np.zeros((2, frame_size, frame_size, 3), dtype=np.uint8)
        write_mp4(path, frames, fps, np.zeros(sample_rate // 4, np.float32),
                  sample_rate)
        try:
            shape = decord.VideoReader(path)[:].shape
        except decord.DECORDError:
            shape = None
    if shape is None or tuple(shape[1:]) != (frame_size, frame_size, 3):
        raise ValueError(
            f'frame_size {frame_size}: decord cannot read back H.264 video of '
            'this width (a decord bug); choose another size, e.g. 32, 40, '
            '56 or 64')
