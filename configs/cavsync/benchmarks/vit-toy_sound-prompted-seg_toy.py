# Sound-prompted segmentation on the synthetic toy set
# (data/toy/segmentation/annotations.json, made by
# tools/data/make_toy_dataset.py) with the small toy CAV-MAE Sync (width 64,
# 64 px frames). Toy prompts last 2-4 s: the fbank is padded to one 4.16 s
# segment.
#   python tools/test.py configs/cavsync/benchmarks/vit-toy_sound-prompted-seg_toy.py TOY_PRETRAIN.pth
_base_ = [
    '../../_base_/models/cavsync_toy.py',
    '../../_base_/datasets/ade20k_sound.py',
    '../../_base_/default_runtime.py',
]
data_root = 'data/toy'
image_size = 128  # = configs/_base_/models/cavsync_toy.py
segment_length = 416
model = dict(
    _delete_=True,
    type='SoundPromptedLocalizer',
    heatmap='audio',
    backbone=_base_.model,
    data_preprocessor=dict(type='AudioVisualDataPreprocessor'))
test_pipeline = [
    dict(type='LoadSegmentationImage'),
    dict(type='LoadSegmentationMask'),
    dict(type='mmaction.Resize', scale=(-1, image_size),
         interpolation='bicubic'),
    dict(type='mmaction.CenterCrop', crop_size=image_size),
    dict(type='AlignMaskWithImage'),
    dict(type='LoadAudio'),
    dict(type='ComputeFbank', num_mel_bins=128, target_length=segment_length),
    dict(type='FrameAlignedSegments', segment_length=segment_length,
         pad_short_audio=True),
    dict(type='NormalizeFbank', mean=-5.081, std=4.4849),
    dict(type='PackSegmentationInputs'),
]
test_dataloader = dict(
    num_workers=0,
    dataset=dict(data_root=data_root,
                 ann_file='segmentation/annotations.json',
                 pipeline=test_pipeline))
env_cfg = dict(dist_cfg=dict(backend='gloo'))
