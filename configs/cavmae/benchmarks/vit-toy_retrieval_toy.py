# The CAV-MAE baseline on the toy clips (checkpoints of configs/cavmae/cavmae_vit-toy_1xb64-38e_toy.py):
# no global or register tokens (global features = patch-token means), the
# whole 10.24 s spectrogram, the middle frame: one token per modality per
# clip (single-token retrieval, as CAV-MAE evaluates). For T frames' tokens
# averaged into one instead: sampling='all_frames' and
# test_evaluator.temporal_pooling='mean'.
_base_ = [
    '../../_base_/models/cavmae_toy.py',
    '../../_base_/datasets/toy_multiframe.py',
    '../../_base_/default_runtime.py',
    '../../_base_/retrieval_evaluation.py',
]
segment_length = 1024  # the whole clip
test_pipeline = [
    dict(step, segment_length=segment_length)
    if step['type'] == 'FrameAlignedSegments' else step
    for step in _base_.test_pipeline]
test_dataloader = dict(dataset=dict(
    label_file=None,  # retrieval pairs the modalities: no labels needed
    sampling='middle_frame', pipeline=test_pipeline))
train_dataloader = None  # a test-only config
val_dataloader = None
env_cfg = dict(dist_cfg=dict(backend='gloo'))
