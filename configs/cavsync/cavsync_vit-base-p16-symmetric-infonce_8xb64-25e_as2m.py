# Option: symmetric InfoNCE (average of visual->audio and audio->visual).
_base_ = ['./cavsync_vit-base-p16_8xb64-25e_as2m.py']
model = dict(contrastive_loss=dict(symmetric=True))
