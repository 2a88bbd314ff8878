# The CAV-MAE baseline at toy size: the toy CAV-MAE Sync (./cavsync_toy.py)
# configured as CAV-MAE, like ./cavmae_vitb.py: the whole 10.24 s clip (1024
# fbank frames, 8 x 64 audio patches), no global or register tokens (global
# features = patch means), lambda_c = 0.01.
_base_ = ['./cavsync_toy.py']
model = dict(
    backbone=dict(audio_length=1024, use_global_token=False,
                  num_register_tokens=0),
    contrastive_loss=dict(loss_weight=0.01))
