# Release extras: 2-block contrastive heads per modality and the global + local
# (patch-mean) contrastive loss (both off in the released checkpoint).
_base_ = ['./cavsync_vit-base-p16_8xb64-25e_as2m.py']
model = dict(backbone=dict(contrastive_head_depth=2),
             contrastive_features='global_and_local')
