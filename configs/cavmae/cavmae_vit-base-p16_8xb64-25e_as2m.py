# CAV-MAE baseline pretraining on AudioSet-2M: the same code configured as
# CAV-MAE (whole-clip 1024-frame audio, no global / register tokens,
# lambda_c 0.01), the same schedule as CAV-MAE Sync for a fair comparison.
# The sampled frame is any of the T frames; the audio is the whole clip
# (FrameAlignedSegments with segment_length=1024 returns the full fbank).
#   tools/dist_train.sh configs/cavmae/cavmae_vit-base-p16_8xb64-25e_as2m.py 8
_base_ = [
    '../_base_/models/cavmae_vitb.py',
    '../_base_/datasets/audioset_pretrain.py',
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
# A checkpoint every 1000 iterations inside each epoch as well (~10 min of
# 8 GPUs; an epoch is ~3.9k iterations): a killed run loses at most that
# (docs/tools.md, "Long runs")
default_hooks = dict(checkpoint=dict(iter_interval=1000))
