"""Pipeline transforms of cavsync (registered in the ``cavsync_mm`` scope)."""
from .audio import (ComputeFbank, LoadAudio, NormalizeFbank, kaldi_fbank,
                    load_audio, num_fbank_frames, probe_audio_duration)
from .augment import RandomTimeShift, SpecAugment
from .formatting import PackAudioVisualInputs
from .segments import (FrameAlignedSegments, frame_aligned_segment_bounds,
                       frame_aligned_segments)
from .video import (FRAME_INDEX_MODES, LoadFrames, ResizeFrames,
                    container_frame_index, decode_image, frame_time, probe_video, read_image, read_video_frames,
                    release_frame_index)

__all__ = [
    'LoadAudio', 'ComputeFbank', 'NormalizeFbank', 'load_audio',
    'kaldi_fbank', 'num_fbank_frames', 'probe_audio_duration', 'RandomTimeShift', 'SpecAugment',
    'PackAudioVisualInputs', 'FrameAlignedSegments',
    'frame_aligned_segment_bounds', 'frame_aligned_segments', 'LoadFrames',
    'container_frame_index', 'decode_image',
    'read_image', 'read_video_frames', 'ResizeFrames', 'FRAME_INDEX_MODES',
    'frame_time', 'probe_video', 'release_frame_index'
]
