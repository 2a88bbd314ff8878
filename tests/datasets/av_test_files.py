"""Helpers for the dataset tests: small real mp4/wav/jpg files.

Videos are written with PyAV (H.264 + AAC). Frame ``k`` of a test video is a
flat grey of value ``(8 * k) % 256`` so a test can tell which frame was read.
"""
import json
import os
import os.path as osp

import av
import numpy as np
import soundfile
from PIL import Image

import cavsync_mm  # noqa: F401  (registers the cavsync components)
from cavsync_mm.datasets.layout import extracted_frame_path
from cavsync_mm.datasets.transforms import load_audio, read_video_frames


def frame_grey(k: int) -> int:
    return (8 * k) % 256


def make_video(path, num_frames=40, fps=10, size=(48, 64), audio_rate=48000,
               channels=2, audio_seconds=None, freq=440.0, amplitude=0.3,
               noisy=False, faststart=False):
    """Write an H.264 mp4 (and an AAC track unless ``audio_rate`` is None).

    The audio is a sine in the first channel and half of it in the second.
    ``noisy`` frames are random (large file); ``faststart`` puts the index
    (moov) first, so a truncated file still announces all its frames.
    """
    height, width = size
    rng = np.random.default_rng(0)
    options = {'movflags': 'faststart'} if faststart else {}
    with av.open(str(path), 'w', options=options) as container:
        video = container.add_stream('libx264', rate=fps)
        video.width, video.height, video.pix_fmt = width, height, 'yuv420p'
        video.options = {'crf': '10'}
        if audio_rate:
            audio = container.add_stream('aac', rate=audio_rate)
            audio.layout = 'stereo' if channels == 2 else 'mono'
            audio.bit_rate = 256000
        for k in range(num_frames):
            img = rng.integers(0, 256, (height, width, 3), np.uint8) \
                if noisy else np.full((height, width, 3), frame_grey(k),
                                      np.uint8)
            frame = av.VideoFrame.from_ndarray(img, format='rgb24')
            for packet in video.encode(frame):
                container.mux(packet)
        for packet in video.encode():
            container.mux(packet)
        if audio_rate:
            seconds = num_frames / fps if audio_seconds is None \
                else audio_seconds
            n = int(seconds * audio_rate)
            t = np.arange(n) / audio_rate
            sine = (amplitude * np.sin(2 * np.pi * freq * t)).astype(
                np.float32)
            data = np.stack([sine, 0.5 * sine]) if channels == 2 else sine[
                None]
            for start in range(0, n, 1024):
                part = np.ascontiguousarray(data[:, start:start + 1024])
                frame = av.AudioFrame.from_ndarray(
                    part, format='fltp', layout=audio.layout.name)
                frame.sample_rate = audio_rate
                frame.pts = start
                for packet in audio.encode(frame):
                    container.mux(packet)
            for packet in audio.encode():
                container.mux(packet)
    return str(path)


def extract_cavmae_layout(video_file, root, num_frames=16, video_id=None):
    """Write one clip in the CAV-MAE layout under ``root``; return its entry.

    Frames ``frames/frame_{i}/{id}.jpg`` (quality 95) and
    ``audio/{id}.wav`` (16 kHz mono) through the package's own readers.
    """
    video_id = video_id or osp.splitext(osp.basename(video_file))[0]
    frames = read_video_frames(str(video_file), range(num_frames),
                               num_frames)
    frame_root = osp.join(str(root), 'frames')
    for i, frame in enumerate(frames):
        path = extracted_frame_path(frame_root, video_id, i)
        os.makedirs(osp.dirname(path), exist_ok=True)
        Image.fromarray(frame).save(path, quality=95)
    os.makedirs(osp.join(str(root), 'audio'), exist_ok=True)
    wav = osp.join(str(root), 'audio', f'{video_id}.wav')
    soundfile.write(wav, load_audio(str(video_file)), 16000)
    return {'video_id': video_id, 'wav': f'audio/{video_id}.wav',
            'video_path': 'frames/'}


def write_json(path, entries):
    with open(path, 'w') as f:
        json.dump({'data': entries}, f)
    return str(path)


def write_label_csv(path, mids):
    with open(path, 'w') as f:
        f.write('index,mid,display_name\n')
        for index, mid in enumerate(mids):
            f.write(f'{index},{mid},"class {mid}"\n')
    return str(path)


def short_pipeline(segment_length=416, crop=32, pack=True):
    """A pipeline with small frames for fast tests.

    The test clips are 5 s long: segments follow the clip's own duration
    (``spec_length='clip'``), not the 10.24 s of a 1024-frame fbank, whose
    late segments would be padding.
    """
    pipeline = [
        dict(type='LoadAudio'),
        dict(type='ComputeFbank'),
        dict(type='FrameAlignedSegments', segment_length=segment_length,
             spec_length='clip'),
        dict(type='NormalizeFbank'),
        dict(type='LoadFrames'),
        dict(type='mmaction.Resize', scale=(-1, crop),
             interpolation='bicubic'),
        dict(type='mmaction.CenterCrop', crop_size=crop),
    ]
    if pack:
        pipeline.append(dict(type='PackAudioVisualInputs'))
    return pipeline


def use_cavsync_scope():
    """Make ``Compose`` / dataset pipelines resolve names in ``cavsync_mm``."""
    from mmengine.registry import DefaultScope
    if DefaultScope.get_current_instance() is None or \
            DefaultScope.get_current_instance().scope_name != 'cavsync_mm':
        DefaultScope.get_instance(f'cavsync-tests-{id(object())}',
                                  scope_name='cavsync_mm')


class CapturedLog:
    """Collect the messages MMEngine's current logger emits (``with`` block)."""

    def __enter__(self):
        import logging
        from mmengine.logging import MMLogger
        self.messages = []
        outer = self

        class _Handler(logging.Handler):

            def emit(self, record):
                outer.messages.append(record.getMessage())

        self._logger = MMLogger.get_current_instance()
        self._handler = _Handler(level=logging.DEBUG)
        self._logger.addHandler(self._handler)
        return self

    def __exit__(self, *exc):
        self._logger.removeHandler(self._handler)

    def text(self) -> str:
        return '\n'.join(self.messages)
