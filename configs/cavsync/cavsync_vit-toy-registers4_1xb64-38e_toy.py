# Toy mirror of paper Table 6 (registers 0 / 4 / 8 / 16, with localisation):
# 4 register tokens per modality (the toy default has 8)
# (tools/analysis_tools/ablate.py --preset registers).
_base_ = ['./cavsync_vit-toy_1xb64-38e_toy.py']
model = dict(backbone=dict(num_register_tokens=4))
