"""Linear probing: a frozen CAV-MAE Sync encoder, a neck and an mmpretrain head.

Built as mmpretrain's ``ImageClassifier`` is (backbone -> neck -> head):
the backbone is the ``AudioVisualEncoder`` alone, loaded from a pretraining
checkpoint with ``init_cfg=dict(type='Pretrained', checkpoint=...,
prefix='backbone.')`` (keys and shapes checked first, see
``checkpoint_fit``); the decoder and the losses of the pretrainer are not
built. The head is an mmpretrain classification head (``LinearClsHead``,
``MultiLabelLinearClsHead``), which computes the loss against ``gt_score`` /
``gt_label`` and writes ``pred_score`` / ``pred_label``.

What mmpretrain's ``ImageClassifier`` cannot do, and why this class exists:
one clip is T (segment, frame) pairs through a two-input encoder whose
output is a dict of token types; :mod:`.probe_tokens` picks one type
(Table 12), from the encoders or the joint block, and orders the two
modalities (``[audio ; visual]``, the release's) before the neck; and
precomputed features from the feature cache skip the backbone.
"""
import re
from typing import Dict, List, Optional, Union

import torch
from mmengine.logging import MMLogger
from mmengine.model import BaseModel

from cavsync_mm.registry import MODELS
from .probe_tokens import check_probe_choice, combine_modalities, \
    probe_tokens


# Probe checkpoints of the earlier layout (the whole pretrainer as backbone,
# the hand-written heads) -> this layout; the decoder's weights are dropped.
EARLIER_LAYOUT = (
    (r'^backbone\.backbone\.', 'backbone.'),
    (r'^backbone\.(neck|contrastive_loss|reconstruction_loss|'
     r'data_preprocessor)\.', None),
    (r'^head\.(cls_token|temporal_position_embedding)$', r'neck.\1'),
    (r'^head\.norm\.', 'neck.norm.'),
    (r'^head\.blocks\.(\d+)\.norm([12])\.', r'neck.blocks.\1.ln\2.'),
    (r'^head\.blocks\.(\d+)\.attn\.', r'neck.blocks.\1.attn.'),
    (r'^head\.blocks\.(\d+)\.mlp\.fc1\.', r'neck.blocks.\1.ffn.layers.0.0.'),
    (r'^head\.blocks\.(\d+)\.mlp\.fc2\.', r'neck.blocks.\1.ffn.layers.1.'),
)


def _load_earlier_layout(state_dict, prefix, *args) -> None:
    """Load-state-dict pre-hook: rename a probe checkpoint of the earlier
    layout in place (a no-op on checkpoints of this layout)."""
    if not any(key.startswith((f'{prefix}backbone.backbone.',
                               f'{prefix}head.blocks.', f'{prefix}head.norm.'))
               for key in state_dict):
        return
    for key in list(state_dict):
        if not key.startswith(prefix):
            continue
        for pattern, new in EARLIER_LAYOUT:
            if re.search(pattern, key[len(prefix):]):
                value = state_dict.pop(key)
                if new is not None:
                    state_dict[prefix + re.sub(pattern, new,
                                               key[len(prefix):])] = value
                break


