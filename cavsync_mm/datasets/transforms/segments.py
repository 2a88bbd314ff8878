"""Frame-aligned audio segments (paper Sec. 3.3).

For frame ``i`` of ``T`` and a spectrogram of ``S`` frames the segment is
centred at ``floor(i * S / T)`` (the release rounds: ``round(i * S / T)``),
spans ``L`` frames and is shifted to stay inside ``[0, S)``.
"""
import logging
from typing import Optional, Sequence, Tuple

import torch
from mmengine.logging import print_log

from cavsync_mm.registry import TRANSFORMS
from ..errors import ClipError
from .base import ClipTransform, is_multi_frame

FBANK_FRAMES_PER_SECOND = 100  # 10 ms shift


def frame_aligned_segment_bounds(i: int, num_frames: int, spec_length: int,
                                 segment_length: int = 416,
                                 rounding: str = 'floor') -> Tuple[int, int]:
    """``(start, end)`` of the fbank frames aligned with video frame ``i``.

    Args:
        i: the frame, ``0 <= i < num_frames``.
        num_frames: T.
        spec_length: S, fbank frames of the whole clip (1024).
        segment_length: L (416 = 4.16 s).
        rounding: ``'floor'`` (paper) or ``'round'`` (release; Python's
            ``round``).

    Returns:
        ``start, end`` with ``end - start == segment_length``,
        ``0 <= start`` and ``end <= spec_length``.
    """
    if not 0 <= i < num_frames:
        raise ValueError(f'frame {i} is outside 0..{num_frames - 1}')
    if segment_length > spec_length:
        raise ValueError(f'segment_length {segment_length} exceeds the '
                         f'spectrogram length {spec_length}')
    if rounding == 'floor':
        center = (i * spec_length) // num_frames
    elif rounding == 'round':
        center = int(round(i * spec_length / num_frames))
    else:
        raise ValueError(f"rounding must be 'floor' or 'round', got "
                         f'{rounding!r}')
    start = center - segment_length // 2
    start = min(max(start, 0), spec_length - segment_length)
    return start, start + segment_length


def frame_aligned_segments(fbank: torch.Tensor, frame_indices: Sequence[int],
                           num_frames: int, segment_length: int = 416,
                           rounding: str = 'floor',
                           spec_length: Optional[int] = None) -> torch.Tensor:
    """Slice the segments of ``frame_indices`` from one clip fbank.

    Args:
        fbank: ``(S', n_mels)``; ``spec_length`` (default ``S'``) sets the S
            used for the centres.

    Returns:
        ``(len(frame_indices), L, n_mels)``.
    """
    spec_length = fbank.shape[0] if spec_length is None else spec_length
    if spec_length > fbank.shape[0]:
        raise ValueError(f'spec_length {spec_length} exceeds the fbank '
                         f'length {fbank.shape[0]}')
    segments = []
    for i in frame_indices:
        start, end = frame_aligned_segment_bounds(i, num_frames, spec_length,
                                                  segment_length, rounding)
        segments.append(fbank[start:end])
    return torch.stack(segments)


