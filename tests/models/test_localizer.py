"""Sound-prompted localisation: heatmaps, upsampling, checkpoints, the
segmentation dataset on real image/mask/wav files and tools/test.py."""
import json
import subprocess
import sys

import numpy as np
import pytest
import soundfile
import torch
import torch.nn.functional as F
from PIL import Image

import cavsync_mm  # noqa: F401
from cavsync_mm.models.localizers import (audio_visual_similarity,
                                          center_prior_heatmap, patch_grid,
                                          upsample_heatmaps)
from cavsync_mm.registry import MODELS
from tiny_configs import tiny_cavsync


def _localizer(**kwargs):
    torch.manual_seed(0)
    model = MODELS.build(dict(type='SoundPromptedLocalizer',
                              backbone=tiny_cavsync(), **kwargs))
    return model.eval()


def test_patch_grid():
    assert patch_grid(196, (224, 224)) == (14, 14)
    assert patch_grid(4, (32, 32)) == (2, 2)
    with pytest.raises(ValueError, match='tile'):
        patch_grid(5, (32, 32))


def test_similarity_is_cosine_per_patch():
    audio = torch.tensor([[1., 0.]])
    patches = torch.tensor([[[2., 0.], [0., 3.], [-1., 0.], [1., 1.]]])
    maps = audio_visual_similarity(audio, patches, (2, 2))
    expected = torch.tensor([[[1., 0.], [-1., 2 ** -0.5]]])
    assert torch.allclose(maps, expected, atol=1e-6)


def test_upsampling_is_bilinear_to_the_image_size():
    maps = torch.arange(4.).reshape(1, 2, 2)
    up = upsample_heatmaps(maps, (32, 32))
    assert up.shape == (1, 32, 32)
    assert torch.allclose(up, F.interpolate(maps[:, None], (32, 32),
                                            mode='bilinear')[:, 0])
    # corners keep the patch values, the centre averages them
    assert up[0, 0, 0] == 0 and up[0, -1, -1] == 3
    assert up[0, 15:17, 15:17].mean() == pytest.approx(1.5)


def test_localizer_heatmap_shape_and_meaning():
    model = _localizer()
    audio, frames = torch.randn(2, 64, 128), torch.randn(2, 3, 32, 32)
    heatmaps = model(dict(audio=audio, frames=frames), mode='tensor')
    assert heatmaps.shape == (2, 32, 32)
    assert heatmaps.abs().max() <= 1 + 1e-5  # cosine similarities
    # the same map from the model's own features, by hand
    features = model.backbone.extract_feat(audio, frames)
    grid_maps = F.cosine_similarity(features['global_audio'][:, None],
                                    features['visual_patches'], dim=-1)
    by_hand = F.interpolate(grid_maps.reshape(2, 1, 2, 2), (32, 32),
                            mode='bilinear')[:, 0]
    assert torch.allclose(heatmaps, by_hand, atol=1e-5)
    # a different prompt gives a different map on the same image
    other = model(dict(audio=torch.randn(2, 64, 128), frames=frames),
                  mode='tensor')
    assert not torch.allclose(heatmaps, other)


def test_center_prior_ignores_the_sound():
    model = MODELS.build(dict(type='SoundPromptedLocalizer', backbone=None,
                              heatmap='center_prior'))
    frames = torch.randn(1, 3, 20, 30)
    first = model(dict(audio=torch.randn(1, 64, 128), frames=frames))
    second = model(dict(audio=torch.randn(1, 64, 128), frames=frames))
    assert torch.equal(first, second)
    assert first.shape == (1, 20, 30)
    assert torch.equal(first[0], center_prior_heatmap((20, 30)))
    assert int(first[0].argmax()) // 30 in (9, 10)
    with pytest.raises(ValueError, match='backbone'):
        MODELS.build(dict(type='SoundPromptedLocalizer', backbone=None))


def test_loads_bare_pretraining_and_own_checkpoints():
    from mmengine.runner.checkpoint import load_state_dict
    source, target = _localizer(), MODELS.build(dict(
        type='SoundPromptedLocalizer', backbone=tiny_cavsync()))
    target.backbone.init_weights()
    key = 'backbone.audio_global_token'
    assert not torch.equal(target.backbone.state_dict()[key],
                           source.backbone.state_dict()[key])
    load_state_dict(target, source.backbone.state_dict(), strict=True)
    assert torch.equal(target.backbone.state_dict()[key],
                       source.backbone.state_dict()[key])
    load_state_dict(target, source.state_dict(), strict=True)


