# Toy mirror of paper Table 5 (global token): no global tokens; the global
# features are the patch means (tools/analysis_tools/ablate.py --preset global_token).
_base_ = ['./cavsync_vit-toy_1xb64-38e_toy.py']
model = dict(backbone=dict(use_global_token=False))
