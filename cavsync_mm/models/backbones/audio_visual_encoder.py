"""The audio-visual encoder of CAV-MAE Sync (and, by configuration, CAV-MAE).

Audio segment and frame -> patch tokens (+ fixed sin-cos positions + learned
modality embedding) -> optional random masking of the patch tokens -> global
token prepended, register tokens appended -> modality encoders (11 blocks each
in ViT-B) -> joint block run three times with one set of weights:

(a) audio tokens with the audio norms, then ``audio_norm``;
(b) visual tokens with the visual norms, then ``visual_norm``;
(c) ``[audio patches ; visual patches]`` with the shared norms, then
    ``joint_norm`` (only needed by the decoder).
"""
from typing import Dict, Optional, Sequence, Tuple

import torch
from mmengine.model import BaseModule
from torch import nn

from cavsync_mm.registry import MODELS
from ..checkpoint_fit import load_pretrained_checked
from ..layers import (ModalityNormBlock, PatchEmbed, random_masking,
                      sincos_2d, spectrogram_to_image)


def init_transformer_weights(module: nn.Module) -> None:
    """xavier_uniform for Linear (zero bias), LayerNorm 1/0 (MAE / CAV-MAE init)."""
    for submodule in module.modules():
        if isinstance(submodule, nn.Linear):
            nn.init.xavier_uniform_(submodule.weight)
            if submodule.bias is not None:
                nn.init.zeros_(submodule.bias)
        elif isinstance(submodule, nn.LayerNorm):
            nn.init.ones_(submodule.weight)
            nn.init.zeros_(submodule.bias)


WEIGHT_INITS = ('release', 'pytorch')


def check_weight_init(weight_init: str) -> None:
    if weight_init not in WEIGHT_INITS:
        raise ValueError(f'weight_init must be one of {WEIGHT_INITS}, '
                         f'got {weight_init!r}')


