# The CAV-MAE baseline (paper Table 1) on the same audioset retrieval subset:
# the whole 10.24 s spectrogram (1024 fbank frames) and the middle frame give
# one global feature per modality (patch-token means), CAV-MAE's single-token
# retrieval. Averaging T frames' tokens instead is one option away:
# sampling='all_frames' + test_evaluator.temporal_pooling='mean'.
_base_ = [
    '../../_base_/models/cavmae_vitb.py',
    '../../_base_/datasets/audioset_retrieval.py',
    '../../_base_/default_runtime.py',
    '../../_base_/retrieval_evaluation.py',
]
segment_length = 1024  # the whole clip
test_pipeline = [
    dict(step, segment_length=segment_length)
    if step['type'] == 'FrameAlignedSegments' else step
    for step in _base_.test_pipeline]
test_dataloader = dict(
    dataset=dict(sampling='middle_frame', pipeline=test_pipeline))
# (no val_dataloader: retrieval is evaluated by tools/test.py only)
