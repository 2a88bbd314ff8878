# Sound-prompted segmentation on ADE20K-Sound (paper Sec. 3.5.3; DenseAV's
# benchmark: 106 ADE20K images, 20 classes, each prompted with a VGGSound
# clip). The global audio token of the prompt's middle 4.16 s segment is
# compared (cosine) with every visual patch token of the joint block's visual
# pass: a 14 x 14 map, bilinearly upsampled to 224 x 224. Metric: DenseAV
# protocol (per-class AP over pixels, best IoU over 20 thresholds; mAP, mIoU).
# Annotation format: docs/segmentation.md.
#   python tools/test.py configs/segmentation/ade20k_sound.py PRETRAINED.pth
# (a CAV-MAE Sync pretraining checkpoint loads directly into the localizer)
default_scope = 'cavsync'
data_root = 'data/ade20k_sound'
image_size = 224
segment_length = 416

model = dict(
    type='SoundPromptedLocalizer',
    heatmap='audio',  # 'center_prior': the audio-free baseline
    backbone=dict(
        type='CAVMAESync',
        backbone=dict(type='AudioVisualEncoder', audio_length=segment_length,
                      image_size=image_size, num_register_tokens=8),
        neck=dict(type='AudioVisualMAEDecoder')),
    data_preprocessor=dict(type='AudioVisualDataPreprocessor'))

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
    min_max='global',
    out_dir=None)  # a folder here writes one overlay PNG per image
test_cfg = dict(type='TestLoop')

env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend='nccl'))
log_level = 'INFO'
