"""Audio augmentations: random time shifting (paper Table 9) and SpecAugment.

Both act on the frame-aligned segments under ``audio`` (``(L, F)`` or
``(T, L, F)``), each segment drawn independently.
"""
import numpy as np
import torch
import torchaudio

from cavsync_mm.registry import TRANSFORMS
from .base import ClipTransform


def _segments(audio: torch.Tensor) -> torch.Tensor:
    return audio.unsqueeze(0) if audio.dim() == 2 else audio


@TRANSFORMS.register_module()
class RandomTimeShift(ClipTransform):
    """Random time shifting (the release's ``noise`` option).

    Adds uniform noise scaled by ``U(0, 1) * noise_scale`` and rolls the
    segment in time by a shift drawn uniformly from ``[-max_shift,
    max_shift)`` frames (circularly, as the release does). Put it after
    ``NormalizeFbank`` like the release.

    Args:
        noise_scale (float): the noise is ``U(0,1)^(L,F) * U(0,1) *
            noise_scale``. Defaults to 0.1 (release); 0 turns it off.
        max_shift (int | None): largest shift in frames; None = the segment
            length L (release).
    """

    def __init__(self, noise_scale: float = 0.1, max_shift=None):
        self.noise_scale = noise_scale
        self.max_shift = max_shift

    def transform(self, results: dict) -> dict:
        audio = results['audio']
        shifted = []
        for segment in _segments(audio):
            length = segment.shape[0]
            max_shift = self.max_shift if self.max_shift is not None \
                else length
            if self.noise_scale:
                segment = segment + torch.rand_like(segment) * (
                    np.random.rand() * self.noise_scale)
            shift = int(np.random.randint(-max_shift, max_shift)) \
                if max_shift > 0 else 0
            shifted.append(torch.roll(segment, shift, dims=0))
        out = torch.stack(shifted)
        results['audio'] = out if audio.dim() == 3 else out[0]
        return results


@TRANSFORMS.register_module()
class SpecAugment(ClipTransform):
    """Frequency and time masking (torchaudio's ``FrequencyMasking`` /
    ``TimeMasking``), one mask of each per segment.

    Off in pretraining (paper); the release applies it before
    ``NormalizeFbank`` (masked bins become 0 in log-Mel units).

    Args:
        freq_mask_param (int): widest frequency mask in bins. Defaults to 48
            (CAV-MAE fine-tuning).
        time_mask_param (int): widest time mask in frames. Defaults to 192
            (CAV-MAE fine-tuning).
    """

    def __init__(self, freq_mask_param: int = 48, time_mask_param: int = 192):
        self.freq_mask_param = freq_mask_param
        self.time_mask_param = time_mask_param
        self._freq = torchaudio.transforms.FrequencyMasking(freq_mask_param)
        self._time = torchaudio.transforms.TimeMasking(time_mask_param)

    def transform(self, results: dict) -> dict:
        audio = results['audio']
        masked = []
        for segment in _segments(audio):
            spec = segment.t().unsqueeze(0)  # (1, F, L)
            spec = self._time(self._freq(spec))
            masked.append(spec.squeeze(0).t())
        out = torch.stack(masked)
        results['audio'] = out if audio.dim() == 3 else out[0]
        return results
