# Zero-shot retrieval on the synthetic toy clips (tools/data/make_toy_dataset.py)
# with the small CAV-MAE Sync of configs/cavsync/cavsync_vit-toy_1xb64-38e_toy.py (width 64, 2 + 1
# blocks, 64 px frames): every clip gives T = 16 visual and 16 audio global
# tokens (all frames and their frame-aligned 4.16 s segments).
#   python tools/train.py configs/cavsync/cavsync_vit-toy_1xb64-38e_toy.py
#   python tools/test.py configs/cavsync/benchmarks/vit-toy_retrieval_toy.py \
#       work_dirs/cavsync_toy/epoch_10.pth
_base_ = [
    '../../_base_/models/cavsync_toy.py',
    '../../_base_/datasets/toy_multiframe.py',
    '../../_base_/default_runtime.py',
    '../../_base_/retrieval_evaluation.py',
]
# retrieval pairs the two modalities of each clip: no class labels needed
test_dataloader = dict(dataset=dict(label_file=None))
train_dataloader = None  # a test-only config
val_dataloader = None
env_cfg = dict(dist_cfg=dict(backend='gloo'))
