"""CAV-MAE Sync pretraining (contrastive + masked reconstruction); CAV-MAE by configuration."""
from typing import Dict, List, Optional, Tuple, Union

import torch
from mmengine.model import BaseModel

from cavsync_mm.registry import MODELS
from cavsync_mm.structures import AVDataSample
from ..layers import patchify, spectrogram_to_image, unpatchify
from .mask_ratio import MaskRatioSampler

FEATURE_KEYS = ('global_audio', 'global_visual', 'audio_patches', 'visual_patches',
                'audio_registers', 'visual_registers')
# the modality encoders' outputs before the joint block (probe input of the
# release's fine-tuning model)
ENCODER_FEATURE_KEYS = tuple(
    f'encoder_{key}' for key in FEATURE_KEYS)


@MODELS.register_module()
class CAVMAESync(BaseModel):
    """The pretrainer: encoder (backbone), MAE decoder (neck) and the two losses.

    ``L = lambda_c * L_c + lambda_r * (L_r_audio + L_r_visual)``; the lambdas are
    the ``loss_weight`` of the two loss configs.

    Args:
        backbone: ``AudioVisualEncoder`` config.
        neck: ``AudioVisualMAEDecoder`` config; its ``embed_dims``, grids and
            patch size and ``weight_init`` are taken from the backbone when
            not given.
        contrastive_loss: ``InfoNCELoss`` config.
        reconstruction_loss: ``MaskedReconstructionLoss`` config.
        mask_ratio: float (0.75) or ``'multi'`` (one ratio per batch from
            ``multi_mask_ratio_range``, separately for audio and visual).
        multi_mask_ratio_range: range of the 'multi' ratios ((0.6, 0.9)).
        mask_ratio_seed: seed of the 'multi' ratios (None: drawn on rank 0).
        contrastive_features: ``'global'`` (global tokens; patch means when
            the backbone has no global token) or ``'global_and_local'`` (the
            release option: average of the global and the patch-mean losses).
        data_preprocessor: defaults to ``AudioVisualDataPreprocessor``.
    """

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 contrastive_loss: dict = dict(type='InfoNCELoss'),
                 reconstruction_loss: dict = dict(type='MaskedReconstructionLoss'),
                 mask_ratio: Union[float, str] = 0.75,
                 multi_mask_ratio_range: Tuple[float, float] = (0.6, 0.9),
                 mask_ratio_seed: Optional[int] = None,
                 contrastive_features: str = 'global',
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        if data_preprocessor is None:
            data_preprocessor = dict(type='AudioVisualDataPreprocessor')
        if isinstance(data_preprocessor, dict):  # build in the cavsync scope
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if contrastive_features not in ('global', 'global_and_local'):
            raise ValueError("contrastive_features must be 'global' or 'global_and_local', "
                             f'got {contrastive_features!r}')
        self.backbone = MODELS.build(backbone)
        neck = dict(neck)
        derived = dict(embed_dims=self.backbone.embed_dims,
                       audio_grid=tuple(self.backbone.audio_grid),
                       visual_grid=tuple(self.backbone.visual_grid),
                       patch_size=self.backbone.patch_size,
                       weight_init=self.backbone.weight_init)
        for key, value in derived.items():
            given = neck.setdefault(key, value)
            if (tuple(given) if isinstance(given, (list, tuple)) else given) != value:
                raise ValueError(f'neck.{key}={given} disagrees with the backbone ({value})')
        self.neck = MODELS.build(neck)
        self.contrastive_loss = MODELS.build(contrastive_loss)
        self.reconstruction_loss = MODELS.build(reconstruction_loss)
        self.mask_ratio_sampler = MaskRatioSampler(mask_ratio, multi_mask_ratio_range,
                                                   mask_ratio_seed)
        self.contrastive_features = contrastive_features

    # -------------------------------------------------------------- features
    def extract_feat(self, audio: torch.Tensor, frames: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Unmasked features of normalised inputs.

        ``audio`` ``(N, L, F)`` and ``frames`` ``(N, 3, H, W)`` give
        ``global_audio`` / ``global_visual`` ``(N, D)``, ``audio_patches``
        ``(N, Pa, D)``, ``visual_patches`` ``(N, Pv, D)`` and, with registers,
        ``audio_registers`` / ``visual_registers`` ``(N, R, D)``, and the same
        keys prefixed ``encoder_`` read before the joint block. All-frames
        inputs ``(N, T, L, F)`` / ``(N, T, 3, H, W)`` give ``(N, T, ...)``.
        """
        leading = None
        if audio.dim() == 4:
            if frames.dim() != 5 or frames.shape[:2] != audio.shape[:2]:
                raise ValueError(f'all-frames audio {tuple(audio.shape)} needs frames '
                                 f'(N, T, 3, H, W) with the same N, T, got {tuple(frames.shape)}')
            leading = audio.shape[:2]
            audio, frames = audio.flatten(0, 1), frames.flatten(0, 1)
        outputs = self.backbone(audio, frames)
        features = {key: outputs[key] for key in FEATURE_KEYS + ENCODER_FEATURE_KEYS
                    if key in outputs}
        if leading is not None:
            features = {key: value.reshape(*leading, *value.shape[1:])
                        for key, value in features.items()}
        return features

    # ------------------------------------------------------------------ modes
    def forward(self, inputs: dict, data_samples: Optional[List[AVDataSample]] = None,
                mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self.extract_feat(inputs['audio'], inputs['frames'])
        raise ValueError(f"mode must be 'loss', 'predict' or 'tensor', got {mode!r}")

    def loss(self, inputs: dict, data_samples: Optional[List[AVDataSample]] = None
             ) -> Dict[str, torch.Tensor]:
        """Losses of one batch of single-frame samples (one frame + its segment per clip)."""
        audio, frames = inputs['audio'], inputs['frames']
        if audio.dim() != 3 or frames.dim() != 4:
            raise ValueError('pretraining takes one frame per clip: audio (N, L, F) and '
                             f'frames (N, 3, H, W), got {tuple(audio.shape)} and '
                             f'{tuple(frames.shape)} (use sampling="random_frame")')
        audio_ratio, visual_ratio = self.mask_ratio_sampler()
        outputs = self.backbone(audio, frames, audio_ratio, visual_ratio, joint_pass=True)
        audio_prediction, visual_prediction = self.neck(
            outputs['joint_tokens'], outputs.get('audio_ids_restore'),
            outputs.get('visual_ids_restore'), outputs['audio_patches'].shape[1])

        losses = {}
        loss, accuracy = self.contrastive_loss(outputs['global_audio'], outputs['global_visual'])
        if self.contrastive_features == 'global_and_local':
            local_loss, _ = self.contrastive_loss(outputs['local_audio'], outputs['local_visual'])
            loss = (loss + local_loss) / 2
        losses['loss_contrastive'] = loss
        losses['contrastive_accuracy'] = accuracy

        patch_size = self.backbone.patch_size
        audio_target = patchify(spectrogram_to_image(audio), patch_size)
        visual_target = patchify(frames, patch_size)
        losses['loss_reconstruction_audio'] = self.reconstruction_loss(
            audio_prediction, audio_target, outputs.get('audio_mask'))
        losses['loss_reconstruction_visual'] = self.reconstruction_loss(
            visual_prediction, visual_target, outputs.get('visual_mask'))
        if self.mask_ratio_sampler.mask_ratio == 'multi':
            losses['audio_mask_ratio'] = audio.new_tensor(audio_ratio)
            losses['visual_mask_ratio'] = audio.new_tensor(visual_ratio)
        return losses

    def predict(self, inputs: dict, data_samples: Optional[List[AVDataSample]] = None
                ) -> List[AVDataSample]:
        """Write ``global_audio`` / ``global_visual`` (``(T, D)`` for all-frames
        inputs, ``(D,)`` for single-frame inputs, not normalised) into the samples."""
        features = self.extract_feat(inputs['audio'], inputs['frames'])
        batch = features['global_audio'].shape[0]
        if data_samples is None:
            data_samples = [AVDataSample() for _ in range(batch)]
        if len(data_samples) != batch:
            raise ValueError(f'{len(data_samples)} data samples for a batch of {batch}')
        for index, sample in enumerate(data_samples):
            sample.global_audio = features['global_audio'][index]
            sample.global_visual = features['global_visual'][index]
        return data_samples

    @torch.no_grad()
    def reconstruct(self, audio: torch.Tensor, frames: torch.Tensor,
                    mask_ratio: Optional[float] = None) -> Dict[str, torch.Tensor]:
        """Masked-autoencoding of normalised inputs, for pictures.

        Returns ``audio`` ``(N, L, F)`` and ``frames`` ``(N, 3, H, W)``
        reconstructions (visible patches: the input; masked patches: the
        prediction, de-normalised with the input patch's mean/std when the
        loss uses ``norm_pix_loss``) and ``audio_mask`` / ``visual_mask`` of the
        input size (1 = masked). ``mask_ratio`` defaults to the training ratio
        (0.75 for 'multi').
        """
        if mask_ratio is None:
            ratio = self.mask_ratio_sampler.mask_ratio
            mask_ratio = 0.75 if ratio == 'multi' else ratio
        outputs = self.backbone(audio, frames, mask_ratio, mask_ratio, joint_pass=True)
        predictions = self.neck(outputs['joint_tokens'], outputs.get('audio_ids_restore'),
                                outputs.get('visual_ids_restore'),
                                outputs['audio_patches'].shape[1])
        patch_size = self.backbone.patch_size
        images = (spectrogram_to_image(audio), frames)
        grids = (self.backbone.audio_grid, self.backbone.visual_grid)
        results = {}
        for name, image, grid, prediction in zip(('audio', 'visual'), images, grids, predictions):
            target = patchify(image, patch_size)
            prediction = prediction.float()
            if self.reconstruction_loss.norm_pix_loss:
                mean = target.mean(dim=-1, keepdim=True)
                std = (target.var(dim=-1, keepdim=True) + 1.e-6) ** .5
                prediction = prediction * std + mean
            mask = outputs.get(f'{name}_mask', torch.zeros(target.shape[:2], device=target.device))
            mixed = torch.where(mask.unsqueeze(-1).bool(), prediction, target)
            channels = image.shape[1]
            mask_image = unpatchify(mask.unsqueeze(-1).expand(-1, -1, patch_size ** 2 * channels),
                                    patch_size, channels, grid)
            results[f'{name}_reconstruction'] = unpatchify(mixed, patch_size, channels, grid)
            results[f'{name}_mask'] = mask_image[:, :1]
        # back to the input layouts: audio (N, L, F)
        results['audio'] = results.pop('audio_reconstruction')[:, 0].transpose(1, 2)
        results['audio_mask'] = results['audio_mask'][:, 0].transpose(1, 2)
        results['frames'] = results.pop('visual_reconstruction')
        results['visual_mask'] = results['visual_mask'][:, 0]
        return results
