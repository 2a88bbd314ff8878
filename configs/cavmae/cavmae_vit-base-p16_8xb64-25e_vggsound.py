# CAV-MAE baseline pretraining on VGGSound.
_base_ = [
    '../_base_/models/cavmae_vitb.py',
    '../_base_/datasets/vggsound_pretrain.py',
    '../_base_/schedules/pretrain_adam_25e.py',
    '../_base_/default_runtime.py',
]
from cavsync_mm.config_helpers import segment_length_overrides  # noqa: E402
segment_length = 1024
model, train_dataloader, val_dataloader = segment_length_overrides(
    _base_, segment_length)
train_dataloader.update(batch_size=64, drop_last=True)
test_dataloader = val_dataloader
load_from = 'checkpoints/mae_vitb_cavsync_init.pth'
# A checkpoint every 200 iterations inside each epoch as well (an epoch is
# ~390 iterations at batch 512): a killed run loses at most that
# (docs/tools.md, "Long runs")
default_hooks = dict(checkpoint=dict(iter_interval=200))