def test_keep_tokens_writes_the_heatmap_tokens():
    from cavsync_mm.structures import AVDataSample
    model = _localizer(keep_tokens=True)
    audio, frames = torch.randn(2, 64, 128), torch.randn(2, 3, 32, 32)
    samples = model(dict(audio=audio, frames=frames),
                    [AVDataSample(), AVDataSample()], mode='predict')
    features = model.backbone.extract_feat(audio, frames)
    for index, sample in enumerate(samples):
        assert torch.equal(sample.prompt_token,
                           features['global_audio'][index])
        assert torch.equal(sample.patch_tokens,
                           features['visual_patches'][index])
        # the written heatmap is still the paper's map
        assert torch.equal(sample.heatmap, model.localize(audio, frames)[index])
    plain = _localizer()(dict(audio=audio, frames=frames), [AVDataSample()] * 2,
                         mode='predict')
    assert 'prompt_token' not in plain[0]
    with pytest.raises(ValueError, match='keep_tokens'):
        _localizer(heatmap='center_prior', keep_tokens=True)


def test_backbone_is_frozen():
    model = _localizer()
    model.train()
    assert not model.backbone.training
    assert not any(p.requires_grad for p in model.parameters())
    with pytest.raises(NotImplementedError):
        model(dict(audio=torch.randn(1, 64, 128),
                   frames=torch.randn(1, 3, 32, 32)), [], mode='loss')


# ------------------------------------------------------- dataset + runner
def _write_segmentation_set(root, num_images=4, size=(40, 56)):
    """Images with a bright square of class k on noise, its mask, and a
    2 s prompt tone per image; annotations.json in the documented format."""
    rng = np.random.default_rng(0)
    entries = []
    for folder in ('images', 'masks', 'audio'):
        (root / folder).mkdir(parents=True, exist_ok=True)
    for n in range(num_images):
        label = n % 2
        image = rng.integers(0, 60, (*size, 3), dtype=np.uint8)
        mask = np.zeros(size, dtype=np.uint8)
        top, left = 5 + 3 * n, 10 + 6 * n
        mask[top:top + 16, left:left + 20] = 255
        image[mask > 0] = (220, 40, 40) if label == 0 else (40, 40, 220)
        Image.fromarray(image).save(root / 'images' / f'{n}.jpg')
        Image.fromarray(mask).save(root / 'masks' / f'{n}.png')
        # 10 s, as ADE20K-Sound's VGGSound prompts: the middle frame's
        # segment lies inside the audio (a 2 s prompt would leave it all
        # padding, which FrameAlignedSegments refuses)
        seconds = np.arange(160000) / 16000
        tone = 0.3 * np.sin(2 * np.pi * (440 + 300 * label) * seconds)
        soundfile.write(root / 'audio' / f'{n}.wav', tone, 16000)
        entries.append(dict(image=f'images/{n}.jpg', mask=f'masks/{n}.png',
                            audio=f'audio/{n}.wav', label=label))
    (root / 'annotations.json').write_text(json.dumps(
        dict(metainfo=dict(classes=['horn', 'whistle']), data_list=entries)))
    return root


def _pipeline(size=32, segment_length=64):
    return [
        dict(type='LoadSegmentationImage'),
        dict(type='LoadSegmentationMask'),
        dict(type='mmaction.Resize', scale=(-1, size),
             interpolation='bicubic'),
        dict(type='mmaction.CenterCrop', crop_size=size),
        dict(type='AlignMaskWithImage'),
        dict(type='LoadAudio'),
        dict(type='ComputeFbank', target_length=1024),
        dict(type='FrameAlignedSegments', segment_length=segment_length, pad_short_audio=True),
        dict(type='NormalizeFbank'),
        dict(type='PackSegmentationInputs'),
    ]


def test_dataset_aligns_mask_with_image(tmp_path):
    from mmengine.registry import init_default_scope
    from cavsync_mm.datasets.sound_prompted_segmentation import \
        SoundPromptedSegmentationDataset
    init_default_scope('cavsync_mm')
    root = _write_segmentation_set(tmp_path)
    dataset = SoundPromptedSegmentationDataset(
        'annotations.json', data_root=str(root), pipeline=_pipeline())
    assert len(dataset) == 4 and dataset.metainfo['num_classes'] == 2
    sample = dataset[1]
    frames = sample['inputs']['frames']
    assert frames.shape == (3, 32, 32) and frames.dtype == torch.uint8
    assert sample['inputs']['audio'].shape == (64, 128)
    mask = sample['data_samples'].gt_mask
    assert mask.shape == (32, 32) and mask.dtype == torch.bool
    # the coloured square and the mask cover the same pixels
    blue = (frames[2].int() - frames[0].int()) > 80
    agreement = (blue == mask).float().mean()
    assert agreement > 0.97
    assert sample['data_samples'].gt_label.tolist() == [1]
    # the segment aligned with the middle frame (8 of 16) of the padded
    # 1024-frame fbank: centre 512, 64 frames long
    assert sample['data_samples'].audio_segments == [(480, 544)]


