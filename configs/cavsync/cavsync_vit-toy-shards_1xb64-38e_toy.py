# configs/cavsync/cavsync_vit-toy_1xb64-38e_toy.py reading the toy clips packed into shards
# (configs/_base_/datasets/toy_pretrain_shards.py has the pack commands).
_base_ = [
    '../_base_/models/cavsync_toy.py',
    '../_base_/datasets/toy_pretrain_shards.py',
    '../_base_/schedules/pretrain_adam_toy.py',
    '../_base_/default_runtime.py',
]
train_dataloader = dict(batch_size=64)
default_hooks = dict(logger=dict(interval=5),
                     checkpoint=dict(interval=_base_.max_epochs))
env_cfg = dict(dist_cfg=dict(backend='gloo'))
