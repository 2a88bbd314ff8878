"""Sound-prompted localisation with a frozen CAV-MAE Sync model."""
from typing import Dict, List, Optional

import torch
from mmengine.logging import MMLogger
from mmengine.model import BaseModel
from mmengine.runner import load_checkpoint

from cavsync_mm.registry import MODELS
from .heatmaps import (audio_visual_similarity, center_prior_heatmap,
                       patch_grid, upsample_heatmaps)

HEATMAP_SOURCES = ('audio', 'center_prior')


@MODELS.register_module()
class SoundPromptedLocalizer(BaseModel):
    """Where in the image is the sound of the prompt?

    The prompt's audio segment and the image go through the backbone
    (``extract_feat``); the cosine similarity of the global audio token with
    every visual patch token of the joint block's visual pass gives an
    ``h x w`` map (14 x 14 for ViT-B/16 at 224 px) that is upsampled
    bilinearly to the image size. ``predict`` writes it as ``heatmap``
    ``(H, W)`` into each data sample.

    Checkpoints: besides its own, the localizer loads a bare ``CAVMAESync``
    checkpoint (a pretraining ``epoch_N.pth``): its keys are moved under
    ``backbone.``, so ``tools/test.py <segmentation config> <pretraining
    checkpoint>`` works.

    Args:
        backbone: a ``CAVMAESync`` config (anything with
            ``extract_feat(audio, frames) -> dict``); may be None with
            ``heatmap='center_prior'``.
        pretrained: optional checkpoint loaded into the backbone at
            construction.
        heatmap: ``'audio'`` (the model) or ``'center_prior'`` (a Gaussian
            centred on the image, the same for every prompt: a baseline).
        center_prior_sigma: the Gaussian's standard deviation as a fraction
            of the image side.
        align_corners: of the bilinear upsampling.
        keep_tokens: also write the prompt's global audio token
            (``prompt_token``, ``(D,)``) and the image's visual patch tokens
            (``patch_tokens``, ``(P, D)``) into each data sample, for
            heatmaps computed over the whole evaluated set
            (``SoundPromptedSegmentationMetric(heatmap='feature_surgery')``).
    """

    def __init__(self, backbone: Optional[dict] = None,
                 pretrained: Optional[str] = None, heatmap: str = 'audio',
                 center_prior_sigma: float = 0.25,
                 align_corners: bool = False,
                 keep_tokens: bool = False,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        if data_preprocessor is None:
            data_preprocessor = dict(type='cavsync_mm.AudioVisualDataPreprocessor')
        super().__init__(data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        if heatmap not in HEATMAP_SOURCES:
            raise ValueError(f'heatmap must be one of {HEATMAP_SOURCES}, '
                             f'got {heatmap!r}')
        if heatmap == 'audio' and backbone is None:
            raise ValueError("heatmap='audio' needs a backbone config")
        self.heatmap = heatmap
        self.center_prior_sigma = center_prior_sigma
        self.align_corners = align_corners
        if keep_tokens and heatmap != 'audio':
            raise ValueError("keep_tokens needs heatmap='audio' (the "
                             'centre prior has no tokens)')
        self.keep_tokens = keep_tokens
        self.backbone = MODELS.build(backbone) if backbone is not None \
            else None
        if self.backbone is not None:
            self.backbone.requires_grad_(False)
            self.backbone.eval()
            if pretrained:
                load_checkpoint(self.backbone, pretrained, map_location='cpu',
                                strict=True,
                                logger=MMLogger.get_current_instance(),
                                revise_keys=[(r'^module\.', '')])
        self._register_load_state_dict_pre_hook(self._accept_bare_backbone)

    def _accept_bare_backbone(self, state_dict, prefix, *args, **kwargs):
        """Move the keys of a bare backbone checkpoint under ``backbone.``."""
        if self.backbone is None:
            return
        own = f'{prefix}backbone.'
        keys = [k for k in state_dict if k.startswith(prefix)]
        backbone_keys = set(self.backbone.state_dict())
        bare = [k for k in keys if k[len(prefix):] in backbone_keys]
        if bare and not any(k.startswith(own) and k[len(own):] in
                            backbone_keys for k in keys):
            for key in keys:
                state_dict[own + key[len(prefix):]] = state_dict.pop(key)

    def train(self, mode: bool = True):
        super().train(mode)
        if self.backbone is not None:
            self.backbone.eval()
        return self

    @torch.no_grad()
    def localize(self, audio: torch.Tensor,
                 frames: torch.Tensor) -> torch.Tensor:
        """Heatmaps ``(N, H, W)`` for prompt segments ``(N, L, F)`` and
        normalised images ``(N, 3, H, W)``."""
        return self._localize(audio, frames)[0]

    def _localize(self, audio, frames):
        """Heatmaps and the tokens they come from (None: centre prior)."""
        size = tuple(frames.shape[-2:])
        if self.heatmap == 'center_prior':
            prior = center_prior_heatmap(size, self.center_prior_sigma,
                                         frames.device)
            return prior.expand(frames.shape[0], -1, -1).clone(), None
        features: Dict[str, torch.Tensor] = self.backbone.extract_feat(
            audio, frames)
        patches = features['visual_patches']
        grid = patch_grid(patches.shape[1], size)
        maps = audio_visual_similarity(features['global_audio'], patches,
                                       grid)
        return upsample_heatmaps(maps, size, self.align_corners), features

    def forward(self, inputs: Dict[str, torch.Tensor],
                data_samples: Optional[List] = None, mode: str = 'tensor'):
        audio, frames = inputs['audio'], inputs['frames']
        if audio.dim() != 3 or frames.dim() != 4:
            raise ValueError('the localizer takes one prompt segment and one '
                             'image per sample: audio (N, L, F), frames '
                             f'(N, 3, H, W); got {tuple(audio.shape)}, '
                             f'{tuple(frames.shape)}')
        with torch.no_grad():
            heatmaps, features = self._localize(audio, frames)
        if mode == 'tensor':
            return heatmaps
        if mode == 'predict':
            for index, (sample, heatmap) in enumerate(
                    zip(data_samples, heatmaps)):
                sample.set_field(heatmap.cpu(), 'heatmap',
                                 dtype=torch.Tensor)
                if self.keep_tokens:
                    sample.set_field(features['global_audio'][index].cpu(),
                                     'prompt_token', dtype=torch.Tensor)
                    sample.set_field(features['visual_patches'][index].cpu(),
                                     'patch_tokens', dtype=torch.Tensor)
            return data_samples
        if mode == 'loss':
            raise NotImplementedError('SoundPromptedLocalizer is not trained '
                                      '(zero-shot evaluation only)')
        raise ValueError(f"mode must be 'tensor' or 'predict', got {mode!r}")
