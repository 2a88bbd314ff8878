"""Datasets, samplers and transforms of cavsync."""
from . import transforms  # noqa: F401  (registers the transforms)
from .av_dataset import AudioVisualDataset, read_label_csv
from .errors import ClipError
from .mixup_dataset import AudioVisualMixupDataset, mix_waveforms
from .samplers import ClassBalancedSampler, class_balanced_weights
from .shards import (DecodeShardAudio, DecodeShardFrames,
                     ShardedAudioVisualDataset)

__all__ = [
    'AudioVisualDataset', 'read_label_csv', 'ClipError',
    'AudioVisualMixupDataset', 'mix_waveforms', 'ClassBalancedSampler',
    'class_balanced_weights', 'ShardedAudioVisualDataset',
    'DecodeShardAudio', 'DecodeShardFrames'
]
from . import synthetic  # noqa: F401
from . import feature_cache, sound_prompted_segmentation  # noqa: F401
