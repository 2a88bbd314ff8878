"""The data sample passed between the pipeline, the models and the metrics."""
from typing import Optional

import torch
from mmpretrain.structures import DataSample, format_label
from mmpretrain.structures.data_sample import LABEL_TYPE


class AVDataSample(DataSample):
    """One clip (or one frame of a clip) and what is known or predicted about it.

    mmpretrain's ``DataSample`` (``set_gt_label`` / ``set_gt_score`` /
    ``set_pred_score`` / ``set_pred_label``, what mmpretrain's heads write
    and its metrics read) with one addition, below.

    Meta information (set by the dataset / pipeline): ``video_id``,
    ``frame_indices`` (the frames i of T that the sample holds), ``num_frames`` (T),
    ``num_classes``.

    Ground truth: ``gt_label`` (LongTensor of class indices: one for
    single-label data, several for multi-label data) and ``gt_score``
    (multi-hot float vector of length ``num_classes``, set with the label when
    ``num_classes`` is known; mixup replaces it with the mixed scores).

    Predictions written by models: ``global_audio`` / ``global_visual``
    (``(T, D)`` or ``(D,)``), ``audio_patches`` / ``visual_patches``, and
    ``pred_score`` / ``pred_label`` for classifiers.
    """

    def set_gt_label(self, value: LABEL_TYPE,
                     num_classes: Optional[int] = None) -> 'AVDataSample':
        """``gt_label`` as mmpretrain sets it, plus what ``DataSample``
        cannot express: the multi-hot ``gt_score`` of a multi-label clip
        (mmpretrain's heads train against ``gt_score`` when it is present,
        which is also how mixup's mixed scores reach them), and a label out
        of range raised with the clip's name instead of a bare one-hot
        index error."""
        label = format_label(value).long().flatten()
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
