"""Loading the sampled video frames (extracted jpgs or a video container).

Frame ``i`` of ``T`` is ``{video_path}/frame_{i}/{video_id}.jpg`` in the
CAV-MAE layout. In the raw-video layout it is the container frame shown at
the time :func:`frame_time` gives (``frame_index='release'``: CAV-MAE's
extractor, frame ``max(int(i * N / T) - 1, 0)`` with
``N = min(frame count, int(fps * 10))``; ``'uniform'``: time
``i * duration / T`` over the whole clip, i.e. frame ``int(i * N / T)`` of a
constant-frame-rate video). Frames are paired with their time, not their
position in the stream, so variable-frame-rate video and edit lists (frames
before time 0) do not shift them. The result is a list of ``H x W x 3``
uint8 RGB arrays under ``imgs``, so mmaction's transforms
(``mmaction.Resize``, ``mmaction.CenterCrop``, ``mmaction.RandomResizedCrop``,
``mmaction.Flip``) and :class:`ResizeFrames` apply to all frames alike.
"""
import io
import os.path as osp
from typing import List, Optional, Sequence

import mmcv
import numpy as np
from mmengine import fileio
from mmaction.datasets.transforms import Resize as _MMActionResize
from PIL import Image

try:
    import simplejpeg
except ImportError:  # optional: PIL decodes then
    simplejpeg = None

from cavsync_mm.registry import TRANSFORMS
from ..errors import ClipError
from ..layout import extracted_frame_path
from .base import ClipTransform

#: how frame i of T maps to a time of a video (see :func:`frame_time`).
FRAME_INDEX_MODES = ('release', 'uniform')
#: seconds of video the release's extractor looks at (``N <= fps * 10``).
RELEASE_SPAN_SECONDS = 10


def container_frame_index(i: int, total_frames: int, num_frames: int) -> int:
    """The container frame that frame ``i`` of ``T`` is: ``int(i*N/T)``."""
    return int(i * total_frames / num_frames)


def release_frame_index(i: int, total_frames: int, num_frames: int,
                        fps: float) -> int:
    """The frame CAV-MAE's extractor reads for frame ``i`` of ``T``.

    ``N = min(total_frames, int(fps * 10))``; it sets OpenCV's position to
    ``int(i * N / T) - 1`` and reads the next frame, i.e. frame
    ``max(int(i * N / T) - 1, 0)`` (position -1 reads frame 0, measured
    with OpenCV on the real clips).
    """
    span = min(int(total_frames), int(fps * RELEASE_SPAN_SECONDS))
    return max(container_frame_index(i, span, num_frames) - 1, 0)


def frame_time(i: int, num_frames: int, duration: float, fps: float,
               frame_index: str = 'release') -> float:
    """Seconds (from the first frame) at which frame ``i`` of ``T`` is taken.

    Args:
        duration: the video's duration in seconds.
        fps: its (average) frame rate.
        frame_index: ``'release'`` (default): the frame
            :func:`release_frame_index` reads, at ``k / fps``, with
            ``N = round(duration * fps)`` frames; the first 10 s of the video
            only, matching the first 10.24 s of audio that a 1024-frame
            fbank holds. ``'uniform'``: ``i * duration / T`` (the paper's
            "uniformly sampled" over the whole clip; frame ``int(i * N / T)``
            of a constant-rate video).
    """
    if frame_index == 'release':
        total = int(round(duration * fps))
        return release_frame_index(i, total, num_frames, fps) / fps
    if frame_index == 'uniform':
        return i * duration / num_frames
    raise ValueError(f'frame_index must be one of {FRAME_INDEX_MODES}, got '
                     f'{frame_index!r}')


def check_frame_size(height: int, width: int, max_aspect_ratio: float):
    """Raise ``ValueError`` for a frame no resize can make sense of.

    A 2 x 2000 px video resized to a 224 px short side is 224,000 px wide
    (GBs per sample); refuse it before decoding.
    """
    if min(height, width) < 1:
        raise ValueError(f'frames are {width}x{height} px')
    ratio = max(height, width) / min(height, width)
    if max_aspect_ratio and ratio > max_aspect_ratio:
        raise ValueError(f'frames are {width}x{height} px, aspect ratio '
                         f'{ratio:.1f} > max_aspect_ratio={max_aspect_ratio}')


def _decode_size(height: int, width: int,
                 max_short_side: Optional[int]) -> Optional[tuple]:
    """(width, height) to scale to while decoding, or None to keep."""
    if not max_short_side or min(height, width) <= max_short_side:
        return None
    scale = max_short_side / min(height, width)
    return (max(1, int(round(width * scale))),
            max(1, int(round(height * scale))))


