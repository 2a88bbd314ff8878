# A small CAV-MAE Sync for CPU on the synthetic clips (quickstart):
# width 64, 2 encoder blocks per modality + 1 joint block, decoder 32-d x 1,
# 64 px frames, 4.16 s segments (8 x 26 audio patches), 8 registers.
# Matches configs/retrieval/toy_retrieval_cavsync.py and the toy probe /
# segmentation configs, which test its checkpoints.
#   python tools/data/make_toy_dataset.py && python tools/train.py configs/toy/cavsync_toy.py
_base_ = [
    '../_base_/models/cavsync_vitb.py',
    '../_base_/datasets/toy_pretrain.py',
    '../_base_/schedules/pretrain_adam_25e.py',
    '../_base_/default_runtime.py',
]
image_size = 64
segment_length = 416
model = dict(
    backbone=dict(embed_dims=64, encoder_depth=2, num_heads=4,
                  image_size=image_size, audio_length=segment_length),
    neck=dict(decoder_embed_dims=32, decoder_depth=1, decoder_num_heads=4))
optim_wrapper = dict(optimizer=dict(lr=1e-3))
warmup_epochs = 1
max_epochs = 10
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-2, by_epoch=True, begin=0,
         end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=warmup_epochs,
         end=max_epochs, T_max=max_epochs - warmup_epochs, eta_min=0.,
         convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs)
default_hooks = dict(logger=dict(interval=5), checkpoint=dict(interval=max_epochs))
env_cfg = dict(dist_cfg=dict(backend='gloo'))
