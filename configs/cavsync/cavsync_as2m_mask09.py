# Mask ratio ablation: 0.9 for both modalities (paper: 0.75).
_base_ = ['./cavsync_as2m.py']
model = dict(mask_ratio=0.9)
