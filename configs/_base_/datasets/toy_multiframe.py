# Synthetic clips (data/toy), all T frames and their T frame-aligned segments
# per sample: retrieval, probing, temporal segmentation and localisation.
# The raw-video layout of the same clips is one line away:
#   ann_file='val_videos.json' (entries {"video": "videos/<id>.mp4"}).
dataset_type = 'AudioVisualDataset'
data_root = 'data/toy'
label_file = 'class_labels_indices.csv'
num_frames = 16  # T
segment_length = 416  # L fbank frames = 4.16 s
rounding = 'floor'  # paper; 'round' = the authors' release
image_size = 64  # the toy frames are 64 x 64

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
train_pipeline = test_pipeline[:4] + [dict(type='RandomTimeShift')] + \
    test_pipeline[4:]

train_dataloader = dict(
    batch_size=4,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='train.json',
        label_file=label_file,
        sampling='all_frames',
        num_frames=num_frames,
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=4,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='val.json',
        label_file=label_file,
        sampling='all_frames',
        num_frames=num_frames,
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
