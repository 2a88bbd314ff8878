"""Audio-visual mixup for probing (paper Table 9; release: beta(10, 10)).

Design: a dataset wrapper. Mixup needs a second clip, and the release mixes
the *waveforms* (before the fbank) and the frames (after cropping), so the
mix sits in the middle of the pipeline. The wrapped dataset's pipeline loads
and crops (``LoadAudio``, ``LoadFrames``, resize/crop); the wrapper mixes
two such results and runs its own ``pipeline`` (``ComputeFbank``,
``FrameAlignedSegments``, ``NormalizeFbank``, ..., ``PackAudioVisualInputs``).

Mixup needs waveforms: the log-Mel fbank of a mix is not a mix of fbanks, so
a stored fbank cannot stand in. The wrapped pipeline reads the wav (or a
shard's waveform) with ``LoadAudio(use_stored_fbank=False)``; a sample that
holds only a stored fbank raises a ``ClipError`` saying so.
"""
import copy
from typing import List, Union

import numpy as np
from mmengine.dataset import Compose

from cavsync_mm.registry import DATASETS
from .errors import ClipError


def mix_waveforms(first: np.ndarray, second: np.ndarray,
                  lam: float) -> np.ndarray:
    """``lam * first + (1 - lam) * second``, ``second`` cut or zero-padded
    to ``first``'s length, mean removed again (as the release)."""
    second = second[:len(first)]
    if len(second) < len(first):
        second = np.pad(second, (0, len(first) - len(second)))
    mixed = lam * first + (1.0 - lam) * second
    return (mixed - mixed.mean()).astype(np.float32)


@DATASETS.register_module()
class AudioVisualMixupDataset:
    """Mix each sample with a random other one with probability ``prob``.

    With ``lam ~ Beta(alpha, alpha)``: waveform, frames and labels become
    ``lam * first + (1 - lam) * second``; the soft label is packed as
    ``gt_score`` (``gt_label`` stays the first clip's). Frames of both clips
    must have one size, so end the wrapped pipeline with a fixed-size crop.

    Args:
        dataset (dict | AudioVisualDataset): the wrapped dataset, whose
            pipeline stops before ``ComputeFbank``.
        pipeline (list): transforms applied after mixing.
        alpha (float): Beta parameter. Defaults to 10 (release).
        prob (float): chance that a sample is mixed. Defaults to 0.5.
    """

    def __init__(self, dataset: Union[dict, object], pipeline: List[dict],
                 alpha: float = 10.0, prob: float = 0.5):
        self.dataset = DATASETS.build(dataset) if isinstance(dataset, dict) \
            else dataset
        self.pipeline = Compose(pipeline)
        self.alpha = alpha
        self.prob = prob

    @property
    def metainfo(self) -> dict:
        return copy.deepcopy(self.dataset.metainfo)

    def __len__(self) -> int:
        return len(self.dataset)

    def get_cat_ids(self, idx: int) -> List[int]:
        return self.dataset.get_cat_ids(idx)

    def full_init(self):
        self.dataset.full_init()

    def __getitem__(self, idx: int) -> dict:
        results = self.dataset[idx]
        if np.random.rand() < self.prob:
            other = self.dataset[int(np.random.randint(len(self.dataset)))]
            results = self.mix(results, other,
                               float(np.random.beta(self.alpha, self.alpha)))
        return self.pipeline(results)

    def mix(self, first: dict, second: dict, lam: float) -> dict:
        """Mix ``second`` into ``first`` with weight ``lam`` for ``first``."""
        shapes = {img.shape for img in first['imgs'] + second['imgs']}
        if len(shapes) != 1:
            raise ClipError(first.get('video_id', '?'), 'video_path',
                            f'mixup needs frames of one size, got '
                            f'{sorted(shapes)}; crop to a fixed size in the '
                            'wrapped pipeline')
        for sample in (first, second):
            if 'waveform' not in sample:
                raise ClipError(
                    sample.get('video_id', '?'), 'fbank',
                    'mixup mixes waveforms, and this sample holds only a '
                    'stored fbank; set LoadAudio(use_stored_fbank=False) '
                    'in the wrapped pipeline (the wav, or the waveform in a '
                    'shard, is read then)')
        first['waveform'] = mix_waveforms(first['waveform'],
                                          second['waveform'], lam)
        first['imgs'] = [
            lam * a.astype(np.float32) + (1.0 - lam) * b.astype(np.float32)
            for a, b in zip(first['imgs'], second['imgs'])
        ]
        num_classes = first.get('num_classes')
        if num_classes is not None and first.get('gt_label') is not None:
            score = np.zeros(num_classes, dtype=np.float32)
            score[first['gt_label']] += lam
            score[second['gt_label']] += 1.0 - lam
            first['gt_score'] = score
        first['mixup_lambda'] = lam
        first['mixup_video_id'] = second.get('video_id')
        # the skips both draws stood in for (counted by DataHealthHook)
        first['skipped_clips'] = list(first.get('skipped_clips', [])) + list(
            second.get('skipped_clips', []))
        return first
