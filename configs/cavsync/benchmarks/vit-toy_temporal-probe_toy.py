# Linear probing on the synthetic toy clips (tools/data/make_toy_dataset.py)
# end to end: the frozen small CAV-MAE Sync of the toy pretraining (width 64,
# 2 + 1 blocks, 64 px frames, 4.16 s segments) runs on every step. It is also
# the config that builds the feature cache of configs/cavsync/benchmarks/vit-toy_cached-temporal-probe_toy.py:
#   python tools/analysis_tools/build_feature_cache.py \
#       configs/cavsync/benchmarks/vit-toy_temporal-probe_toy.py TOY_PRETRAIN.pth --out-dir data/toy/feature_cache
# Toy clips hold several sounding classes: multi-label, BCE + mAP.
_base_ = [
    '../../_base_/models/cavsync_toy.py',
    '../../_base_/datasets/audioset20k_probe.py',
    '../../_base_/schedules/probe_adam_15e.py',
    '../../_base_/default_runtime.py',
]
data_root = 'data/toy'
num_classes = 8
image_size = 128  # = configs/_base_/models/cavsync_toy.py
segment_length = 416
token = 'global'
modality = 'audio_visual'
token_width = 64 * 2  # [g_a ; g_v] (release order) of the width-64 toy model
model = dict(
    _delete_=True,
    type='AudioVisualClassifier',
    modality=modality,
    token=token,
    # the frozen encoder of the toy pretraining, loaded from its checkpoint:
    #   --cfg-options model.backbone.init_cfg.checkpoint=TOY_PRETRAIN.pth
    backbone=dict(_base_.model.backbone, init_cfg=dict(
        type='Pretrained', checkpoint=None, prefix='backbone.')),
    neck=dict(
        type='TemporalTransformerNeck',
        in_channels=token_width,
        num_frames=16,
        num_blocks=2,
        num_heads=4,
        temporal_position_embedding=False),  # release (commented out there)
    # the release's BCE (loss_weight 1 / K) and head init, as the ViT-B
    # probe (vit-base-p16_temporal-probe_1xb48-15e_as20k.py) explains
    head=dict(type='mmpretrain.MultiLabelLinearClsHead',
              num_classes=num_classes, in_channels=token_width,
              loss=dict(type='mmpretrain.CrossEntropyLoss', use_sigmoid=True,
                        loss_weight=1 / num_classes),
              init_cfg=dict(type='TruncNormal', layer='Linear', std=.02,
                            bias=0.)),
    data_preprocessor=dict(type='AudioVisualDataPreprocessor'))

load_pipeline = [
    dict(type='LoadAudio'),
    dict(type='LoadFrames'),
    dict(type='mmaction.Resize', scale=(-1, image_size),
         interpolation='bicubic'),
    dict(type='mmaction.CenterCrop', crop_size=image_size),
]
test_pipeline = load_pipeline + _base_.segment_pipeline + [
    dict(type='PackAudioVisualInputs')]
clip_dataset = dict(_base_.clip_dataset, data_root=data_root)
train_dataloader = dict(
    batch_size=8, num_workers=0, persistent_workers=False,
    dataset=dict(dataset=dict(clip_dataset, ann_file='train.json',
                              pipeline=_base_.mixup_load_pipeline[:1] +
                              load_pipeline[1:])))
val_dataloader = dict(
    batch_size=8, num_workers=0, persistent_workers=False,
    dataset=dict(clip_dataset, ann_file='val.json', pipeline=test_pipeline,
                 test_mode=True))
test_dataloader = val_dataloader
# splits the feature-cache tool writes (name -> datafile, test pipeline)
feature_cache_splits = dict(train='train.json', val='val.json')

max_epochs = 2
warmup_epochs = 0.5
optim_wrapper = dict(optimizer=dict(lr=1e-3))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0,
         end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=warmup_epochs,
         end=max_epochs, T_max=max_epochs - warmup_epochs,
         convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs)
custom_hooks = [dict(_base_.custom_hooks[0], begin_epoch=1)]
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(max_keep_ckpts=2, save_best='auto'))
env_cfg = dict(dist_cfg=dict(backend='gloo'))
