# Linear probing on AudioSet-20K (paper Sec. 3.5.2, Table 9): the frozen
# CAV-MAE Sync (ViT-B) gives, for each of the T = 16 frames, [g_v_t ; g_a_t]
# (1536-d); a learned CLS token + 2 transformer blocks + LayerNorm + linear
# classify the clip. BCE, 527 classes, mAP (mmpretrain AveragePrecision).
# Adam (betas 0.95/0.999, wd 5e-7), lr 5e-2, cosine, 1.5 warmup epochs,
# 15 epochs, batch 48, mixup, weight averaging.
#   python tools/train.py configs/probe/probe_as20k.py \
#       --cfg-options model.pretrained=PRETRAINED.pth
#   python tools/test.py configs/probe/probe_as20k.py work_dirs/probe_as20k/epoch_15.pth
default_scope = 'cavsync'
data_root = 'data/audioset'
num_classes = 527
num_frames = 16
image_size = 224
segment_length = 416  # 4.16 s frame-aligned segments
token = 'global'  # 'register' | 'patch' (Table 12)
modality = 'audio_visual'  # 'audio' | 'visual' (Table 10)
token_width = 768 * 2  # [g_v ; g_a]; 768 for one modality

model = dict(
    type='AudioVisualClassifier',
    modality=modality,
    token=token,
    pretrained=None,  # the CAV-MAE Sync pretraining checkpoint (required)
    backbone=dict(
        type='CAVMAESync',
        backbone=dict(type='AudioVisualEncoder', audio_length=segment_length,
                      image_size=image_size, num_register_tokens=8),
        neck=dict(type='AudioVisualMAEDecoder')),
    head=dict(
        type='TemporalTransformerHead',
        num_classes=num_classes,
        in_channels=token_width,
        num_frames=num_frames,
        num_blocks=2,
        num_heads=12,
        temporal_position_embedding=True,
        loss_type='bce'),
    data_preprocessor=dict(type='AudioVisualDataPreprocessor'))

# ---- data: all T frames + their T aligned segments per clip -------------
load_pipeline = [  # before mixup: waveform and cropped frames
    dict(type='LoadAudio'),
    dict(type='LoadFrames'),
    dict(type='mmaction.Resize', scale=(-1, image_size),
         interpolation='bicubic'),
    dict(type='mmaction.CenterCrop', crop_size=image_size),
]
segment_pipeline = [  # after mixup
    dict(type='ComputeFbank', num_mel_bins=128, target_length=1024),
    dict(type='FrameAlignedSegments', segment_length=segment_length),
    dict(type='NormalizeFbank', mean=-5.081, std=4.4849),
]
train_pipeline = segment_pipeline + [
    dict(type='RandomTimeShift'),  # "random time shifting" (Table 9)
    dict(type='PackAudioVisualInputs'),
]
test_pipeline = load_pipeline + segment_pipeline + [
    dict(type='PackAudioVisualInputs')]

clip_dataset = dict(
    type='AudioVisualDataset',
    data_root=data_root,
    label_file='class_labels_indices.csv',
    sampling='all_frames',
    num_frames=num_frames)
train_dataloader = dict(
    batch_size=48,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type='AudioVisualMixupDataset',
        alpha=10.0,
        prob=0.5,
        dataset=dict(clip_dataset, ann_file='audioset_20k_cleaned.json',
                     pipeline=load_pipeline),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=48,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(clip_dataset, ann_file='audioset_eval_cleaned.json',
                 pipeline=test_pipeline, test_mode=True))
test_dataloader = val_dataloader
val_evaluator = dict(type='mmpretrain.AveragePrecision')
test_evaluator = val_evaluator

# ---- schedule (Table 9) -------------------------------------------------
max_epochs = 15
warmup_epochs = 1.5
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='Adam', lr=5e-2, betas=(0.95, 0.999),
                   weight_decay=5e-7))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0,
         end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=warmup_epochs,
         end=max_epochs, T_max=max_epochs - warmup_epochs,
         convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs,
                 val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
# Weight averaging: a uniform (stochastic) average of the weights from the
# third epoch on, as CAV-MAE's fine-tuning averages its epoch checkpoints.
custom_hooks = [
    dict(type='EMAHook', ema_type='StochasticWeightAverage', begin_epoch=2,
         update_buffers=True, priority='ABOVE_NORMAL')
]

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2,
                    save_best='auto'),
    sampler_seed=dict(type='DistSamplerSeedHook'))
env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend='nccl'))
log_processor = dict(by_epoch=True)
log_level = 'INFO'
load_from = None
resume = False
auto_scale_lr = dict(base_batch_size=48, enable=False)
