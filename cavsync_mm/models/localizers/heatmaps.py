"""Sound-source heatmaps from audio and visual tokens (paper Sec. 3.5.3)."""
import math
from typing import Tuple

import torch
import torch.nn.functional as F


def patch_grid(num_patches: int, frame_size: Tuple[int, int]
               ) -> Tuple[int, int]:
    """The ``(rows, columns)`` of ``num_patches`` square patches tiling a
    frame of ``frame_size = (H, W)`` (14 x 14 for 224 x 224 and 16 px)."""
    height, width = frame_size
    patch = math.sqrt(height * width / num_patches)
    rows, columns = round(height / patch), round(width / patch)
    if rows * columns != num_patches:
        raise ValueError(f'{num_patches} patches do not tile a {height}x'
                         f'{width} frame with square patches')
    return rows, columns


def audio_visual_similarity(audio_token: torch.Tensor,
                            visual_patches: torch.Tensor,
                            grid: Tuple[int, int]) -> torch.Tensor:
    """Cosine similarity of each audio token ``(N, D)`` with every visual
    patch token of its image ``(N, P, D)``, as ``(N, rows, columns)`` maps."""
    audio_token = F.normalize(audio_token, dim=-1)
    visual_patches = F.normalize(visual_patches, dim=-1)
    similarity = torch.einsum('nd,npd->np', audio_token, visual_patches)
    return similarity.reshape(similarity.shape[0], *grid)


def feature_surgery_similarity(audio_tokens: torch.Tensor,
                               visual_patches: torch.Tensor,
                               grid: Tuple[int, int]) -> torch.Tensor:
    """Heatmaps with the prompts' redundant feature removed (NOT the paper's).

    The "feature surgery" of CLIP Surgery (Li et al., 2023, "CLIP Surgery
    for better explainability with enhancement in open-vocabulary tasks"),
    with audio prompts in place of class texts: the mean of the unit audio
    tokens of all ``N`` prompts (the feature every prompt shares) is
    subtracted from each unit audio token before the dot product with the
    unit visual patch tokens. The maps of a set therefore depend on the
    whole set of prompts (a class-balanced set gives the mean over classes,
    as CLIP Surgery's mean over the class vocabulary). Returns
    ``(N, rows, columns)`` from audio tokens ``(N, D)`` and the patch tokens
    of each prompt's image ``(N, P, D)``.

    Why (docs/toy_study.md, section 2): when the audio tokens share a large
    common direction, the paper's cosine map mostly measures each patch's
    similarity to that direction, which is not specific to the prompt.
    """
    audio_token = F.normalize(audio_tokens, dim=-1)
    specific = audio_token - audio_token.mean(0, keepdim=True)
    visual_patches = F.normalize(visual_patches, dim=-1)
    similarity = torch.einsum('nd,npd->np', specific, visual_patches)
    return similarity.reshape(similarity.shape[0], *grid)


def upsample_heatmaps(maps: torch.Tensor, size: Tuple[int, int],
                      align_corners: bool = False) -> torch.Tensor:
    """Bilinear upsampling of ``(N, h, w)`` maps to ``(N, H, W)``."""
    return F.interpolate(maps.unsqueeze(1).float(), size=tuple(size),
                         mode='bilinear',
                         align_corners=align_corners).squeeze(1)


def center_prior_heatmap(size: Tuple[int, int], sigma: float = 0.25,
                         device=None) -> torch.Tensor:
    """An isotropic Gaussian centred on the image, independent of any sound.

    ``sigma`` is a fraction of each side. A baseline that only knows that
    objects tend to sit in the middle of a photo.
    """
    height, width = size
    rows = (torch.arange(height, device=device) + 0.5) / height - 0.5
    columns = (torch.arange(width, device=device) + 0.5) / width - 0.5
    distance = rows[:, None]**2 + columns[None, :]**2
    return torch.exp(-distance / (2 * sigma**2))
