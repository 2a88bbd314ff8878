"""Building blocks shared by the encoder and the decoder."""
from .masking import random_masking
from .patch_embed import PatchEmbed, patchify, spectrogram_to_image, unpatchify
from .position_embedding import sincos_1d, sincos_2d
from .transformer_block import (FeedForward, ModalityNormBlock,
                                MultiheadSelfAttention)

__all__ = [
    'random_masking', 'PatchEmbed', 'patchify', 'unpatchify',
    'spectrogram_to_image', 'sincos_1d', 'sincos_2d', 'ModalityNormBlock',
    'MultiheadSelfAttention', 'FeedForward'
]