def probe_video(path: str) -> dict:
    """Duration (s), frame rate, frame size and frame count of a video's
    first video track, from its headers (no decoding)."""
    import av
    if not osp.isfile(path):
        raise FileNotFoundError(f'no such file: {path}')
    with av.open(path) as container:
        if not container.streams.video:
            raise ValueError(f'{path} has no video track')
        stream = container.streams.video[0]
        fps = float(stream.average_rate or stream.guessed_rate or 0)
        if stream.duration and stream.time_base:
            duration = float(stream.duration * stream.time_base)
        elif container.duration:
            duration = container.duration / 1e6
        else:
            duration = 0.0
        ctx = stream.codec_context
        return dict(duration=duration, fps=fps, height=int(ctx.height),
                    width=int(ctx.width), frames=int(stream.frames or 0))


def read_video_frames(path: str, frame_indices: Sequence[int],
                      num_frames: int, frame_index: str = 'release',
                      max_aspect_ratio: float = 0.0,
                      max_short_side: Optional[int] = None,
                      max_duration: Optional[float] = None
                      ) -> List[np.ndarray]:
    """Decode frames ``i`` of ``T`` (``frame_indices``) from a container.

    Bounded decoding with PyAV: the headers give duration, rate and size;
    for each wanted time (:func:`frame_time`) the decoder seeks to the
    keyframe before it and decodes up to it, so a 1-hour video costs a few
    GOPs per sample, not the whole stream. The frame shown at that time (the
    last with ``pts <= t``) is taken. ``max_short_side`` scales frames
    during decoding (swscale, area) so that the shorter side is at most that.

    Returns a list of ``H x W x 3`` uint8 RGB arrays. Raises ``ValueError``
    when the container cannot be decoded, has fewer than ``T`` frames, is
    longer than ``max_duration`` s or has an absurd aspect ratio.
    """
    import av
    info = probe_video(path)
    check_frame_size(info['height'], info['width'], max_aspect_ratio)
    if max_duration and info['duration'] > max_duration:
        raise ValueError(f'{path} is {info["duration"]:.1f} s long, more '
                         f'than max_duration={max_duration} s')
    if info['fps'] <= 0 or info['duration'] <= 0:
        raise ValueError(f'{path}: no frame rate / duration in its headers')
    total = int(round(info['duration'] * info['fps']))
    if total < num_frames:
        raise ValueError(f'{path} has {total} video frames, fewer than the '
                         f'{num_frames} to sample')
    times = [frame_time(i, num_frames, info['duration'], info['fps'],
                        frame_index) for i in frame_indices]
    size = _decode_size(info['height'], info['width'], max_short_side)
    with av.open(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = 'NONE'
        base = float(stream.start_time * stream.time_base) \
            if stream.start_time is not None else 0.0
        # 1 ms, so that k / fps lands on frame k when pts are rounded (mkv)
        eps = min(1e-3, 0.25 / info['fps'])
        wanted = sorted(set(times))
        shown = _frames_at(container, stream,
                           [base + t + eps for t in wanted], info['fps'])
        by_time = {}
        for t, frame in zip(wanted, shown):
            by_time[t] = frame.to_ndarray(format='rgb24') if size is None \
                else frame.to_ndarray(format='rgb24', width=size[0],
                                      height=size[1], interpolation='AREA')
    return [by_time[t] for t in times]


def _frames_at(container, stream, times: Sequence[float], fps: float,
               seek_gap: float = 2.0) -> list:
    """The frames shown at the ascending ``times`` (seconds).

    For each time the decoder seeks to the keyframe before it, unless the
    time lies less than ``seek_gap`` s ahead of what it has decoded: then it
    decodes on (one pass over a 10 s clip serves all T frames). The frame
    shown at ``t`` is the last with ``pts <= t`` (the first decoded one if a
    seek lands after ``t``). A stream that ends more than 1.5 frames before
    ``t`` (a truncated file) raises ``ValueError``.
    """
    shown_frames = []
    frames, last, ahead = None, None, None
    for t in times:
        target = int(t / stream.time_base)
        position = ahead if ahead is not None else last
        if frames is None or position is None or target < position.pts or \
                (target - position.pts) * stream.time_base > seek_gap:
            container.seek(max(target, 0), stream=stream, backward=True,
                           any_frame=False)
            frames, last, ahead = container.decode(stream), None, None
        shown = last
        if ahead is not None and ahead.pts <= target:
            shown, ahead = ahead, None
        if ahead is None:
            for frame in frames:
                if frame.pts is None:
                    continue
                if frame.pts > target:
                    ahead = frame
                    break
                shown = frame
        if shown is None:  # the seek landed after t
            shown = ahead
        if shown is None:
            raise ValueError(f'no frame decodes at {t:.3f} s')
        if ahead is None and float((target - shown.pts) *
                                   stream.time_base) > 1.5 / fps:
            raise ValueError(f'the video stream ends at {shown.time:.2f} s, '
                             f'before the frame at {t:.2f} s (truncated?)')
        last = shown
        shown_frames.append(shown)
    return shown_frames


def decode_image(data: bytes) -> np.ndarray:
    """Encoded image bytes as an ``H x W x 3`` uint8 RGB array.

    JPEG goes through simplejpeg (libjpeg-turbo): 1.5-4x faster than PIL
    with identical pixels (``docs/benchmarks.md``, "JPEG decoders"); other
    formats, JPEGs simplejpeg refuses (e.g. CMYK) or a missing simplejpeg
    fall back to PIL.
    """
    if data[:2] == b'\xff\xd8' and simplejpeg is not None:
        try:
            return simplejpeg.decode_jpeg(data, colorspace='RGB')
        except ValueError:
            pass  # PIL reads it or says what is wrong
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert('RGB'), dtype=np.uint8).copy()


