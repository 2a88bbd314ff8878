"""The data sample passed between the pipeline, the models and the metrics."""
from typing import Optional, Sequence, Union

import numpy as np
import torch
from mmengine.structures import BaseDataElement

LabelType = Union[torch.Tensor, np.ndarray, Sequence[int], int]


def _to_long_tensor(value: LabelType) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value.long().flatten()
    if isinstance(value, np.ndarray):
        return torch.from_numpy(value).long().flatten()
    if isinstance(value, int):
        return torch.tensor([value], dtype=torch.long)
    return torch.tensor(list(value), dtype=torch.long)


class AVDataSample(BaseDataElement):
    """One clip (or one frame of a clip) and what is known or predicted about it.

    Meta information (set by the dataset / pipeline): ``video_id``,
    ``frame_indices`` (the frames i of T that the sample holds), ``num_frames`` (T),
    ``num_classes``.

    Ground truth: ``gt_label`` (LongTensor of class indices: one for
    single-label data, several for multi-label data) and ``gt_score``
    (multi-hot float vector of length ``num_classes``, set with the label when
    ``num_classes`` is known).

    Predictions written by models: ``global_audio`` / ``global_visual``
    (``(T, D)`` or ``(D,)``), ``audio_patches`` / ``visual_patches``, and
    ``pred_score`` for classifiers.
    """

    def set_gt_label(self, value: LabelType,
                     num_classes: Optional[int] = None) -> 'AVDataSample':
        label = _to_long_tensor(value)
        self.set_field(label, 'gt_label', dtype=torch.Tensor)
        num_classes = num_classes if num_classes is not None else \
            self.metainfo.get('num_classes')
        if num_classes is not None:
            if label.numel() and int(label.max()) >= num_classes:
                raise ValueError(
                    f'clip {self.metainfo.get("video_id", "?")}: label '
                    f'{int(label.max())} is out of range for {num_classes} '
                    'classes')
            score = torch.zeros(num_classes)
            score[label] = 1.0
            self.set_field(score, 'gt_score', dtype=torch.Tensor)
        return self
