"""Which backbone output a probe classifies (paper Table 12).

``'global'``: the global tokens g_a / g_v; ``'register'``: the mean of the
register tokens; ``'patch'``: the mean of the patch tokens (all from the
joint block's audio / visual passes, as ``CAVMAESync.extract_feat`` returns
them).
"""
from typing import Dict, Tuple

import torch

TOKEN_TYPES = ('global', 'register', 'patch')
MODALITIES = ('audio_visual', 'audio', 'visual')


def check_probe_choice(modality: str, token: str) -> None:
    """Raise a clear error for an unknown modality or token type."""
    if modality not in MODALITIES:
        raise ValueError(f'modality must be one of {MODALITIES}, '
                         f'got {modality!r}')
    if token not in TOKEN_TYPES:
        raise ValueError(f'token must be one of {TOKEN_TYPES}, '
                         f'got {token!r}')


def probe_tokens(features: Dict[str, torch.Tensor],
                 token: str = 'global') -> Tuple[torch.Tensor, torch.Tensor]:
    """``(audio, visual)`` tokens ``(B, D)`` of one token type."""
    if token == 'global':
        return features['global_audio'], features['global_visual']
    if token == 'register':
        if features.get('audio_registers') is None:
            raise ValueError("token='register' needs a backbone with register "
                             'tokens (num_register_tokens > 0)')
        return (features['audio_registers'].mean(1),
                features['visual_registers'].mean(1))
    if token == 'patch':
        return (features['audio_patches'].mean(1),
                features['visual_patches'].mean(1))
    raise ValueError(f'token must be one of {TOKEN_TYPES}, got {token!r}')


def combine_modalities(audio: torch.Tensor, visual: torch.Tensor,
                       modality: str = 'audio_visual') -> torch.Tensor:
    """``[visual ; audio]`` (2 D), or one of them (D), on the last axis."""
    if modality == 'audio_visual':
        return torch.cat([visual, audio], dim=-1)
    if modality == 'audio':
        return audio
    if modality == 'visual':
        return visual
    raise ValueError(f'modality must be one of {MODALITIES}, got {modality!r}')