def read_image(path: str, backend_args: Optional[dict] = None) -> np.ndarray:
    """An image file as an ``H x W x 3`` uint8 RGB array, read through
    MMEngine's fileio (``backend_args``: local disk by default, or petrel /
    http / a registered backend, as mmaction's ``RawFrameDecode``)."""
    return decode_image(fileio.get(path, backend_args=backend_args))


@TRANSFORMS.register_module()
class LoadFrames(ClipTransform):
    """Load the frames named by ``frame_indices`` (``i`` of ``num_frames``).

    Why not mmaction's decoders (docs/data.md, "Why LoadFrames"):
    ``RawFrameDecode`` fills one ``filename_tmpl`` per transform with the
    frame index, but the CAV-MAE layout puts the index in the directory and
    the clip's id in the name (``frame_{i}/{video_id}.jpg``), and frame i of
    T must map to ``frame_{int(i * extracted / T)}`` when 10 were extracted;
    ``DecordDecode`` / ``PyAVDecode`` take frame positions in the stream,
    while the audio segments are paired with frame *times* (variable frame
    rate and edit lists shift positions), the release's index rule is
    ``max(int(i * N / T) - 1, 0)`` over the first 10 s, and PyAVDecode
    decodes from the start of the file (no seeking) where this seeks to each
    frame; decord 0.6.0 also scrambles planar stereo, so its audio is not
    used either. What they bring is kept: extracted frames are read through
    MMEngine's fileio (``backend_args``), the output is mmaction's
    ``imgs`` / ``img_shape`` / ``original_shape`` / ``modality``.

    Reads extracted jpgs (``frame_dir`` + ``video_id``, from the datafile's
    ``video_path``) or decodes ``video_file`` with PyAV (seeking, see
    :func:`read_video_frames`). Adds ``imgs`` (list of ``H x W x 3`` uint8
    RGB), ``img_shape``, ``original_shape`` and ``modality='RGB'`` (what
    mmaction's transforms expect).

    Args:
        extracted_frames (int | None): how many frames were extracted per
            clip in the CAV-MAE layout; frame ``i`` of T then reads
            ``frame_{int(i * extracted_frames / T)}``. Defaults to None
            (= T: frame ``i`` reads ``frame_{i}``). Set 10 for datasets
            extracted for the original CAV-MAE.
        frame_index (str): raw video only: ``'release'`` (default; CAV-MAE's
            extractor: frame ``max(int(i * N / T) - 1, 0)`` of the first
            ``N = min(frames, fps * 10)``) or ``'uniform'`` (time
            ``i * duration / T`` over the whole clip). See
            :func:`frame_time`.
        max_aspect_ratio (float): frames whose long side is more than this
            times the short side raise a ``ClipError`` (0 = no limit).
            Defaults to 5.
        max_short_side (int | None): raw video only: scale frames during
            decoding so their shorter side is at most this (bounds the
            memory of 4K video). Defaults to None (decoded size).
        max_duration (float | None): raw video only: a longer video raises a
            ``ClipError``. Defaults to None (no limit; decoding seeks, so
            a long video costs little).
        backend_args (dict | None): MMEngine fileio backend of the
            extracted frames (e.g. ``dict(backend='petrel')``, or
            ``dict(backend='local')``). Defaults to None (local disk).
            Video containers are opened by PyAV from a local path.
    """

    def __init__(self, extracted_frames: Optional[int] = None,
                 frame_index: str = 'release',
                 max_aspect_ratio: float = 5.0,
                 max_short_side: Optional[int] = None,
                 max_duration: Optional[float] = None,
                 backend_args: Optional[dict] = None):
        if frame_index not in FRAME_INDEX_MODES:
            raise ValueError(f'frame_index must be one of '
                             f'{FRAME_INDEX_MODES}, got {frame_index!r}')
        self.extracted_frames = extracted_frames
        self.frame_index = frame_index
        self.max_aspect_ratio = max_aspect_ratio
        self.max_short_side = max_short_side
        self.max_duration = max_duration
        self.backend_args = backend_args

    def transform(self, results: dict) -> dict:
        clip = self.clip_name(results)
        frame_indices = results['frame_indices']
        num_frames = results['num_frames']
        if results.get('frame_dir'):
            field = 'video_path'
            imgs = []
            for i in frame_indices:
                k = i if self.extracted_frames is None else \
                    container_frame_index(i, self.extracted_frames, num_frames)
                path = extracted_frame_path(results['frame_dir'],
                                            results['video_id'], k)
                try:
                    imgs.append(read_image(path, self.backend_args))
                except Exception as err:
                    raise ClipError(clip, 'video_path',
                                    f'cannot read frame {i} of {num_frames} '
                                    f'from {path}: {err}') from err
        elif results.get('video_file'):
            field = 'video'
            path = results['video_file']
            try:
                imgs = read_video_frames(
                    path, frame_indices, num_frames, self.frame_index,
                    self.max_aspect_ratio, self.max_short_side,
                    self.max_duration)
            except Exception as err:
                raise ClipError(clip, 'video',
                                f'cannot decode frames from {path}: {err}'
                                ) from err
        else:
            raise ClipError(clip, 'video_path',
                            "the entry has neither 'video_path' nor 'video'")
        shapes = {img.shape for img in imgs}
        if len(shapes) != 1:
            raise ClipError(clip, field,
                            f'frames differ in size: {sorted(shapes)}')
        try:
            check_frame_size(*imgs[0].shape[:2], self.max_aspect_ratio)
        except ValueError as err:
            raise ClipError(clip, field, str(err)) from err
        results['imgs'] = imgs
        results['img_shape'] = imgs[0].shape[:2]
        results['original_shape'] = imgs[0].shape[:2]
        results['modality'] = 'RGB'
        return results


