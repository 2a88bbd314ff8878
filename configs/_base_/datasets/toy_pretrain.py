# Synthetic clips (tools/data/make_toy_dataset.py -> data/toy, CAV-MAE layout):
# pretraining samples = one random frame per clip per visit + its 4.16 s
# frame-aligned audio segment (paper Sec. 3.3). Validation: the middle frame.
# Full configs override the variables below together with the pipelines
# (a config variable is substituted where the base file is read).
dataset_type = 'AudioVisualDataset'
data_root = 'data/toy'
label_file = 'class_labels_indices.csv'
num_frames = 16  # T
segment_length = 416  # L fbank frames = 4.16 s
rounding = 'floor'  # paper; 'round' = the authors' release
# the 64 px toy frames are enlarged (bicubic) to 128: with 16 px patches the
# model sees an 8 x 8 grid, so that masking 75 % still leaves parts of the
# objects visible and heatmaps have room to localise
image_size = 128

# The toy datafiles name each clip's stored fbank (fbank/<id>.npy, float16,
# written by the generator as tools/data/extract_av.py does): LoadAudio reads
# it and ComputeFbank keeps it, instead of computing the Kaldi fbank of the
# whole clip on every visit (docs/data.md). LoadAudio(use_stored_fbank=False)
# computes it from the wav.
test_pipeline = [
    dict(type='LoadAudio', sample_rate=16000, mono='mean'),
    dict(type='ComputeFbank', num_mel_bins=128, target_length=1024),
    dict(type='FrameAlignedSegments', segment_length=segment_length,
         rounding=rounding),
    dict(type='NormalizeFbank', mean=-5.081, std=4.4849),
    dict(type='LoadFrames'),
    dict(type='mmaction.Resize', scale=(-1, image_size),
         interpolation='bicubic'),
    dict(type='mmaction.CenterCrop', crop_size=image_size),
    dict(type='PackAudioVisualInputs'),
]
# The paper's "random time shifting" (RandomTimeShift: noise + a circular
# roll of up to +-L frames) is left out at toy scale: with a few hundred steps
# it slows the learning of the frame-aligned correspondence that the toy
# clips test. The AudioSet / VGGSound configs keep it. To add it back:
#   train_pipeline = test_pipeline[:4] + [dict(type='RandomTimeShift')] + \
#       test_pipeline[4:]
train_pipeline = test_pipeline

train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='train.json',
        label_file=label_file,
        sampling='random_frame',
        num_frames=num_frames,
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='val.json',
        label_file=label_file,
        sampling='middle_frame',
        num_frames=num_frames,
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
