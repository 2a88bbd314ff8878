# Segment-length sweep (paper Fig. 4): 512 fbank frames = 5.12 s audio segments
# (a multiple of the 16-frame patch: 8 x 32 audio patches).
_base_ = ['./cavsync_vit-base-p16_8xb64-25e_as2m.py']
from cavsync_mm.config_helpers import segment_length_overrides  # noqa: E402
segment_length = 512
model, train_dataloader, val_dataloader = segment_length_overrides(
    _base_, segment_length)
test_dataloader = val_dataloader