@TRANSFORMS.register_module()
class FrameAlignedSegments(ClipTransform):
    """Cut the audio segment(s) aligned with the sampled frame(s).

    Reads ``fbank``, ``fbank_num_frames``, ``frame_indices``, ``num_frames``
    and ``sampling``; writes ``audio``: ``(L, n_mels)`` for one frame,
    ``(T, L, n_mels)`` when ``sampling == 'all_frames'``, and
    ``audio_segments`` (the ``(start, end)`` of each).

    Args:
        segment_length (int): L in fbank frames. Defaults to 416 (4.16 s);
            1024 gives CAV-MAE's whole-clip audio.
        rounding (str): ``'floor'`` (paper, default) or ``'round'``
            (release).
        spec_length (int | str | None): S; defaults to the fbank's length
            (1024 = 10.24 s, the paper's and release's convention for 10 s
            clips). ``'clip'``: S = the fbank frames that hold the clip's
            audio, so frame ``i`` of a clip of any duration D is paired with
            the audio at ``i * D / T``, as frames sampled with
            ``LoadFrames(frame_index='uniform')`` (use it with
            ``ComputeFbank(target_length=None)`` and bound D with
            ``LoadAudio(max_duration=...)``).
        pad_short_audio (bool): audio with fewer than
            ``L - short_audio_tolerance`` fbank frames, or a chosen frame
            whose segment is more than ``max_segment_padding`` zero padding
            (a short clip's late frames with S = 1024), raises a
            ``ClipError`` naming the durations, unless this is True: then
            the segment is taken from the zero-padded fbank (as the release
            does) and a warning is logged. Defaults to False.
        max_segment_padding (float): the largest fraction of a segment that
            may be padding without an error. Defaults to 0.5: a 9.5 s
            AudioSet clip (18 % padding in its last segment) passes as in
            the release; a 5 s clip's frame 15 (100 %) does not.
        short_audio_tolerance (int): frames a clip may lack and still be
            padded without a word. Defaults to 32 (0.32 s): a 10 s clip has
            998 frames, which CAV-MAE's whole-clip mode (L = 1024) always
            pads to 1024.
    """

    def __init__(self, segment_length: int = 416, rounding: str = 'floor',
                 spec_length: Optional[int] = None,
                 pad_short_audio: bool = False,
                 short_audio_tolerance: int = 32,
                 max_segment_padding: float = 0.5):
        if rounding not in ('floor', 'round'):
            raise ValueError(f"rounding must be 'floor' or 'round', got "
                             f'{rounding!r}')
        self.segment_length = segment_length
        self.rounding = rounding
        self.spec_length = spec_length
        self.pad_short_audio = pad_short_audio
        self.short_audio_tolerance = short_audio_tolerance
        self.max_segment_padding = max_segment_padding
        if isinstance(spec_length, str) and spec_length != 'clip':
            raise ValueError("spec_length must be an int, None or 'clip', "
                             f'got {spec_length!r}')

    def transform(self, results: dict) -> dict:
        fbank = results['fbank']
        available = results.get('fbank_num_frames', fbank.shape[0])
        too_short = available < self.segment_length - \
            self.short_audio_tolerance
        if too_short:
            seconds = results.get('audio_duration',
                                  available / FBANK_FRAMES_PER_SECOND)
            message = (f'audio is {seconds:.2f} s '
                       f'({available} fbank frames), needs at least '
                       f'{self.segment_length / FBANK_FRAMES_PER_SECOND:.2f} '
                       f's ({self.segment_length} frames) for one segment')
            if not self.pad_short_audio:
                raise ClipError(self.clip_name(results), self._field(results),
                                message + '; set FrameAlignedSegments('
                                'pad_short_audio=True) to zero-pad it')
            print_log(f'clip {self.clip_name(results)}: {message}; '
                      'zero-padded (pad_short_audio=True)',
                      logger='current', level=logging.WARNING)
        frame_indices = results['frame_indices']
        num_frames = results['num_frames']
        if self.spec_length == 'clip':
            spec_length = max(min(available, fbank.shape[0]),
                              self.segment_length)
        else:
            spec_length = self.spec_length or fbank.shape[0]
        bounds = [frame_aligned_segment_bounds(i, num_frames, spec_length,
                                               self.segment_length,
                                               self.rounding)
                  for i in frame_indices]
        if not too_short:  # (a too short clip was refused or logged above)
            self._check_padding(results, bounds, available)
        audio = frame_aligned_segments(fbank, frame_indices, num_frames,
                                       self.segment_length, self.rounding,
                                       spec_length)
        results['audio_segments'] = bounds
        if not is_multi_frame(results):
            audio = audio[0]
        results['audio'] = audio
        return results

    def _check_padding(self, results: dict, bounds, available: int):
        """Refuse (or, with ``pad_short_audio``, log) a segment that is
        mostly the zero padding after the clip's audio."""
        for i, (start, end) in zip(results['frame_indices'], bounds):
            padding = max(0, end - max(start, available))
            fraction = padding / self.segment_length
            if fraction <= self.max_segment_padding:
                continue
            message = (f'the segment of frame {i} of {results["num_frames"]} '
                       f'(fbank frames {start}..{end}) is {fraction:.0%} '
                       f'padding: the audio ends at frame {available} '
                       f'({available / FBANK_FRAMES_PER_SECOND:.2f} s)')
            if not self.pad_short_audio:
                raise ClipError(
                    self.clip_name(results), self._field(results),
                    message + '; use FrameAlignedSegments(spec_length='
                    "'clip') to spread the segments over the clip's own "
                    'duration, or pad_short_audio=True to pad')
            print_log(f'clip {self.clip_name(results)}: {message}; '
                      'zero-padded (pad_short_audio=True)',
                      logger='current', level=logging.WARNING)
            return

    @staticmethod
    def _field(results: dict) -> str:
        return 'video' if results.get('video_file') and not results.get(
            'audio_path') else 'wav'
