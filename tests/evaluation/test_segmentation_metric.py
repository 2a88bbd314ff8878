"""SoundPromptedSegmentationMetric on hand-built heatmaps and masks."""
import numpy as np
import pytest
import torch
from sklearn.metrics import average_precision_score

from cavsync_mm.evaluation.metrics.segmentation import (
    SoundPromptedSegmentationMetric, best_threshold_iou,
    binary_average_precision, min_max_normalise)


def _square_mask(size=16, top=4, left=4, side=6):
    mask = torch.zeros(size, size, dtype=torch.bool)
    mask[top:top + side, left:left + side] = True
    return mask


def _run_metric(samples, **kwargs):
    metric = SoundPromptedSegmentationMetric(**kwargs)
    metric.process(None, samples)
    return metric.compute_metrics(metric.results)


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_average_precision_matches_sklearn_with_ties(seed):
    rng = np.random.default_rng(seed)
    scores = rng.random(5000).round(2)  # many tied scores
    targets = rng.random(5000) < 0.2
    ours = binary_average_precision(torch.from_numpy(scores),
                                    torch.from_numpy(targets))
    assert ours == pytest.approx(average_precision_score(targets, scores),
                                 abs=1e-12)


def test_average_precision_without_positives_is_nan():
    assert np.isnan(binary_average_precision(torch.rand(10),
                                             torch.zeros(10, dtype=bool)))


def test_best_iou_of_a_known_threshold():
    # scores 0, 1, 2, 3 on four pixels; target = the two top pixels
    scores = torch.tensor([0., 1., 2., 3.])
    targets = torch.tensor([False, False, True, True])
    # thresholds 0, 1, 2, 3: > 1 gives exactly the target -> IoU 1
    assert best_threshold_iou(scores, targets, 4) == pytest.approx(1.0)
    # with 2 thresholds (0 and 3): > 0 predicts 3 pixels -> IoU 2/3
    assert best_threshold_iou(scores, targets, 2) == pytest.approx(2 / 3)


def test_perfect_heatmap_scores_one_and_inverted_scores_low():
    masks = [_square_mask(top=2), _square_mask(top=8, left=9, side=5)]
    perfect = [dict(heatmap=m.float(), gt_mask=m, gt_label=torch.tensor([0]))
               for m in masks]
    result = _run_metric(perfect)
    assert result['mAP'] == pytest.approx(100.0)
    assert result['mIoU'] == pytest.approx(100.0)

    inverted = [dict(heatmap=1 - m.float(), gt_mask=m,
                     gt_label=torch.tensor([0])) for m in masks]
    result = _run_metric(inverted)
    positive_rate = float(torch.stack(masks).float().mean())
    # every positive pixel ranks last: AP equals the positive rate
    assert result['mAP'] == pytest.approx(100 * positive_rate, rel=1e-6)
    # "score > threshold" never selects the zero-valued object: IoU 0
    assert result['mIoU'] == pytest.approx(0.0)


def test_classes_are_pooled_then_averaged():
    mask = _square_mask()
    good = dict(heatmap=mask.float(), gt_mask=mask, gt_label=torch.tensor(0))
    bad = dict(heatmap=1 - mask.float(), gt_mask=mask,
               gt_label=torch.tensor(1))
    result = _run_metric([good, bad], classwise=True)
    assert result['AP_0'] == pytest.approx(100.0)
    assert result['AP_1'] < 30
    assert result['mAP'] == pytest.approx((result['AP_0'] + result['AP_1'])
                                          / 2)
    assert result['num_classes'] == 2


def test_per_image_normalisation_changes_pooled_ranking():
    # image A is confident, image B is faint; pooled AP differs with
    # per-image min-max scaling (B's object is lifted to 1).
    mask_a, mask_b = _square_mask(top=0), _square_mask(top=8)
    heat_a = mask_a.float() * 10
    heat_b = mask_b.float() * 0.5 + 0.6 * (~mask_b).float() * \
        (torch.arange(16.)[None, :] < 8)  # background brighter than object
    samples = [
        dict(heatmap=heat_a, gt_mask=mask_a, gt_label=torch.tensor(0)),
        dict(heatmap=heat_b, gt_mask=mask_b, gt_label=torch.tensor(0))]
    global_ = _run_metric(samples, min_max='global')['mAP']
    per_image = _run_metric(samples, min_max='per_image')['mAP']
    assert global_ != pytest.approx(per_image)
    # global min-max is affine: it changes nothing
    assert global_ == pytest.approx(_run_metric(samples, min_max='none')['mAP'])


