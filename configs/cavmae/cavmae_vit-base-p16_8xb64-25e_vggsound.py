# CAV-MAE baseline pretraining on VGGSound.
_base_ = [
    '../_base_/models/cavmae_vitb.py',
    '../_base_/datasets/vggsound_pretrain.py',
    '../_base_/schedules/pretrain_adam_25e.py',
    '../_base_/default_runtime.py',
]
segment_length = 1024
train_dataloader = dict(batch_size=64, drop_last=True, dataset=dict(pipeline=[
    dict(step, segment_length=segment_length)
    if step['type'] == 'FrameAlignedSegments' else step
    for step in _base_.train_dataloader.dataset.pipeline]))
val_dataloader = dict(dataset=dict(pipeline=[
    dict(step, segment_length=segment_length)
    if step['type'] == 'FrameAlignedSegments' else step
    for step in _base_.val_dataloader.dataset.pipeline]))
test_dataloader = val_dataloader
load_from = 'checkpoints/mae_vitb_cavsync_init.pth'
# A checkpoint every 200 iterations inside each epoch as well (an epoch is
# ~390 iterations at batch 512): a killed run loses at most that
# (docs/tools.md, "Long runs")
default_hooks = dict(checkpoint=dict(iter_interval=200))
