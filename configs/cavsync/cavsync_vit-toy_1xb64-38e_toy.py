# A small CAV-MAE Sync for CPU on the synthetic clips (quickstart):
# width 64, 2 encoder blocks per modality + 1 joint block, decoder 32-d x 1,
# 128 px frames (enlarged 64 px toy frames), 4.16 s segments (8 x 26 audio
# patches), 8 registers, symmetric InfoNCE (see the model base), 38 epochs x
# batch 64 (the quickstart's default budget).
# Matches configs/cavsync/benchmarks/vit-toy_retrieval_toy.py and the toy probe /
# segmentation configs, which test its checkpoints.
#   python tools/data/make_toy_dataset.py && python tools/train.py configs/cavsync/cavsync_vit-toy_1xb64-38e_toy.py
_base_ = [
    '../_base_/models/cavsync_toy.py',
    '../_base_/datasets/toy_pretrain.py',
    '../_base_/schedules/pretrain_adam_toy.py',
    '../_base_/default_runtime.py',
]
train_dataloader = dict(batch_size=64)
default_hooks = dict(logger=dict(interval=5),
                     checkpoint=dict(interval=_base_.max_epochs))
env_cfg = dict(dist_cfg=dict(backend='gloo'))
