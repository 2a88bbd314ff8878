"""Sound-prompted segmentation metric (the DenseAV protocol, paper Sec. 3.5.3).

For each prompt class, all pixels of all images prompted with that class are
pooled: AP is the binary average precision of the heatmap values against the
class mask, IoU is the best IoU over ``num_thresholds`` thresholds evenly
spaced between the smallest and the largest heatmap value of those pixels.
``mAP`` / ``mIoU`` are the means over classes, in percent.

The heatmaps are the model's (the paper's map, the default) or, as a
documented non-default option, CLIP Surgery's "feature surgery" maps computed
here from the tokens over the whole evaluated set (``heatmap=
'feature_surgery'``, see ``feature_surgery_similarity``).
"""
from collections import defaultdict
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger

from cavsync_mm.models.localizers.heatmaps import (
    feature_surgery_similarity, patch_grid, upsample_heatmaps)
from cavsync_mm.registry import METRICS

MIN_MAX_MODES = ('global', 'per_image', 'none')
HEATMAP_MODES = ('model', 'feature_surgery')


def binary_average_precision(scores: torch.Tensor,
                             targets: torch.Tensor) -> float:
    """Average precision of ``scores`` for the binary ``targets``.

    The step-wise sum over distinct score thresholds,
    ``sum_n (R_n - R_{n-1}) P_n``, the same definition as scikit-learn's
    ``average_precision_score``. Returns ``nan`` when there is no positive.
    """
    scores = scores.flatten().double()
    targets = targets.flatten().bool()
    num_positives = int(targets.sum())
    if num_positives == 0:
        return float('nan')
    order = torch.argsort(scores, descending=True, stable=True)
    sorted_scores = scores[order]
    hits = targets[order].double()
    true_positives = torch.cumsum(hits, 0)
    false_positives = torch.cumsum(1 - hits, 0)
    # keep only the last position of every run of tied scores
    threshold_end = torch.ones_like(sorted_scores, dtype=torch.bool)
    threshold_end[:-1] = sorted_scores[1:] != sorted_scores[:-1]
    true_positives = true_positives[threshold_end]
    false_positives = false_positives[threshold_end]
    precision = true_positives / (true_positives + false_positives)
    recall = true_positives / num_positives
    recall_step = torch.diff(recall, prepend=recall.new_zeros(1))
    return float((recall_step * precision).sum())


def best_threshold_iou(scores: torch.Tensor, targets: torch.Tensor,
                       num_thresholds: int = 20) -> float:
    """Best IoU of ``scores > threshold`` with ``targets``.

    The thresholds are ``num_thresholds`` values evenly spaced between the
    minimum and the maximum of ``scores`` (a threshold with an empty union
    scores 0).
    """
    scores = scores.flatten().double()
    targets = targets.flatten().bool()
    thresholds = torch.linspace(float(scores.min()), float(scores.max()),
                                num_thresholds, dtype=torch.float64)
    # counts of "score > threshold" for every threshold at once, by binary
    # search in the sorted scores (no (thresholds x pixels) boolean stack)
    all_sorted = torch.sort(scores).values
    positive_sorted = torch.sort(scores[targets]).values
    predicted = all_sorted.numel() - torch.searchsorted(
        all_sorted, thresholds, right=True)
    intersection = positive_sorted.numel() - torch.searchsorted(
        positive_sorted, thresholds, right=True)
    union = predicted + positive_sorted.numel() - intersection
    ious = torch.where(union > 0, intersection / union.clamp_min(1),
                       torch.zeros_like(thresholds))
    return float(ious.max())


def min_max_normalise(heatmaps: List[torch.Tensor],
                      mode: str = 'global') -> List[torch.Tensor]:
    """Scale heatmaps to [0, 1].

    ``'global'``: with the minimum and maximum over all heatmaps together
    (DenseAV's evaluation code normalises the whole evaluated batch at once);
    ``'per_image'``: each heatmap with its own minimum and maximum;
    ``'none'``: unchanged.
    """
    if mode not in MIN_MAX_MODES:
        raise ValueError(f'min_max must be one of {MIN_MAX_MODES}, '
                         f'got {mode!r}')
    if mode == 'none' or not heatmaps:
        return heatmaps
    if mode == 'global':
        low = min(float(h.min()) for h in heatmaps)
        high = max(float(h.max()) for h in heatmaps)
        return [(h - low) / max(high - low, 1e-12) for h in heatmaps]
    return [(h - h.min()) / (h.max() - h.min()).clamp_min(1e-12)
            for h in heatmaps]


