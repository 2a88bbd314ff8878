# Mask ratio ablation: 0.6 for both modalities (paper: 0.75).
_base_ = ['./cavsync_vit-base-p16_8xb64-25e_as2m.py']
model = dict(mask_ratio=0.6)
