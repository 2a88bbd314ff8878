# AudioSet-2M pretraining (paper Sec. 3.4, Table 9), CAV-MAE datafile layout:
# {"data": [{"video_id", "wav", "video_path", "labels"}]}, frames at
# {video_path}/frame_{i}/{video_id}.jpg (T = 16 extracted frames), 16 kHz wav.
# Each visit draws one random frame i with its 4.16 s aligned segment;
# batch 64 per GPU x 8 GPUs = 512. Full configs override the variables
# below together with the pipelines (they are substituted where read).
dataset_type = 'AudioVisualDataset'
data_root = 'data/audioset'
label_file = 'class_labels_indices_as.csv'  # index,mid,display_name (527)
train_ann_file = 'audioset_2m_cleaned.json'
val_ann_file = 'audioset_eval_cleaned.json'
num_frames = 16  # T
segment_length = 416  # L fbank frames = 4.16 s (1024 = CAV-MAE whole clip)
rounding = 'floor'  # paper; 'round' = the authors' release
image_size = 224

audio_pipeline = [
    dict(type='LoadAudio', sample_rate=16000, mono='mean',
         read_seconds=10.255),  # all that a 1024-frame fbank uses
    dict(type='ComputeFbank', num_mel_bins=128, target_length=1024),
    dict(type='FrameAlignedSegments', segment_length=segment_length,
         rounding=rounding),
    dict(type='NormalizeFbank', mean=-5.081, std=4.4849),
]
frame_pipeline = [
    dict(type='LoadFrames'),
    # the release's training option instead of Resize + CenterCrop:
    # dict(type='mmaction.RandomResizedCrop', area_range=(0.08, 1.0),
    #      aspect_ratio_range=(0.9, 1.1)),
    # dict(type='mmaction.Resize', scale=(image_size, image_size),
    #      keep_ratio=False, interpolation='bicubic'),
    # dict(type='mmaction.Flip', flip_ratio=0.5),
    # the release's antialiased PIL bicubic resize (docs/data.md);
    # backend='cv2' is mmaction.Resize (OpenCV, not antialiased)
    dict(type='ResizeFrames', scale=(-1, image_size),
         interpolation='bicubic', backend='pillow'),
    dict(type='mmaction.CenterCrop', crop_size=image_size),
]
train_pipeline = audio_pipeline + [
    dict(type='RandomTimeShift'),  # "random time shifting" (Table 9)
    # SpecAugment is off in pretraining (release):
    # dict(type='SpecAugment', freq_mask_param=48, time_mask_param=192),
] + frame_pipeline + [dict(type='PackAudioVisualInputs')]
test_pipeline = audio_pipeline + frame_pipeline + [
    dict(type='PackAudioVisualInputs')]

train_dataloader = dict(
    batch_size=64,
    num_workers=8,
    persistent_workers=True,
    pin_memory=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file=train_ann_file,
        label_file=label_file,
        sampling='random_frame',
        num_frames=num_frames,
        on_error='skip',  # AudioSet downloads hold broken clips: log + count
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=64,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file=val_ann_file,
        label_file=label_file,
        sampling='middle_frame',
        num_frames=num_frames,
        on_error='skip',  # a broken eval clip is logged, counted, not fatal
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
