"""The audio branch of CAV-MAE Sync as an mmpretrain backbone."""
from typing import Tuple

import torch
from mmpretrain.registry import MODELS

from cavsync_mm.models.backbones import AudioVisualEncoder


@MODELS.register_module()
class CAVMAESyncAudioEncoder(AudioVisualEncoder):
    """CAV-MAE Sync's audio path (patch embedding, audio encoder, the joint
    block's audio pass and ``audio_norm``) for mmpretrain classifiers.

    Input: normalised fbanks ``(N, L, F)`` as mmpretrain's ``PackInputs``
    and ``ClsDataPreprocessor`` stack the pipeline's ``audio`` tensors, or
    one-channel spectrogram "images" ``(N, 1, L, F)``. Output: a one-tuple with ``(N, D)`` features, the global audio
    token (``out_type='global'``) or the mean of the audio patch tokens
    (``'patch_mean'``), ready for mmpretrain's ``*LinearClsHead``.

    The state dict is the full encoder's, so ``init_cfg=dict(type='Pretrained', checkpoint=...,
    prefix='backbone.')`` loads a CAV-MAE Sync pretraining checkpoint as is.
    The parts no audio pass uses (the visual branch, the joint block's
    shared and visual norms, ``joint_norm``) stay in the state dict but are
    frozen: they get no gradient, so DistributedDataParallel needs no
    ``find_unused_parameters`` and the optimizer leaves them as loaded.
    Other arguments: :class:`cavsync_mm.models.AudioVisualEncoder`.
    """
    VISUAL_PARTS = ('visual_patch_embed', 'visual_modality_embedding',
                    'visual_global_token', 'visual_encoder', 'visual_norm',
                    'visual_contrastive_head', 'joint_norm')
    OUT_TYPES = ('global', 'patch_mean')

    def __init__(self, out_type: str = 'global', **kwargs):
        super().__init__(**kwargs)
        if out_type not in self.OUT_TYPES:
            raise ValueError(f'out_type must be one of {self.OUT_TYPES}, '
                             f'got {out_type!r}')
        if out_type == 'global' and not self.use_global_token:
            raise ValueError("out_type='global' needs use_global_token=True")
        self.out_type = out_type
        for name in self.VISUAL_PARTS:
            part = getattr(self, name, None)
            if part is not None:
                part.requires_grad_(False)
        self.joint_block.set_modalities(('audio', ))

    def forward(self, spectrogram: torch.Tensor) -> Tuple[torch.Tensor]:
        if spectrogram.ndim == 4 and spectrogram.shape[1] == 1:
            spectrogram = spectrogram[:, 0]
        if spectrogram.ndim != 3:
            raise ValueError('expected (N, L, F) or (N, 1, L, F) '
                             f'spectrograms, got {tuple(spectrogram.shape)}')
        # the audio half of AudioVisualEncoder.forward (passes (a) and the
        # joint block's audio pass), without masking
        tokens = self._add_special_tokens(self.embed_audio(spectrogram),
                                          'audio')
        tokens = self._run(self.audio_encoder, tokens)
        if not self.keep_register_tokens and self.num_register_tokens:
            tokens = tokens[:, :tokens.shape[1] - self.num_register_tokens]
        tokens = self.joint_block(tokens, 'audio')
        if self.contrastive_head_depth:
            tokens = self._run(self.audio_contrastive_head, tokens)
        global_token, patches, _ = self._split_output(self.audio_norm(tokens))
        return (global_token if self.out_type == 'global' else
                patches.mean(dim=1), )