@MODELS.register_module()
class AudioVisualEncoder(BaseModule):
    """Audio and visual ViT encoders meeting in a joint block with three norm sets.

    Args:
        embed_dims: token width (768 for ViT-B).
        encoder_depth: blocks in each modality encoder (11).
        num_heads: attention heads (12).
        mlp_ratio: MLP hidden width / token width (4).
        image_size: side of the square RGB frame (224).
        patch_size: patch side for both modalities (16).
        num_mel_bins: mel bins of the fbank (128).
        audio_length: fbank frames per audio input (416 = 4.16 s segment;
            1024 for CAV-MAE's whole clip).
        use_global_token: prepend a learned global token per modality (CAV-MAE
            Sync). Without it the global features are the mean of the patch
            tokens (CAV-MAE).
        num_register_tokens: register tokens per modality (8; 0 disables).
        keep_register_tokens: False (release): registers are dropped after the
            modality encoders. True (the paper's text): they also go through the
            joint block passes and are removed afterwards.
        contrastive_head_depth: blocks of the optional per-modality contrastive
            heads applied to passes (a) / (b) before the final norm (0 = none,
            the release default; the release's option uses 2).
        norm_eps: LayerNorm epsilon (1e-5: ``nn.LayerNorm``'s default, used by
            the CAV-MAE release; MAE uses 1e-6).
        register_init: 'randn' (release: standard normal) or 'normal_0.02'.
        weight_init: initialisation of the linear, patch-embedding and norm
            weights: 'release' (CAV-MAE / MAE: xavier-uniform, zero biases)
            or 'pytorch' (the modules' own defaults: kaiming-uniform with
            a=sqrt(5) and uniform biases; learns much faster at toy scale,
            docs/toy_study.md). Tokens and embeddings are drawn as in the
            release either way.
        init_cfg: MMEngine init config (e.g. ``dict(type='Pretrained', ...)``).
    """

    def __init__(self,
                 embed_dims: int = 768,
                 encoder_depth: int = 11,
                 num_heads: int = 12,
                 mlp_ratio: float = 4.,
                 image_size: int = 224,
                 patch_size: int = 16,
                 num_mel_bins: int = 128,
                 audio_length: int = 416,
                 use_global_token: bool = True,
                 num_register_tokens: int = 8,
                 keep_register_tokens: bool = False,
                 contrastive_head_depth: int = 0,
                 norm_eps: float = 1e-5,
                 register_init: str = 'randn',
                 weight_init: str = 'release',
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if register_init not in ('randn', 'normal_0.02'):
            raise ValueError(f"register_init must be 'randn' or 'normal_0.02', "
                             f'got {register_init!r}')
        check_weight_init(weight_init)
        self.weight_init = weight_init
        self.embed_dims = embed_dims
        self.patch_size = patch_size
        self.use_global_token = use_global_token
        self.num_register_tokens = num_register_tokens
        self.keep_register_tokens = keep_register_tokens
        self.register_init = register_init

        self.audio_patch_embed = PatchEmbed((num_mel_bins, audio_length),
                                            patch_size, 1, embed_dims)
        self.visual_patch_embed = PatchEmbed((image_size, image_size),
                                             patch_size, 3, embed_dims)
        self.audio_grid = self.audio_patch_embed.grid_size
        self.visual_grid = self.visual_patch_embed.grid_size
        self.register_buffer(
            'audio_position_embedding',
            sincos_2d(embed_dims, *self.audio_grid).unsqueeze(0))
        self.register_buffer(
            'visual_position_embedding',
            sincos_2d(embed_dims, *self.visual_grid).unsqueeze(0))
        self.audio_modality_embedding = nn.Parameter(torch.zeros(1, 1, embed_dims))
        self.visual_modality_embedding = nn.Parameter(torch.zeros(1, 1, embed_dims))

        if use_global_token:
            self.audio_global_token = nn.Parameter(torch.zeros(1, 1, embed_dims))
            self.visual_global_token = nn.Parameter(torch.zeros(1, 1, embed_dims))
        if num_register_tokens:
            # rows [:R] are the audio registers, rows [R:] the visual ones
            self.register_tokens = nn.Parameter(
                torch.zeros(2 * num_register_tokens, embed_dims))

        def blocks(depth):
            return nn.ModuleList(
                ModalityNormBlock(embed_dims, num_heads, mlp_ratio,
                                  norm_eps=norm_eps, modalities=(None,))
                for _ in range(depth))

        self.audio_encoder = blocks(encoder_depth)
        self.visual_encoder = blocks(encoder_depth)
        self.joint_block = ModalityNormBlock(embed_dims, num_heads, mlp_ratio,
                                             norm_eps=norm_eps)
        self.audio_norm = nn.LayerNorm(embed_dims, eps=norm_eps)
        self.visual_norm = nn.LayerNorm(embed_dims, eps=norm_eps)
        self.joint_norm = nn.LayerNorm(embed_dims, eps=norm_eps)
        self.contrastive_head_depth = contrastive_head_depth
        if contrastive_head_depth:
            self.audio_contrastive_head = blocks(contrastive_head_depth)
            self.visual_contrastive_head = blocks(contrastive_head_depth)

    # ------------------------------------------------------------------ init
    def init_weights(self) -> None:
        """CAV-MAE's initialisation; a ``Pretrained`` init_cfg loads weights instead."""
        if self.init_cfg is not None and self.init_cfg.get('type') == 'Pretrained':
            # keys and shapes checked first (allow_partial=True to skip)
            load_pretrained_checked(self, self.init_cfg)
            return
        if self.weight_init == 'release':
            init_transformer_weights(self)
            for patch_embed in (self.audio_patch_embed,
                                self.visual_patch_embed):
                weight = patch_embed.proj.weight.data
                nn.init.xavier_uniform_(weight.view(weight.shape[0], -1))
                nn.init.zeros_(patch_embed.proj.bias)
        nn.init.normal_(self.audio_modality_embedding, std=.02)
        nn.init.normal_(self.visual_modality_embedding, std=.02)
        if self.use_global_token:
            nn.init.normal_(self.audio_global_token, std=.02)
            nn.init.normal_(self.visual_global_token, std=.02)
        if self.num_register_tokens:
            if self.register_init == 'randn':
                nn.init.normal_(self.register_tokens, std=1.)
            else:
                nn.init.normal_(self.register_tokens, std=.02)

    # ----------------------------------------------------------------- parts
    @property
    def num_audio_patches(self) -> int:
        return self.audio_patch_embed.num_patches

    @property
    def num_visual_patches(self) -> int:
        return self.visual_patch_embed.num_patches

    @property
    def input_sizes(self) -> Tuple[Tuple[int, int], Tuple[int, int, int]]:
        """``((L, F), (3, H, W))``: fbank frames x mel bins of one audio
        segment, and the shape of one RGB frame, that this encoder takes."""
        num_mel_bins, length = self.audio_patch_embed.image_size
        return (length, num_mel_bins), (3, *self.visual_patch_embed.image_size)

    @property
    def num_prefix_tokens(self) -> int:
        """Tokens before the patches of one modality: the global token (0 or 1)."""
        return int(self.use_global_token)

    def embed_audio(self, audio: torch.Tensor) -> torch.Tensor:
        """``(N, L, F)`` fbank -> ``(N, Pa, D)`` tokens with positions and modality."""
        num_mel_bins, length = self.audio_patch_embed.image_size
        if tuple(audio.shape[-2:]) != (length, num_mel_bins):
            raise ValueError(
                f'audio segments of {tuple(audio.shape[-2:])} (fbank frames, mel '
                f'bins), but the model was built for ({length}, {num_mel_bins}) '
                '(backbone.audio_length / num_mel_bins): check the pipeline\'s '
                'FrameAlignedSegments.segment_length and ComputeFbank.num_mel_bins')
        tokens = self.audio_patch_embed(spectrogram_to_image(audio))
        return tokens + self.audio_position_embedding + self.audio_modality_embedding

    def embed_frames(self, frames: torch.Tensor) -> torch.Tensor:
        """``(N, 3, H, W)`` normalised frames -> ``(N, Pv, D)`` tokens."""
        if tuple(frames.shape[-2:]) != self.visual_patch_embed.image_size:
            raise ValueError(
                f'frames of {tuple(frames.shape[-2:])} px, but the model was built '
                f'for {self.visual_patch_embed.image_size} (backbone.image_size): '
                "check the pipeline's crop size")
        tokens = self.visual_patch_embed(frames)
        return tokens + self.visual_position_embedding + self.visual_modality_embedding

    def _add_special_tokens(self, patches: torch.Tensor, modality: str) -> torch.Tensor:
        """Prepend the global token and append the register tokens of ``modality``."""
        batch = patches.shape[0]
        parts = []
        if self.use_global_token:
            token = self.audio_global_token if modality == 'audio' \
                else self.visual_global_token
            parts.append(token.expand(batch, -1, -1))
        parts.append(patches)
        if self.num_register_tokens:
            rows = slice(0, self.num_register_tokens) if modality == 'audio' \
                else slice(self.num_register_tokens, None)
            parts.append(self.register_tokens[rows].unsqueeze(0).expand(batch, -1, -1))
        return torch.cat(parts, dim=1)

    def _split(self, tokens: torch.Tensor):
        """``[global? ; patches ; registers?]`` -> (global or None, patches, registers or None)."""
        start = self.num_prefix_tokens
        end = tokens.shape[1] - self.num_register_tokens
        global_token = tokens[:, 0] if self.use_global_token else None
        registers = tokens[:, end:] if self.num_register_tokens else None
        return global_token, tokens[:, start:end], registers

    @staticmethod
    def _run(blocks: Sequence[nn.Module], tokens: torch.Tensor,
             modality: Optional[str] = None) -> torch.Tensor:
        for block in blocks:
            tokens = block(tokens, modality)
        return tokens

    # --------------------------------------------------------------- forward
    def forward(self,
                audio: torch.Tensor,
                frames: torch.Tensor,
                audio_mask_ratio: float = 0.,
                visual_mask_ratio: float = 0.,
                joint_pass: bool = False) -> Dict[str, torch.Tensor]:
        """Encode a batch of audio segments ``(N, L, F)`` and frames ``(N, 3, H, W)``.

        Args:
            audio_mask_ratio / visual_mask_ratio: fraction of patch tokens to
                remove (0 = no masking). Global and register tokens are never masked.
            joint_pass: also run pass (c) on the concatenated patches (what the
                decoder reconstructs from).

        Returns a dict with ``global_audio`` / ``global_visual`` ``(N, D)``,
        ``audio_patches`` / ``visual_patches`` ``(N, P_kept, D)`` (passes (a)/(b)
        after ``audio_norm`` / ``visual_norm``), ``audio_registers`` /
        ``visual_registers`` ``(N, R, D)`` when registers are used,
        ``local_audio`` / ``local_visual`` (patch means), and when masking:
        ``audio_mask`` / ``visual_mask`` ``(N, P)`` (1 = removed) and
        ``audio_ids_restore`` / ``visual_ids_restore``; with ``joint_pass``:
        ``joint_tokens`` ``(N, Pa_kept + Pv_kept, D)`` after ``joint_norm``;
        always: the modality encoders' outputs before the joint block,
        ``encoder_global_audio`` / ``encoder_global_visual`` (patch means
        without global tokens), ``encoder_audio_patches`` /
        ``encoder_visual_patches`` and ``encoder_audio_registers`` /
        ``encoder_visual_registers`` with registers.
        """
        outputs = {}
        audio_tokens = self.embed_audio(audio)
        visual_tokens = self.embed_frames(frames)
        if audio_mask_ratio > 0:
            audio_tokens, outputs['audio_mask'], outputs['audio_ids_restore'] = \
                random_masking(audio_tokens, audio_mask_ratio)
        if visual_mask_ratio > 0:
            visual_tokens, outputs['visual_mask'], outputs['visual_ids_restore'] = \
                random_masking(visual_tokens, visual_mask_ratio)

        audio_tokens = self._run(self.audio_encoder,
                                 self._add_special_tokens(audio_tokens, 'audio'))
        visual_tokens = self._run(self.visual_encoder,
                                  self._add_special_tokens(visual_tokens, 'visual'))

        # the modality encoders' outputs (what the release's fine-tuning
        # model probes): encoder_global_*, encoder_*_patches, *_registers
        for name, tokens in (('audio', audio_tokens), ('visual', visual_tokens)):
            global_token, patches, registers = self._split(tokens)
            outputs[f'encoder_global_{name}'] = global_token \
                if global_token is not None else patches.mean(dim=1)
            outputs[f'encoder_{name}_patches'] = patches
            if registers is not None:
                outputs[f'encoder_{name}_registers'] = registers
        audio_registers = outputs.get('encoder_audio_registers')
        visual_registers = outputs.get('encoder_visual_registers')
        num_registers = self.num_register_tokens if self.keep_register_tokens else 0
        if not self.keep_register_tokens:
            # release default: registers end with the modality encoders
            audio_tokens = audio_tokens[:, :audio_tokens.shape[1] - self.num_register_tokens]
            visual_tokens = visual_tokens[:, :visual_tokens.shape[1] - self.num_register_tokens]
            if self.num_register_tokens:
                outputs['audio_registers'] = audio_registers
                outputs['visual_registers'] = visual_registers

        if joint_pass:
            prefix = self.num_prefix_tokens
            joint = torch.cat([audio_tokens[:, prefix:], visual_tokens[:, prefix:]], dim=1)
            joint = self.joint_norm(self.joint_block(joint))
            if num_registers:
                num_audio = audio_tokens.shape[1] - prefix
                keep = torch.ones(joint.shape[1], dtype=torch.bool, device=joint.device)
                keep[num_audio - num_registers:num_audio] = False
                keep[joint.shape[1] - num_registers:] = False
                joint = joint[:, keep]
            outputs['joint_tokens'] = joint

        audio_out = self.joint_block(audio_tokens, 'audio')
        visual_out = self.joint_block(visual_tokens, 'visual')
        if self.contrastive_head_depth:
            audio_out = self._run(self.audio_contrastive_head, audio_out)
            visual_out = self._run(self.visual_contrastive_head, visual_out)
        audio_out = self.audio_norm(audio_out)
        visual_out = self.visual_norm(visual_out)
        audio_global, audio_patches, audio_registers = self._split_output(audio_out)
        visual_global, visual_patches, visual_registers = self._split_output(visual_out)
        outputs['audio_patches'] = audio_patches
        outputs['visual_patches'] = visual_patches
        outputs['local_audio'] = audio_patches.mean(dim=1)
        outputs['local_visual'] = visual_patches.mean(dim=1)
        outputs['global_audio'] = audio_global if audio_global is not None \
            else outputs['local_audio']
        outputs['global_visual'] = visual_global if visual_global is not None \
            else outputs['local_visual']
        if self.keep_register_tokens and self.num_register_tokens:
            outputs['audio_registers'] = audio_registers
            outputs['visual_registers'] = visual_registers
        return outputs

    def _split_output(self, tokens: torch.Tensor):
        """Split a joint-block output; registers are present only when kept."""
        start = self.num_prefix_tokens
        num_registers = self.num_register_tokens if self.keep_register_tokens else 0
        end = tokens.shape[1] - num_registers
        global_token = tokens[:, 0] if self.use_global_token else None
        registers = tokens[:, end:] if num_registers else None
        return global_token, tokens[:, start:end], registers
