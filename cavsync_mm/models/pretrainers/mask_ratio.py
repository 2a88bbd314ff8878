"""Mask ratios per training step: fixed, or 'multi' (one random ratio per batch, equal on all ranks)."""
from typing import Optional, Tuple, Union

import torch
from mmengine.dist import sync_random_seed


class MaskRatioSampler:
    """Gives ``(audio_ratio, visual_ratio)`` for each training step.

    ``mask_ratio`` is a float (0.75 in the paper) or ``'multi'``: then each step
    draws one audio and one visual ratio uniformly from ``multi_range``
    ((0.6, 0.9)) with a generator seeded by ``(seed, step)``. The seed comes
    from rank 0 (``mmengine.dist.sync_random_seed``) unless given, so every rank
    masks its batch with the same ratios. The step counter is local to the
    sampler (it restarts at 0 when a run is resumed).
    """

    def __init__(self, mask_ratio: Union[float, str] = 0.75,
                 multi_range: Tuple[float, float] = (0.6, 0.9),
                 seed: Optional[int] = None):
        if isinstance(mask_ratio, str):
            if mask_ratio != 'multi':
                raise ValueError(f"mask_ratio must be a float or 'multi', got {mask_ratio!r}")
        elif not 0. <= mask_ratio < 1.:
            raise ValueError(f'mask_ratio must be in [0, 1), got {mask_ratio}')
        low, high = multi_range
        if not 0. <= low <= high < 1.:
            raise ValueError(f'multi_range must satisfy 0 <= low <= high < 1, got {multi_range}')
        self.mask_ratio = mask_ratio
        self.multi_range = (low, high)
        self.seed = seed
        self.step = 0

    def __call__(self) -> Tuple[float, float]:
        if self.mask_ratio != 'multi':
            return float(self.mask_ratio), float(self.mask_ratio)
        if self.seed is None:
            self.seed = int(sync_random_seed())
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.step)
        self.step += 1
        low, high = self.multi_range
        audio_ratio, visual_ratio = (low + (high - low) * torch.rand(2, generator=generator)).tolist()
        return audio_ratio, visual_ratio

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(mask_ratio={self.mask_ratio!r}, multi_range={self.multi_range})'
