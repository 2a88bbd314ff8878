# The paper text's variant: register tokens also go through the joint block
# passes (the release drops them after the modality encoders).
_base_ = ['./cavsync_vit-base-p16_8xb64-25e_as2m.py']
model = dict(backbone=dict(keep_register_tokens=True))