@METRICS.register_module()
class SoundPromptedSegmentationMetric(BaseMetric):
    """mAP and mIoU of sound-prompted heatmaps against class masks.

    Reads from each data sample ``heatmap`` (``(H, W)`` float), ``gt_mask``
    (``(H, W)`` bool, the pixels of the prompted class) and the prompt class
    ``gt_label``.

    Args:
        num_thresholds: thresholds for the best-IoU search (20, DenseAV).
        min_max: heatmap normalisation before scoring: ``'global'``
            (DenseAV's code; it does not change AP nor the best IoU),
            ``'per_image'`` or ``'none'``.
        classwise: also report ``AP_<class>`` / ``IoU_<class>``.
        heatmap: ``'model'`` (default): score the ``heatmap`` the model
            wrote (the paper's map); ``'feature_surgery'``: NOT the paper's
            map; score CLIP Surgery's feature-surgery maps, computed from
            the ``prompt_token`` / ``patch_tokens`` the localizer writes
            with ``keep_tokens=True``: the mean unit prompt token of the
            evaluated set is removed from each prompt token
            (docs/toy_study.md, section 2).
        out_dir: no longer supported (a metric only scores): pictures of
            the heatmaps come from ``AVVisualizationHook``, e.g.
            ``default_hooks.visualization.enable=True``.
    """
    default_prefix = 'sound_prompted_segmentation'

    def __init__(self, num_thresholds: int = 20, min_max: str = 'global',
                 classwise: bool = False, out_dir: Optional[str] = None,
                 heatmap: str = 'model',
                 collect_device: str = 'cpu', prefix: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        if min_max not in MIN_MAX_MODES:
            raise ValueError(f'min_max must be one of {MIN_MAX_MODES}, '
                             f'got {min_max!r}')
        if heatmap not in HEATMAP_MODES:
            raise ValueError(f'heatmap must be one of {HEATMAP_MODES}, '
                             f'got {heatmap!r}')
        self.heatmap = heatmap
        self.num_thresholds = num_thresholds
        self.min_max = min_max
        self.classwise = classwise
        if out_dir is not None:
            raise ValueError(
                'SoundPromptedSegmentationMetric(out_dir=...) is gone: the '
                'heatmap pictures are drawn by the visualization hook: '
                "default_hooks.visualization=dict(type='AVVisualizationHook',"
                f' enable=True, out_dir={out_dir!r})')

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            name = sample.get('img_path') or sample.get('video_id') or str(
                len(self.results))
            fields = ('heatmap', ) if self.heatmap == 'model' else (
                'prompt_token', 'patch_tokens')
            for field in fields + ('gt_mask', 'gt_label'):
                if field not in sample:
                    hint = ('the model must write heatmap'
                            if self.heatmap == 'model' else
                            "heatmap='feature_surgery' needs the "
                            "localizer's keep_tokens=True")
                    raise KeyError(f'sample {name}: field {field!r} is '
                                   f'missing ({hint}, the dataset gt_mask '
                                   'and gt_label)')
            gt_mask = torch.as_tensor(sample['gt_mask']).bool().cpu()
            label = int(torch.as_tensor(sample['gt_label']).flatten()[0])
            result = dict(gt_mask=gt_mask, label=label)
            if self.heatmap == 'feature_surgery':
                for field in fields:
                    result[field] = torch.as_tensor(
                        sample[field]).detach().float().cpu()
                self.results.append(result)
                continue
            heatmap = torch.as_tensor(sample['heatmap']).detach().float().cpu()
            if heatmap.shape != gt_mask.shape:
                raise ValueError(f'sample {name}: heatmap shape '
                                 f'{tuple(heatmap.shape)} differs from gt_mask '
                                 f'shape {tuple(gt_mask.shape)}')
            self.results.append(dict(result, heatmap=heatmap))

    @staticmethod
    def _feature_surgery_heatmaps(results: List[dict]) -> None:
        """Fill in ``heatmap`` from the tokens of the whole set."""
        maps = feature_surgery_similarity(
            torch.stack([r['prompt_token'] for r in results]),
            torch.stack([r['patch_tokens'] for r in results]),
            patch_grid(results[0]['patch_tokens'].shape[0],
                       tuple(results[0]['gt_mask'].shape)))
        for small, result in zip(maps, results):
            result['heatmap'] = upsample_heatmaps(
                small[None], tuple(result['gt_mask'].shape))[0]

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        if self.heatmap == 'feature_surgery' and results:
            self._feature_surgery_heatmaps(results)
        heatmaps = min_max_normalise([r['heatmap'] for r in results],
                                     self.min_max)
        by_class = defaultdict(list)
        for heatmap, result in zip(heatmaps, results):
            by_class[result['label']].append((heatmap, result['gt_mask']))
        metrics, average_precisions, ious = {}, [], []
        for label in sorted(by_class):
            scores = torch.cat([h.flatten() for h, _ in by_class[label]])
            masks = torch.cat([m.flatten() for _, m in by_class[label]])
            average_precision = binary_average_precision(scores, masks)
            if np.isnan(average_precision):
                MMLogger.get_current_instance().warning(
                    f'sound-prompted segmentation: class {label} has no '
                    'positive pixel in its masks; it is left out of mAP/mIoU')
                continue
            iou = best_threshold_iou(scores, masks, self.num_thresholds)
            average_precisions.append(average_precision)
            ious.append(iou)
            if self.classwise:
                metrics[f'AP_{label}'] = 100 * average_precision
                metrics[f'IoU_{label}'] = 100 * iou
        if not average_precisions:
            raise ValueError('sound-prompted segmentation: no class has a '
                             'non-empty mask')
        metrics['mAP'] = 100 * float(np.mean(average_precisions))
        metrics['mIoU'] = 100 * float(np.mean(ious))
        metrics['num_classes'] = len(average_precisions)
        metrics['num_images'] = len(results)  # the images scored
        return metrics
