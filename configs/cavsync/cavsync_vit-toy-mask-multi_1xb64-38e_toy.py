# Toy mirror of paper Table 7: one mask ratio per batch drawn from [0.6, 0.9]
# (tools/analysis_tools/ablate.py --preset mask_ratio).
_base_ = ['./cavsync_vit-toy_1xb64-38e_toy.py']
model = dict(mask_ratio='multi', multi_mask_ratio_range=(0.6, 0.9))
