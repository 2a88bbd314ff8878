# The CAV-MAE baseline at toy size (the quickstart's comparison): the toy
# CAV-MAE Sync without global / register tokens, whole 10.24 s audio
# (1024 frames, 8 x 64 patches), lambda_c 0.01.
# Matches configs/cavmae/benchmarks/vit-toy_retrieval_toy.py.
_base_ = [
    '../_base_/models/cavmae_toy.py',
    '../_base_/datasets/toy_pretrain.py',
    '../_base_/schedules/pretrain_adam_toy.py',
    '../_base_/default_runtime.py',
]
from cavsync_mm.config_helpers import segment_length_overrides  # noqa: E402
segment_length = 1024  # the whole clip
model, train_dataloader, val_dataloader = segment_length_overrides(
    _base_, segment_length)
train_dataloader.update(batch_size=64)
test_dataloader = val_dataloader
default_hooks = dict(logger=dict(interval=5),
                     checkpoint=dict(interval=_base_.max_epochs))
env_cfg = dict(dist_cfg=dict(backend='gloo'))
