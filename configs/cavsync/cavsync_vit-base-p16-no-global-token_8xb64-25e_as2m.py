# Ablation: no global tokens; the contrastive loss and retrieval use the mean
# of the patch tokens (paper: AudioSet V->A R@1 30.1 vs 35.2).
_base_ = ['./cavsync_vit-base-p16_8xb64-25e_as2m.py']
model = dict(backbone=dict(use_global_token=False))
