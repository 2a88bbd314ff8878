"""Unstructured random masking of patch tokens (MAE)."""
from typing import Optional, Tuple

import torch


def random_masking(tokens: torch.Tensor, mask_ratio: float,
                   generator: Optional[torch.Generator] = None
                   ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Keep a random subset of ``int(P * (1 - mask_ratio))`` tokens per sample.

    The kept tokens are the ones with the smallest uniform noise (argsort), in
    that noise order.

    Returns:
        kept tokens ``(N, P_keep, D)``; ``mask`` ``(N, P)`` with 1 = removed
        (in the original patch order); ``ids_restore`` ``(N, P)`` that puts the
        ``[kept ; mask tokens]`` sequence back into the original order.
    """
    if not 0. <= mask_ratio < 1.:
        raise ValueError(f'mask_ratio must be in [0, 1), got {mask_ratio}')
    batch, length, dims = tokens.shape
    num_keep = int(length * (1 - mask_ratio))
    noise = torch.rand(batch, length, device=tokens.device, generator=generator)
    ids_shuffle = torch.argsort(noise, dim=1)
    ids_restore = torch.argsort(ids_shuffle, dim=1)
    ids_keep = ids_shuffle[:, :num_keep]
    kept = torch.gather(tokens, 1, ids_keep.unsqueeze(-1).expand(-1, -1, dims))
    mask = torch.ones(batch, length, device=tokens.device)
    mask[:, :num_keep] = 0
    mask = torch.gather(mask, 1, ids_restore)
    return kept, mask, ids_restore