@TRANSFORMS.register_module()
class ResizeFrames(_MMActionResize):
    """``mmaction.Resize`` with a choice of backend: antialiased Pillow.

    The release's extractor resizes with PIL bicubic, which low-pass
    filters when it shrinks (antialiasing); ``mmaction.Resize`` calls
    OpenCV, which does not. Same arguments as ``mmaction.Resize`` plus

    Args:
        backend (str): ``'pillow'`` (default; the release's resize:
            antialiased, bicubic a = -0.5) or ``'cv2'``
            (= ``mmaction.Resize``).

    Measured (``tools/analysis_tools/benchmark_decoding.py --skip-long``,
    short side 224 + centre crop 224, 16 frames): mean |pillow - cv2| =
    5.38 / 255 on the real 1280x720 clip, 0.66 / 255 on the 256x144 one
    (upscaled: nothing to antialias).
    """

    def __init__(self, scale, keep_ratio: bool = True,
                 interpolation: str = 'bicubic', backend: str = 'pillow',
                 lazy: bool = False):
        if backend not in ('pillow', 'cv2'):
            raise ValueError(f"backend must be 'pillow' or 'cv2', got "
                             f'{backend!r}')
        super().__init__(scale, keep_ratio=keep_ratio,
                         interpolation=interpolation, lazy=lazy)
        self.backend = backend

    def _resize_imgs(self, imgs, new_w, new_h):
        return [mmcv.imresize(img, (new_w, new_h),
                              interpolation=self.interpolation,
                              backend=self.backend) for img in imgs]

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(scale={self.scale}, keep_ratio='
                f'{self.keep_ratio}, interpolation={self.interpolation!r}, '
                f'backend={self.backend!r})')
