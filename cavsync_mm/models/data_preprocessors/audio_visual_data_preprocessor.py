"""Stacks audio segments and frames into batches and normalises the frames."""
from typing import Sequence, Union

import torch
from mmengine.model import BaseDataPreprocessor

from cavsync_mm.registry import MODELS


def _stack(values: Union[torch.Tensor, Sequence[torch.Tensor]], name: str) -> torch.Tensor:
    if isinstance(values, torch.Tensor):
        return values
    shapes = {tuple(value.shape) for value in values}
    if len(shapes) != 1:
        raise ValueError(f'cannot batch {name!r} inputs of different shapes {sorted(shapes)}; '
                         'check the segment length / frame size of the pipeline')
    return torch.stack(list(values))


@MODELS.register_module()
class AudioVisualDataPreprocessor(BaseDataPreprocessor):
    """Batch ``{'audio', 'frames'}`` inputs and normalise frames with ImageNet statistics.

    Audio ``(L, F)`` or ``(T, L, F)`` per sample (already normalised fbank) is
    stacked to ``(N, L, F)`` / ``(N, T, L, F)`` float32. Frames, uint8 RGB
    ``(3, H, W)`` or ``(T, 3, H, W)``, become float ``(frames - mean) / std``.

    Args:
        mean / std: per-channel RGB statistics in 0..255 units
            (ImageNet: (123.675, 116.28, 103.53) / (58.395, 57.12, 57.375)).
        non_blocking: non-blocking host-to-device copies.
    """

    def __init__(self,
                 mean: Sequence[float] = (123.675, 116.28, 103.53),
                 std: Sequence[float] = (58.395, 57.12, 57.375),
                 non_blocking: bool = False):
        super().__init__(non_blocking=non_blocking)
        if len(mean) != 3 or len(std) != 3:
            raise ValueError('mean and std need one value per RGB channel')
        self.register_buffer('mean', torch.tensor(mean).view(3, 1, 1), persistent=False)
        self.register_buffer('std', torch.tensor(std).view(3, 1, 1), persistent=False)

    def forward(self, data: dict, training: bool = False) -> dict:
        inputs = data['inputs']
        if isinstance(inputs, (list, tuple)):  # a list of per-sample dicts
            inputs = {key: [sample[key] for sample in inputs] for key in ('audio', 'frames')}
        missing = {'audio', 'frames'} - set(inputs)
        if missing:
            raise KeyError(f'inputs lack {sorted(missing)}; expected keys audio and frames')
        audio = _stack(inputs['audio'], 'audio')
        frames = _stack(inputs['frames'], 'frames')
        if frames.shape[-3] != 3:
            raise ValueError(f'frames must be RGB (..., 3, H, W), got {tuple(frames.shape)}')
        if audio.dim() - 1 != frames.dim() - 2:
            raise ValueError(f'audio {tuple(audio.shape)} and frames {tuple(frames.shape)} '
                             'disagree on single-frame vs all-frames layout')
        audio = self.cast_data(audio).float()
        frames = self.cast_data(frames).float()
        frames = (frames - self.mean) / self.std
        data_samples = data.get('data_samples')
        if data_samples is not None:
            data_samples = self.cast_data(data_samples)
        return {'inputs': {'audio': audio, 'frames': frames}, 'data_samples': data_samples}
