# Toy mirror of paper Fig. 4 (segment-length sweep; the release's points
# 192 / 304 / 416 / 512 / 624 / 720): 192 fbank frames = 1.92 s segments
# (tools/analysis_tools/ablate.py --preset segment_length).
_base_ = ['../../cavsync/cavsync_vit-toy_1xb64-38e_toy.py']
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
