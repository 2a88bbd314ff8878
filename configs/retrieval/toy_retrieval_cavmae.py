# The CAV-MAE baseline on the toy clips (checkpoints of configs/toy/cavmae_toy.py):
# no global or register tokens (global features = patch-token means), the
# whole 10.24 s spectrogram, the middle frame: one token per modality per
# clip (single-token retrieval, as CAV-MAE evaluates). For T frames' tokens
# averaged into one instead: sampling='all_frames' and
# test_evaluator.temporal_pooling='mean'.
_base_ = ['./toy_retrieval_cavsync.py']
segment_length = 1024
model = dict(
    backbone=dict(use_global_token=False, num_register_tokens=0,
                  audio_length=segment_length),
    contrastive_loss=dict(loss_weight=0.01))
test_pipeline = [
    dict(type='LoadAudio', sample_rate=16000, mono='mean'),
    dict(type='ComputeFbank', num_mel_bins=128, target_length=1024),
    dict(type='FrameAlignedSegments', segment_length=segment_length),
    dict(type='NormalizeFbank', mean=-5.081, std=4.4849),
    dict(type='LoadFrames'),
    dict(type='mmaction.Resize', scale=(-1, 64), interpolation='bicubic'),
    dict(type='mmaction.CenterCrop', crop_size=64),
    dict(type='PackAudioVisualInputs'),
]
test_dataloader = dict(
    dataset=dict(sampling='middle_frame', pipeline=test_pipeline))
