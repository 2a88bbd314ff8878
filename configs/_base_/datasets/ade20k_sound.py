# ADE20K-Sound (DenseAV's sound-prompted segmentation benchmark, paper Sec.
# 3.5.3): 106 ADE20K images, 20 classes, each prompted with a VGGSound clip
# whose middle 4.16 s segment is the prompt. Annotation format:
# docs/segmentation.md. Metric: DenseAV protocol (per-class AP over pixels,
# best IoU over 20 thresholds; mAP, mIoU). Full configs that change
# image_size / segment_length rebuild test_pipeline (variables are
# substituted where this file is read).
data_root = 'data/ade20k_sound'
image_size = 224
segment_length = 416

prompt_pipeline = [
    dict(type='LoadAudio'),
    dict(type='ComputeFbank', num_mel_bins=128, target_length=1024),
    dict(type='FrameAlignedSegments', segment_length=segment_length),
    dict(type='NormalizeFbank', mean=-5.081, std=4.4849),
]
test_pipeline = [
    dict(type='LoadSegmentationImage'),
    dict(type='LoadSegmentationMask'),
    dict(type='mmaction.Resize', scale=(-1, image_size),
         interpolation='bicubic'),
    dict(type='mmaction.CenterCrop', crop_size=image_size),
    dict(type='AlignMaskWithImage'),
] + prompt_pipeline + [dict(type='PackSegmentationInputs')]

test_dataloader = dict(
    batch_size=16,
    num_workers=4,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='SoundPromptedSegmentationDataset',
        data_root=data_root,
        ann_file='annotations.json',
        num_frames=16,  # the prompt's segment: frame T // 2 of T
        pipeline=test_pipeline))
test_evaluator = dict(
    type='SoundPromptedSegmentationMetric',
    num_thresholds=20,
    min_max='global')
# overlay PNGs of the first batch: --cfg-options
#   default_hooks.visualization.enable=True default_hooks.visualization.out_dir=DIR
test_cfg = dict(type='TestLoop')