def test_min_max_normalise_modes():
    maps = [torch.tensor([[1., 3.]]), torch.tensor([[5., 9.]])]
    assert [m.tolist() for m in min_max_normalise(maps, 'per_image')] == \
        [[[0., 1.]], [[0., 1.]]]
    assert min_max_normalise(maps, 'global')[1].tolist() == [[0.5, 1.0]]
    with pytest.raises(ValueError, match='min_max'):
        min_max_normalise(maps, 'bogus')


def test_shape_mismatch_and_missing_field_name_the_sample():
    metric = SoundPromptedSegmentationMetric()
    with pytest.raises(ValueError, match='img7'):
        metric.process(None, [dict(heatmap=torch.zeros(4, 4),
                                   gt_mask=torch.zeros(5, 5, dtype=bool),
                                   gt_label=torch.tensor(0),
                                   img_path='img7.jpg')])
    with pytest.raises(KeyError, match='heatmap'):
        metric.process(None, [dict(gt_mask=torch.zeros(5, 5, dtype=bool),
                                   gt_label=torch.tensor(0))])


def test_out_dir_is_refused_and_points_to_the_hook(tmp_path):
    """A metric scores; the pictures come from AVVisualizationHook
    (tests/models/test_localizer.py draws them through tools/test.py)."""
    with pytest.raises(ValueError, match='AVVisualizationHook'):
        SoundPromptedSegmentationMetric(out_dir=str(tmp_path))


def _shared_feature_tokens():
    """Two prompts that share a large common direction e0 (cosine 0.9 with
    each other) and differ along e1 / e2; each image: the object's patch
    along its class direction, three background patches along e0."""
    e = torch.eye(3)
    prompts = torch.stack([0.95 * e[0] + 0.3 * e[1], 0.95 * e[0] + 0.3 * e[2]])
    patches = torch.stack([
        torch.stack([e[1], e[0], e[0], e[0]]),
        torch.stack([e[0], e[0], e[0], e[2]])])
    masks = torch.zeros(2, 2, 2, dtype=torch.bool)  # one pixel per patch
    masks[0, 0, 0] = True  # patch 0
    masks[1, 1, 1] = True  # patch 3
    return prompts, patches, masks


def test_feature_surgery_scores_the_prompt_specific_map():
    from cavsync_mm.models.localizers import (audio_visual_similarity,
                                              upsample_heatmaps)
    prompts, patches, masks = _shared_feature_tokens()
    # the paper's cosine map follows the shared direction: background wins
    paper = upsample_heatmaps(
        audio_visual_similarity(prompts, patches, (2, 2)), (2, 2))
    samples = [dict(heatmap=h, gt_mask=m, gt_label=k, prompt_token=p,
                    patch_tokens=t) for k, (h, m, p, t) in
               enumerate(zip(paper, masks, prompts, patches))]
    assert _run_metric(samples)['mIoU'] == 0  # the object scores lowest
    surgery = _run_metric(samples, heatmap='feature_surgery')
    assert surgery['mIoU'] == pytest.approx(100)
    assert surgery['mAP'] == pytest.approx(100)
    assert surgery['num_images'] == 2


def test_feature_surgery_needs_the_tokens():
    samples = [dict(heatmap=torch.zeros(16, 16), gt_mask=_square_mask(),
                    gt_label=0, img_path='a.jpg')]
    with pytest.raises(KeyError, match="a.jpg.*prompt_token.*keep_tokens"):
        _run_metric(samples, heatmap='feature_surgery')
    with pytest.raises(ValueError, match='heatmap must be one of'):
        SoundPromptedSegmentationMetric(heatmap='negated')
