# Toy mirror of paper Fig. 4 (segment-length sweep; the release's points
# 192 / 304 / 416 / 512 / 624 / 720): 192 fbank frames = 1.92 s segments
# (tools/analysis_tools/ablate.py --preset segment_length).
_base_ = ['./cavsync_vit-toy_1xb64-38e_toy.py']
from cavsync_mm.config_helpers import segment_length_overrides  # noqa: E402
segment_length = 192
model, train_dataloader, val_dataloader = segment_length_overrides(
    _base_, segment_length)
test_dataloader = val_dataloader
