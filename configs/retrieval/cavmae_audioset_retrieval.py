# The CAV-MAE baseline (paper Table 1) on the same audioset retrieval subset:
# the whole 10.24 s spectrogram (1024 fbank frames) and the middle frame give
# one global feature per modality (patch-token means), CAV-MAE's single-token
# retrieval. Averaging T frames' tokens instead is one option away:
# sampling='all_frames' + test_evaluator.temporal_pooling='mean'.
_base_ = [
    '../_base_/models/cavmae_vitb.py',
    '../_base_/datasets/audioset_retrieval.py',
    '../_base_/default_runtime.py',
    './_retrieval_evaluation.py',
]
segment_length = 1024  # the whole clip
test_pipeline = [
    dict(type='LoadAudio', sample_rate=16000, mono='mean'),
    dict(type='ComputeFbank', num_mel_bins=128, target_length=1024),
    dict(type='FrameAlignedSegments', segment_length=segment_length),
    dict(type='NormalizeFbank', mean=-5.081, std=4.4849),
    dict(type='LoadFrames'),
    dict(type='mmaction.Resize', scale=(-1, 224), interpolation='bicubic'),
    dict(type='mmaction.CenterCrop', crop_size=224),
    dict(type='PackAudioVisualInputs'),
]
test_dataloader = dict(
    dataset=dict(sampling='middle_frame', pipeline=test_pipeline))
val_dataloader = test_dataloader
