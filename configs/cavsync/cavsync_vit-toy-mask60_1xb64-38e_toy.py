# Toy mirror of paper Table 7 (mask ratio 0.6 / 0.75 / 0.9 / multi): ratio 0.6
# (tools/analysis_tools/ablate.py --preset mask_ratio).
_base_ = ['./cavsync_vit-toy_1xb64-38e_toy.py']
model = dict(mask_ratio=0.6)
