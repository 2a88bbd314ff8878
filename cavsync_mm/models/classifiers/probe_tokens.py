"""Which backbone output a probe classifies (paper Table 12).

``'global'``: the global tokens g_a / g_v; ``'register'``: the mean of the
register tokens; ``'patch'``: the mean of the patch tokens.

Where they are read (``source``): ``'encoder'`` (the release's fine-tuning
model ``CAVMAEFT``): the outputs of the modality encoders, before the joint
block and its norms; ``'joint'``: the joint block's audio / visual passes
after ``audio_norm`` / ``visual_norm`` (what retrieval and the heatmaps use).
``CAVMAESync.extract_feat`` returns both (the encoder ones prefixed
``encoder_``). Audio-visual inputs are ``[audio ; visual]`` in the release
(``order='audio_first'``).
"""
from typing import Dict, Tuple

import torch

TOKEN_TYPES = ('global', 'register', 'patch')
MODALITIES = ('audio_visual', 'audio', 'visual')
SOURCES = ('encoder', 'joint')
ORDERS = ('audio_first', 'visual_first')


def check_probe_choice(modality: str, token: str, source: str = 'encoder',
                       order: str = 'audio_first') -> None:
    """Raise a clear error for an unknown modality, token type, source or
    modality order."""
    for name, value, choices in (('source', source, SOURCES),
                                 ('order', order, ORDERS)):
        if value not in choices:
            raise ValueError(f'{name} must be one of {choices}, '
                             f'got {value!r}')
    if modality not in MODALITIES:
        raise ValueError(f'modality must be one of {MODALITIES}, '
                         f'got {modality!r}')
    if token not in TOKEN_TYPES:
        raise ValueError(f'token must be one of {TOKEN_TYPES}, '
                         f'got {token!r}')


def probe_tokens(features: Dict[str, torch.Tensor],
                 token: str = 'global', source: str = 'encoder'
                 ) -> Tuple[torch.Tensor, torch.Tensor]:
    """``(audio, visual)`` tokens ``(B, D)`` of one token type."""
    check_probe_choice('audio', token, source)
    prefix = 'encoder_' if source == 'encoder' else ''
    if f'{prefix}global_audio' not in features:
        raise KeyError(f'the features lack {prefix}global_audio: '
                       f'source={source!r} needs CAVMAESync.extract_feat')
    if token == 'global':
        return (features[f'{prefix}global_audio'],
                features[f'{prefix}global_visual'])
    if token == 'register':
        if features.get(f'{prefix}audio_registers') is None:
            raise ValueError("token='register' needs a backbone with register "
                             'tokens (num_register_tokens > 0)')
        return (features[f'{prefix}audio_registers'].mean(1),
                features[f'{prefix}visual_registers'].mean(1))
    return (features[f'{prefix}audio_patches'].mean(1),
            features[f'{prefix}visual_patches'].mean(1))


def combine_modalities(audio: torch.Tensor, visual: torch.Tensor,
                       modality: str = 'audio_visual',
                       order: str = 'audio_first') -> torch.Tensor:
    """``[audio ; visual]`` (2 D; ``[visual ; audio]`` with
    ``order='visual_first'``), or one of them (D), on the last axis."""
    check_probe_choice(modality, 'global', 'encoder', order)
    if modality == 'audio_visual':
        pair = [audio, visual] if order == 'audio_first' else [visual, audio]
        return torch.cat(pair, dim=-1)
    if modality == 'audio':
        return audio
    if modality == 'visual':
        return visual
    raise ValueError(f'modality must be one of {MODALITIES}, got {modality!r}')
