# Segment-length sweep (paper Fig. 4): 1024 fbank frames = 10.24 s audio segments
# (a multiple of the 16-frame patch: 8 x 64 audio patches).
_base_ = ['./cavsync_vit-base-p16_8xb64-25e_as2m.py']
from cavsync_mm.config_helpers import segment_length_overrides  # noqa: E402
segment_length = 1024
model, train_dataloader, val_dataloader = segment_length_overrides(
    _base_, segment_length)
test_dataloader = val_dataloader
