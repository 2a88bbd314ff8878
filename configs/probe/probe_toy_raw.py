# Linear probing on the synthetic toy clips (tools/data/make_toy_dataset.py)
# end to end: the frozen small CAV-MAE Sync of the toy pretraining (width 64,
# 2 + 1 blocks, 64 px frames, 4.16 s segments) runs on every step. It is also
# the config that builds the feature cache of configs/probe/probe_toy.py:
#   python tools/analysis_tools/build_feature_cache.py \
#       configs/probe/probe_toy_raw.py TOY_PRETRAIN.pth --out-dir data/toy/feature_cache
# Toy clips hold several sounding classes: multi-label, BCE + mAP.
_base_ = './probe_as20k.py'
data_root = 'data/toy'
num_classes = 8
image_size = 64
segment_length = 416
model = dict(
    backbone=dict(
        _delete_=True,
        type='CAVMAESync',
        backbone=dict(type='AudioVisualEncoder', embed_dims=64,
                      encoder_depth=2, num_heads=4, image_size=image_size,
                      audio_length=segment_length, use_global_token=True,
                      num_register_tokens=8),
        neck=dict(type='AudioVisualMAEDecoder', decoder_embed_dims=32,
                  decoder_depth=1, decoder_num_heads=4)),
    head=dict(num_classes=num_classes, in_channels=128, num_heads=4))

load_pipeline = [
    dict(type='LoadAudio'),
    dict(type='LoadFrames'),
    dict(type='mmaction.Resize', scale=(-1, image_size),
         interpolation='bicubic'),
    dict(type='mmaction.CenterCrop', crop_size=image_size),
]
segment_pipeline = [
    dict(type='ComputeFbank', num_mel_bins=128, target_length=1024),
    dict(type='FrameAlignedSegments', segment_length=segment_length),
    dict(type='NormalizeFbank', mean=-5.081, std=4.4849),
]
test_pipeline = load_pipeline + segment_pipeline + [
    dict(type='PackAudioVisualInputs')]
clip_dataset = dict(type='AudioVisualDataset', data_root=data_root,
                    label_file='class_labels_indices.csv',
                    sampling='all_frames', num_frames=16)
train_dataloader = dict(
    batch_size=8, num_workers=0, persistent_workers=False,
    dataset=dict(dataset=dict(clip_dataset, ann_file='train.json',
                              pipeline=load_pipeline)))
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
custom_hooks = [
    dict(type='EMAHook', ema_type='StochasticWeightAverage', begin_epoch=1,
         update_buffers=True, priority='ABOVE_NORMAL')
]
default_hooks = dict(logger=dict(interval=10))
env_cfg = dict(dist_cfg=dict(backend='gloo'))
