"""Linear probing: a frozen CAV-MAE Sync backbone and a trained head."""
from typing import Dict, List, Optional, Union

import torch
from mmengine.logging import MMLogger
from mmengine.model import BaseModel

from cavsync_mm.registry import MODELS
from ..checkpoint_fit import load_pretrained_checked
from .probe_tokens import check_probe_choice, combine_modalities, \
    probe_tokens


@MODELS.register_module()
class AudioVisualClassifier(BaseModel):
    """Classify clips from the frozen backbone's per-frame tokens.

    A sample holds all T frames and their T frame-aligned audio segments
    (``sampling='all_frames'``). The backbone runs on the N*T (segment,
    frame) pairs; the chosen token of each frame forms a ``(N, T, C)``
    sequence for the head (``[g_a_t ; g_v_t]`` for audio-visual probing, the
    release's order).

    Inputs may instead carry precomputed ``features`` ``(N, T, C)`` (see
    ``cavsync_mm.datasets.CachedFeatureDataset``); then no backbone is
    needed.

    Args:
        head: a probe head config (``TemporalTransformerHead`` or
            ``LinearProbeHead``).
        backbone: a ``CAVMAESync`` config (anything with
            ``extract_feat(audio, frames) -> dict``), or None for cached
            features.
        pretrained: checkpoint of the backbone, loaded by ``init_weights``
            (keys of the ``CAVMAESync`` model; a ``module.`` prefix is
            removed).
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

    def __init__(self, head: dict, backbone: Optional[dict] = None,
                 pretrained: Optional[str] = None,
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
        self.pretrained = pretrained
        self.freeze_backbone = freeze_backbone
        self.backbone = MODELS.build(backbone) if backbone is not None \
            else None
        self.head = MODELS.build(head)
        if self.backbone is not None and freeze_backbone:
            self.backbone.requires_grad_(False)
            self.backbone.eval()

    def init_weights(self) -> None:
        super().init_weights()
        if self.backbone is None:
            return
        logger = MMLogger.get_current_instance()
        if self.pretrained:
            load_pretrained_checked(self.backbone,
                                    dict(checkpoint=self.pretrained),
                                    partial_flag='nothing: a probe needs '
                                    'the whole pretrained model')
        elif self.freeze_backbone:
            logger.warning('AudioVisualClassifier: no `pretrained` checkpoint '
                           'is given, the frozen backbone keeps its random '
                           'initialisation (set model.pretrained)')

    def train(self, mode: bool = True):
        super().train(mode)
        if self.backbone is not None and self.freeze_backbone:
            self.backbone.eval()
        return self

    def extract_feat(self, inputs: Dict[str, torch.Tensor]) -> torch.Tensor:
        """The head's input ``(N, T, C)``."""
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
            features = self.backbone.extract_feat(audio.flatten(0, 1),
                                                  frames.flatten(0, 1))
            audio_tokens, visual_tokens = probe_tokens(
                features, self.token, self.feature_source)
        tokens = combine_modalities(audio_tokens, visual_tokens,
                                    self.modality, self.modality_order)
        return tokens.reshape(batch, num_frames, -1)

    def forward(self, inputs: Dict[str, torch.Tensor],
                data_samples: Optional[List] = None,
                mode: str = 'tensor') -> Union[dict, list, torch.Tensor]:
        tokens = self.extract_feat(inputs)
        if mode == 'tensor':
            return self.head(tokens)
        if mode == 'loss':
            return self.head.loss(tokens, data_samples)
        if mode == 'predict':
            return self.head.predict(tokens, data_samples)
        raise ValueError(f"mode must be 'tensor', 'loss' or 'predict', "
                         f'got {mode!r}')
