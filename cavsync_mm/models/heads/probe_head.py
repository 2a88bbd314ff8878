"""What every linear-probing head shares: the loss and the prediction.

A probe head maps a clip's token sequence ``(N, T, C)`` to class logits
``(N, K)``. Multi-label data (AudioSet) uses binary cross-entropy against
``gt_score`` and sigmoid scores; single-label data (VGGSound) uses
cross-entropy against ``gt_score`` (soft targets, so mixup's mixed labels
work) and softmax scores. Predictions go to ``pred_score`` as mmpretrain's
``AveragePrecision`` / ``Accuracy`` expect.
"""
from typing import List, Optional, Sequence

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule

LOSS_TYPES = ('bce', 'ce')


class ProbeHead(BaseModule):
    """Base class: subclasses implement ``forward(tokens) -> logits``.

    Args:
        num_classes: K (527 for AudioSet, 309 for VGGSound).
        in_channels: C, the width of one token (2 D for audio-visual).
        loss_type: ``'bce'`` (multi-label, AudioSet) or ``'ce'``
            (single-label, VGGSound).
        loss_weight: factor on the loss.
    """

    def __init__(self, num_classes: int, in_channels: int,
                 loss_type: str = 'bce', loss_weight: float = 1.0,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if loss_type not in LOSS_TYPES:
            raise ValueError(f'loss_type must be one of {LOSS_TYPES}, '
                             f'got {loss_type!r}')
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.loss_type = loss_type
        self.loss_weight = loss_weight

    def _targets(self, data_samples: Sequence, device) -> torch.Tensor:
        targets = []
        for sample in data_samples:
            if 'gt_score' in sample:
                score = sample.gt_score.float()
            else:
                score = torch.zeros(self.num_classes)
                score[sample.gt_label] = 1.0
            if score.numel() != self.num_classes:
                raise ValueError(
                    f'clip {sample.metainfo.get("video_id", "?")}: gt_score '
                    f'has {score.numel()} classes, the head {self.num_classes}')
            targets.append(score)
        return torch.stack(targets).to(device)

    def loss(self, tokens: torch.Tensor, data_samples: Sequence) -> dict:
        """``dict(loss=...)`` of the logits of ``tokens`` against the labels."""
        logits = self(tokens)
        targets = self._targets(data_samples, logits.device)
        if self.loss_type == 'bce':
            loss = F.binary_cross_entropy_with_logits(logits, targets)
        else:
            loss = F.cross_entropy(logits, targets)
        return dict(loss=self.loss_weight * loss)

    def scores(self, logits: torch.Tensor) -> torch.Tensor:
        """Sigmoid (multi-label) or softmax (single-label) class scores."""
        return torch.sigmoid(logits) if self.loss_type == 'bce' \
            else torch.softmax(logits, dim=-1)

    def predict(self, tokens: torch.Tensor,
                data_samples: Optional[Sequence] = None) -> List:
        """Write ``pred_score`` (and ``pred_label``, the top class) into the samples."""
        from cavsync_mm.structures import AVDataSample
        scores = self.scores(self(tokens)).detach()
        if data_samples is None:
            data_samples = [AVDataSample() for _ in range(len(scores))]
        for sample, score in zip(data_samples, scores):
            sample.set_field(score, 'pred_score', dtype=torch.Tensor)
            sample.set_field(score.argmax().reshape(1), 'pred_label',
                             dtype=torch.Tensor)
        return data_samples
