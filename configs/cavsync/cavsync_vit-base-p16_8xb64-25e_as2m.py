# CAV-MAE Sync pretraining on AudioSet-2M (the paper's main model):
# ViT-B, 416-frame (4.16 s) frame-aligned segments, 8 registers, global
# tokens, mask ratio 0.75, lambda_c 0.1; 25 epochs, 8 GPUs x 64 clips.
#   tools/dist_train.sh configs/cavsync/cavsync_vit-base-p16_8xb64-25e_as2m.py 8 [--amp]
# Initialisation: the ImageNet MAE ViT-B checkpoint (with decoder), converted:
#   python tools/model_converters/mae_to_cavsync.py \
#       mae_pretrain_vit_base_full.pth checkpoints/mae_vitb_cavsync_init.pth
_base_ = [
    '../_base_/models/cavsync_vitb.py',
    '../_base_/datasets/audioset_pretrain.py',
    '../_base_/schedules/pretrain_adam_25e.py',
    '../_base_/default_runtime.py',
]
train_dataloader = dict(batch_size=64, drop_last=True)  # per GPU; x 8 GPUs = 512
load_from = 'checkpoints/mae_vitb_cavsync_init.pth'  # fill in: see the header
# A checkpoint every 1000 iterations inside each epoch as well (~10 min of
# 8 GPUs; an epoch is ~3.9k iterations): a killed run loses at most that
# (docs/tools.md, "Long runs")
default_hooks = dict(checkpoint=dict(iter_interval=1000))
