"""Patch embedding of spectrograms and frames, and the matching patchify for targets.

Audio ``(N, L, F)`` (time x mel bins) is turned into an image ``(N, 1, F, L)``
(frequency rows, time columns), so patches are frequency-major:
``index = f * (L / p) + t``. Frames ``(N, 3, H, W)`` use the usual row-major
ViT layout.
"""
from typing import Tuple

import torch
from torch import nn


def spectrogram_to_image(audio: torch.Tensor) -> torch.Tensor:
    """``(N, L, F)`` fbank -> ``(N, 1, F, L)`` single-channel image."""
    if audio.dim() != 3:
        raise ValueError(f'audio must be (N, L, n_mels), got shape {tuple(audio.shape)}')
    return audio.unsqueeze(1).transpose(2, 3)


def patchify(images: torch.Tensor, patch_size: int) -> torch.Tensor:
    """``(N, C, H, W)`` -> ``(N, H/p * W/p, p * p * C)`` in MAE's ``nhwpqc`` order."""
    batch, channels, height, width = images.shape
    rows, cols = height // patch_size, width // patch_size
    patches = images.reshape(batch, channels, rows, patch_size, cols, patch_size)
    patches = torch.einsum('nchpwq->nhwpqc', patches)
    return patches.reshape(batch, rows * cols, patch_size ** 2 * channels)


def unpatchify(patches: torch.Tensor, patch_size: int, channels: int,
               grid: Tuple[int, int]) -> torch.Tensor:
    """Inverse of :func:`patchify`: ``(N, P, p*p*C)`` -> ``(N, C, H, W)``."""
    rows, cols = grid
    batch = patches.shape[0]
    images = patches.reshape(batch, rows, cols, patch_size, patch_size, channels)
    images = torch.einsum('nhwpqc->nchpwq', images)
    return images.reshape(batch, channels, rows * patch_size, cols * patch_size)


class PatchEmbed(nn.Module):
    """Non-overlapping ``patch_size`` convolution that turns an image into tokens.

    Args:
        image_size: ``(H, W)`` of the input image (for audio: ``(n_mels, L)``).
        patch_size: side of a square patch (16).
        in_channels: 1 for spectrograms, 3 for RGB frames.
        embed_dims: token width.
    """

    def __init__(self, image_size: Tuple[int, int], patch_size: int,
                 in_channels: int, embed_dims: int):
        super().__init__()
        height, width = image_size
        if height % patch_size or width % patch_size:
            raise ValueError(f'input size {image_size} is not a multiple of the '
                             f'patch size {patch_size}')
        self.image_size = (height, width)
        self.patch_size = patch_size
        self.grid_size = (height // patch_size, width // patch_size)
        self.num_patches = self.grid_size[0] * self.grid_size[1]
        self.proj = nn.Conv2d(in_channels, embed_dims, patch_size, patch_size)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if tuple(images.shape[-2:]) != self.image_size:
            raise ValueError(f'expected inputs of size {self.image_size}, got '
                             f'{tuple(images.shape[-2:])}')
        return self.proj(images).flatten(2).transpose(1, 2)
