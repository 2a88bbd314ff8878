# Table 6 ablation: 4 register tokens per modality (paper: 8).
_base_ = ['./cavsync_vit-base-p16_8xb64-25e_as2m.py']
model = dict(backbone=dict(num_register_tokens=4))
