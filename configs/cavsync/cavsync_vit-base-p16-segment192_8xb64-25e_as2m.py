# Segment-length sweep (paper Fig. 4; the release's sweep: 192 / 304 / 416 /
# 512 / 624 / 720): 192 fbank frames = 1.92 s audio segments
# (a multiple of the 16-frame patch: 8 x 12 audio patches).
_base_ = ['./cavsync_vit-base-p16_8xb64-25e_as2m.py']
segment_length = 192
model = dict(backbone=dict(audio_length=segment_length))
train_dataloader = dict(dataset=dict(pipeline=[
    dict(step, segment_length=segment_length)
    if step['type'] == 'FrameAlignedSegments' else step
    for step in _base_.train_dataloader.dataset.pipeline]))
val_dataloader = dict(dataset=dict(pipeline=[
    dict(step, segment_length=segment_length)
    if step['type'] == 'FrameAlignedSegments' else step
    for step in _base_.val_dataloader.dataset.pipeline]))
test_dataloader = val_dataloader
