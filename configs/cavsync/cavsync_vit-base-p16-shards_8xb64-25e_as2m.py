# configs/cavsync/cavsync_vit-base-p16_8xb64-25e_as2m.py reading packed shards
# (configs/_base_/datasets/audioset_pretrain_shards.py, docs/data.md):
#   python tools/data/pack_shards.py data/audioset/audioset_2m_cleaned.json \
#       data/audioset/shards_2m --data-root data/audioset --workers 16
#   tools/dist_train.sh configs/cavsync/cavsync_vit-base-p16-shards_8xb64-25e_as2m.py 8
_base_ = [
    '../_base_/models/cavsync_vitb.py',
    '../_base_/datasets/audioset_pretrain_shards.py',
    '../_base_/schedules/pretrain_adam_25e.py',
    '../_base_/default_runtime.py',
]
train_dataloader = dict(batch_size=64, drop_last=True)  # per GPU; x 8 GPUs = 512
load_from = 'checkpoints/mae_vitb_cavsync_init.pth'  # see cavsync_as2m.py
# A checkpoint every 1000 iterations inside each epoch as well, as
# cavsync_as2m.py (docs/tools.md, "Long runs")
default_hooks = dict(checkpoint=dict(iter_interval=1000))
