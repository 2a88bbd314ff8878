"""The shared MAE decoder that reconstructs masked audio and visual patches."""
from typing import Optional, Tuple

import torch
from mmengine.model import BaseModule
from torch import nn

from cavsync_mm.registry import MODELS
from ..backbones.audio_visual_encoder import (check_weight_init,
                                              init_transformer_weights)
from ..checkpoint_fit import load_pretrained_checked
from ..layers import ModalityNormBlock, sincos_2d


@MODELS.register_module()
class AudioVisualMAEDecoder(BaseModule):
    """Linear embed -> mask tokens unshuffled per modality -> positions and
    modality embeddings -> transformer blocks -> norm -> per-modality heads.

    Args:
        embed_dims: encoder width (768).
        decoder_embed_dims: decoder width (512).
        decoder_depth: decoder blocks (8).
        decoder_num_heads: decoder heads (16).
        mlp_ratio: MLP ratio (4).
        audio_grid: ``(frequency rows, time columns)`` of audio patches
            (``(8, 26)`` for 416-frame segments).
        visual_grid: ``(rows, cols)`` of visual patches (``(14, 14)``).
        patch_size: patch side (16): audio head predicts ``p*p`` values,
            visual head ``p*p*3``.
        norm_eps: LayerNorm epsilon (1e-5, as the release).
        weight_init: 'release' (xavier-uniform linears) or 'pytorch' (module
            defaults); ``CAVMAESync`` passes the backbone's.
    """

    def __init__(self,
                 embed_dims: int = 768,
                 decoder_embed_dims: int = 512,
                 decoder_depth: int = 8,
                 decoder_num_heads: int = 16,
                 mlp_ratio: float = 4.,
                 audio_grid: Tuple[int, int] = (8, 26),
                 visual_grid: Tuple[int, int] = (14, 14),
                 patch_size: int = 16,
                 norm_eps: float = 1e-5,
                 weight_init: str = 'release',
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        check_weight_init(weight_init)
        self.weight_init = weight_init
        self.audio_grid = tuple(audio_grid)
        self.visual_grid = tuple(visual_grid)
        self.num_audio_patches = self.audio_grid[0] * self.audio_grid[1]
        self.num_visual_patches = self.visual_grid[0] * self.visual_grid[1]
        self.decoder_embed = nn.Linear(embed_dims, decoder_embed_dims)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, decoder_embed_dims))
        self.register_buffer('audio_position_embedding',
                             sincos_2d(decoder_embed_dims, *self.audio_grid).unsqueeze(0))
        self.register_buffer('visual_position_embedding',
                             sincos_2d(decoder_embed_dims, *self.visual_grid).unsqueeze(0))
        self.audio_modality_embedding = nn.Parameter(torch.zeros(1, 1, decoder_embed_dims))
        self.visual_modality_embedding = nn.Parameter(torch.zeros(1, 1, decoder_embed_dims))
        self.blocks = nn.ModuleList(
            ModalityNormBlock(decoder_embed_dims, decoder_num_heads, mlp_ratio,
                              norm_eps=norm_eps, modalities=(None,))
            for _ in range(decoder_depth))
        self.norm = nn.LayerNorm(decoder_embed_dims, eps=norm_eps)
        self.audio_prediction = nn.Linear(decoder_embed_dims, patch_size ** 2)
        self.visual_prediction = nn.Linear(decoder_embed_dims, patch_size ** 2 * 3)

    def init_weights(self) -> None:
        if self.init_cfg is not None and self.init_cfg.get('type') == 'Pretrained':
            # keys and shapes checked first (allow_partial=True to skip)
            load_pretrained_checked(self, self.init_cfg)
            return
        if self.weight_init == 'release':
            init_transformer_weights(self)
        nn.init.normal_(self.mask_token, std=.02)
        nn.init.normal_(self.audio_modality_embedding, std=.02)
        nn.init.normal_(self.visual_modality_embedding, std=.02)

    def _unshuffle(self, kept: torch.Tensor, ids_restore: Optional[torch.Tensor],
                   num_patches: int) -> torch.Tensor:
        """Append mask tokens to the kept tokens and put all back in patch order."""
        if ids_restore is None:
            return kept
        batch, num_kept, dims = kept.shape
        mask_tokens = self.mask_token.expand(batch, num_patches - num_kept, -1)
        tokens = torch.cat([kept, mask_tokens], dim=1)
        return torch.gather(tokens, 1, ids_restore.unsqueeze(-1).expand(-1, -1, dims))

    def forward(self, joint_tokens: torch.Tensor,
                audio_ids_restore: Optional[torch.Tensor],
                visual_ids_restore: Optional[torch.Tensor],
                num_kept_audio: int) -> Tuple[torch.Tensor, torch.Tensor]:
        """``joint_tokens`` ``(N, Pa_kept + Pv_kept, D)`` -> audio ``(N, Pa, p*p)``
        and visual ``(N, Pv, p*p*3)`` patch predictions (all positions)."""
        tokens = self.decoder_embed(joint_tokens)
        audio = self._unshuffle(tokens[:, :num_kept_audio], audio_ids_restore,
                                self.num_audio_patches)
        visual = self._unshuffle(tokens[:, num_kept_audio:], visual_ids_restore,
                                 self.num_visual_patches)
        audio = audio + self.audio_position_embedding + self.audio_modality_embedding
        visual = visual + self.visual_position_embedding + self.visual_modality_embedding
        tokens = torch.cat([audio, visual], dim=1)
        for block in self.blocks:
            tokens = block(tokens)
        tokens = self.norm(tokens)
        return (self.audio_prediction(tokens[:, :self.num_audio_patches]),
                self.visual_prediction(tokens[:, self.num_audio_patches:]))