def test_dataset_errors_name_entry_and_field(tmp_path):
    from cavsync_mm.datasets import ClipError
    from cavsync_mm.datasets.sound_prompted_segmentation import \
        SoundPromptedSegmentationDataset
    root = _write_segmentation_set(tmp_path)
    annotations = json.loads((root / 'annotations.json').read_text())
    annotations['data_list'][2]['label'] = 5
    (root / 'bad.json').write_text(json.dumps(annotations))
    with pytest.raises(ClipError, match="2: field 'label'"):
        SoundPromptedSegmentationDataset('bad.json', data_root=str(root))
    (root / 'masks' / '3.png').unlink()
    with pytest.raises(ClipError, match="3: field 'mask'.*not found"):
        SoundPromptedSegmentationDataset('annotations.json',
                                         data_root=str(root))


def test_tools_test_segmentation_end_to_end(tmp_path, repo_root):
    from mmengine.config import Config
    root = _write_segmentation_set(tmp_path / 'data')
    torch.manual_seed(0)
    pretrainer = MODELS.build(tiny_cavsync())
    pretrainer.init_weights()
    checkpoint = tmp_path / 'tiny_pretrain.pth'
    torch.save(dict(state_dict=pretrainer.state_dict()), checkpoint)
    cfg = Config.fromfile(str(repo_root / 'configs' / 'cavsync' / 'benchmarks' / 'vit-toy_sound-prompted-seg_toy.py'))
    cfg.model.backbone = tiny_cavsync()
    cfg.test_dataloader.dataset.update(data_root=str(root),
                                       ann_file='annotations.json',
                                       pipeline=_pipeline())
    cfg.test_dataloader.batch_size = 2
    cfg.test_evaluator.update(classwise=True)
    cfg.default_hooks.visualization.update(
        enable=True, out_dir=str(tmp_path / 'overlays'), num_batches=2)
    config_file = tmp_path / 'seg.py'
    cfg.dump(str(config_file))
    dump = tmp_path / 'predictions.pkl'
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'tools_test_for_segmentation', repo_root / 'tools' / 'test.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    metrics = tool.main([str(config_file), str(checkpoint), '--work-dir',
                         str(tmp_path / 'work'), '--out', str(dump)])
    prefix = 'sound_prompted_segmentation/'
    assert metrics[prefix + 'num_classes'] == 2
    assert sorted(p.name for p in (tmp_path / 'overlays').iterdir()) == \
        ['0.png', '1.png', '2.png', '3.png']

    # the metric recomputed from the dumped heatmaps, independently: the
    # heatmaps min-max scaled together (in float32, as the heatmaps are: the
    # scaling creates ties that move AP in the 3rd digit), then per class
    # all pixels of its images pooled; AP = scikit-learn's
    # average_precision_score, IoU = best over 20 thresholds evenly spaced
    # between the pooled min and max
    import pickle
    from sklearn.metrics import average_precision_score
    with open(dump, 'rb') as f:
        predictions = pickle.load(f)
    assert len(predictions) == 4
    low = min(float(p['heatmap'].min()) for p in predictions)
    high = max(float(p['heatmap'].max()) for p in predictions)
    pooled = {}
    for prediction in predictions:
        heatmap = (np.asarray(prediction['heatmap'], np.float32) - low) / (
            high - low)
        mask = np.asarray(prediction['gt_mask'], bool)
        assert heatmap.shape == mask.shape and mask.any()
        label = int(np.asarray(prediction['gt_label']).flatten()[0])
        pooled.setdefault(label, []).append((heatmap.ravel(), mask.ravel()))
    assert sorted(pooled) == [0, 1]
    average_precisions, ious = [], []
    for label in (0, 1):
        scores = np.concatenate([h for h, _ in pooled[label]])
        masks = np.concatenate([m for _, m in pooled[label]])
        average_precisions.append(average_precision_score(masks, scores))
        best = 0.0
        for threshold in np.linspace(scores.min(), scores.max(), 20):
            predicted = scores > threshold
            union = (predicted | masks).sum()
            if union:
                best = max(best, (predicted & masks).sum() / union)
        ious.append(best)
        assert metrics[prefix + f'AP_{label}'] == pytest.approx(
            100 * average_precisions[-1], rel=1e-6)
        assert metrics[prefix + f'IoU_{label}'] == pytest.approx(
            100 * best, rel=1e-6)
    assert metrics[prefix + 'mAP'] == pytest.approx(
        100 * np.mean(average_precisions), rel=1e-6)
    assert metrics[prefix + 'mIoU'] == pytest.approx(100 * np.mean(ious),
                                                     rel=1e-6)
