# CAV-MAE Sync pretraining on VGGSound (same model and schedule as AudioSet).
_base_ = [
    '../_base_/models/cavsync_vitb.py',
    '../_base_/datasets/vggsound_pretrain.py',
    '../_base_/schedules/pretrain_adam_25e.py',
    '../_base_/default_runtime.py',
]
train_dataloader = dict(batch_size=64, drop_last=True)
load_from = 'checkpoints/mae_vitb_cavsync_init.pth'
# A checkpoint every 200 iterations inside each epoch as well (an epoch is
# ~390 iterations at batch 512): a killed run loses at most that
# (docs/tools.md, "Long runs")
default_hooks = dict(checkpoint=dict(iter_interval=200))