@MODELS.register_module()
class AudioVisualClassifier(BaseModel):
    """Classify clips from the frozen encoder's per-frame tokens.

    A sample holds all T frames and their T frame-aligned audio segments
    (``sampling='all_frames'``). The backbone runs on the N*T (segment,
    frame) pairs; the chosen token of each frame forms a ``(N, T, C)``
    sequence (``[g_a_t ; g_v_t]`` for audio-visual probing, the release's
    order) for the neck, whose ``(N, C)`` feature the head classifies.

    Inputs may instead carry precomputed ``features`` ``(N, T, C)`` (see
    ``cavsync_mm.datasets.CachedFeatureDataset``); then no backbone is
    needed.

    Args:
        head: an mmpretrain classification head config
            (``mmpretrain.MultiLabelLinearClsHead`` for multi-label data such
            as AudioSet, ``mmpretrain.LinearClsHead`` for single-label data
            such as VGGSound).
        neck: ``TemporalTransformerNeck`` (the paper's probe) or
            ``TemporalMeanNeck`` (mean + LayerNorm, the plain linear probe).
        backbone: an ``AudioVisualEncoder`` config (the ``backbone`` of a
            ``CAVMAESync`` config) with ``init_cfg=dict(type='Pretrained',
            checkpoint=PRETRAINING.pth, prefix='backbone.')``, or None for
            cached features. A ``None`` checkpoint leaves the encoder at its
            random initialisation, with a warning.
        modality: ``'audio_visual'`` (paper), ``'audio'`` or ``'visual'``
            (Table 10).
        token: ``'global'`` (paper), ``'register'`` (register mean) or
            ``'patch'`` (patch mean) (Table 12).
        feature_source: ``'encoder'`` (the release's fine-tuning model
            ``CAVMAEFT``: the modality encoders' outputs, before the joint
            block and its norms) or ``'joint'`` (the joint block's passes
            after ``audio_norm`` / ``visual_norm``, as retrieval uses).
        modality_order: ``'audio_first'`` (release: ``[audio ; visual]``)
            or ``'visual_first'``.
        freeze_backbone: keep the backbone frozen (no gradients, eval mode).
            Defaults to True (linear probing).
        data_preprocessor: ``AudioVisualDataPreprocessor`` for raw clips; a
            plain ``BaseDataPreprocessor`` for cached features.
    """

    def __init__(self, head: dict, neck: Optional[dict] = None,
                 backbone: Optional[dict] = None,
                 modality: str = 'audio_visual', token: str = 'global',
                 feature_source: str = 'encoder',
                 modality_order: str = 'audio_first',
                 freeze_backbone: bool = True,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        check_probe_choice(modality, token, feature_source, modality_order)
        self.modality = modality
        self.token = token
        self.feature_source = feature_source
        self.modality_order = modality_order
        self.freeze_backbone = freeze_backbone
        self.checkpoint = None
        if backbone is not None:
            backbone = self._encoder_config(backbone)
            self.checkpoint = (backbone.get('init_cfg') or {}).get(
                'checkpoint')
        self.backbone = MODELS.build(backbone) if backbone is not None \
            else None
        self.neck = MODELS.build(neck) if neck is not None else None
        self.head = MODELS.build(head)
        if self.backbone is not None and freeze_backbone:
            self.backbone.requires_grad_(False)
            self.backbone.eval()
        self._register_load_state_dict_pre_hook(_load_earlier_layout)

    @staticmethod
    def _encoder_config(backbone: dict) -> dict:
        """The encoder config; a ``Pretrained`` init_cfg without a
        checkpoint (the configs' "fill in") is dropped."""
        kind = str(backbone.get('type', '')).split('.')[-1]
        if kind in ('CAVMAESync', 'CAVMAE'):
            raise ValueError(
                'AudioVisualClassifier: backbone is the whole pretrainer '
                f'({kind}); pass its encoder instead: backbone=dict('
                "<pretrainer>.backbone, init_cfg=dict(type='Pretrained', "
                "checkpoint=PRETRAINING.pth, prefix='backbone.'))")
        backbone = dict(backbone)
        init_cfg = backbone.get('init_cfg') or {}
        if init_cfg.get('type') == 'Pretrained' and \
                init_cfg.get('checkpoint') is None:
            backbone['init_cfg'] = None
        return backbone

    def init_weights(self) -> None:
        super().init_weights()  # the backbone's Pretrained init_cfg loads
        if self.backbone is not None and self.checkpoint is None and \
                self.freeze_backbone:
            MMLogger.get_current_instance().warning(
                'AudioVisualClassifier: no pretraining checkpoint is given, '
                'the frozen backbone keeps its random initialisation (set '
                'model.backbone.init_cfg.checkpoint)')

    def train(self, mode: bool = True):
        super().train(mode)
        if self.backbone is not None and self.freeze_backbone:
            self.backbone.eval()
        return self

    def extract_feat(self, inputs: Dict[str, torch.Tensor]) -> torch.Tensor:
        """The neck's input ``(N, T, C)``."""
        if 'features' in inputs:
            features = inputs['features']
            if isinstance(features, (list, tuple)):
                features = torch.stack(list(features))
            return features.float()
        if self.backbone is None:
            raise ValueError('inputs carry no "features" and the classifier '
                             'has no backbone')
        audio, frames = inputs['audio'], inputs['frames']
        if audio.dim() != 4 or frames.dim() != 5:
            raise ValueError(
                "probing needs all-frames samples (sampling='all_frames'): "
                f'audio (N, T, L, F) and frames (N, T, 3, H, W), got '
                f'{tuple(audio.shape)} and {tuple(frames.shape)}')
        batch, num_frames = audio.shape[:2]
        with torch.set_grad_enabled(not self.freeze_backbone and
                                    self.training):
            features = self.backbone(audio.flatten(0, 1),
                                     frames.flatten(0, 1))
            audio_tokens, visual_tokens = probe_tokens(
                features, self.token, self.feature_source)
        tokens = combine_modalities(audio_tokens, visual_tokens,
                                    self.modality, self.modality_order)
        return tokens.reshape(batch, num_frames, -1)

    def _head_input(self, inputs: Dict[str, torch.Tensor]) -> tuple:
        tokens = self.extract_feat(inputs)
        return self.neck(tokens) if self.neck is not None else (tokens, )

    def forward(self, inputs: Dict[str, torch.Tensor],
                data_samples: Optional[List] = None,
                mode: str = 'tensor') -> Union[dict, list, torch.Tensor]:
        feats = self._head_input(inputs)
        if mode == 'tensor':
            return self.head(feats)
        if mode == 'loss':
            return self.head.loss(feats, data_samples)
        if mode == 'predict':
            return self.head.predict(feats, data_samples)
        raise ValueError(f"mode must be 'tensor', 'loss' or 'predict', "
                         f'got {mode!r}')
