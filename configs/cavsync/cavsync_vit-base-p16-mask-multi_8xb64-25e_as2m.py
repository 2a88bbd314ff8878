# Mask ratio ablation "multi": one ratio per batch drawn from U[0.6, 0.9]
# (separately for audio and visual), the same on every rank.
_base_ = ['./cavsync_vit-base-p16_8xb64-25e_as2m.py']
model = dict(mask_ratio='multi', multi_mask_ratio_range=(0.6, 0.9))
