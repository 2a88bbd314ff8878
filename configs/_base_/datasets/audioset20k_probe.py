# AudioSet-20K linear probing data (paper Sec. 3.5.2, Table 9): all T = 16
# frames and their T aligned 4.16 s segments per clip; training mixes clip
# pairs (mixup on waveforms and frames, then fbank + segments), batch 48.
# 527 classes, mAP (mmpretrain AveragePrecision). Full configs that change
# image_size / segment_length rebuild the pipelines (variables are
# substituted where this file is read).
data_root = 'data/audioset'
num_frames = 16
image_size = 224
segment_length = 416  # 4.16 s frame-aligned segments

load_pipeline = [  # before mixup: waveform and cropped frames
    dict(type='LoadAudio',
         read_seconds=10.255),  # all that a 1024-frame fbank uses
    dict(type='LoadFrames'),
    # the release's antialiased PIL bicubic resize (docs/data.md);
    # backend='cv2' is mmaction.Resize (OpenCV, not antialiased)
    dict(type='ResizeFrames', scale=(-1, image_size),
         interpolation='bicubic', backend='pillow'),
    dict(type='mmaction.CenterCrop', crop_size=image_size),
]
# mixup mixes waveforms: the wrapped pipeline reads the wav even where the
# datafile names a stored fbank (evaluation reads the stored fbank)
mixup_load_pipeline = [dict(load_pipeline[0], use_stored_fbank=False)
                       ] + load_pipeline[1:]
segment_pipeline = [  # after mixup
    dict(type='ComputeFbank', num_mel_bins=128, target_length=1024),
    dict(type='FrameAlignedSegments', segment_length=segment_length),
    dict(type='NormalizeFbank', mean=-5.081, std=4.4849),
]
train_pipeline = segment_pipeline + [
    dict(type='RandomTimeShift'),  # "random time shifting" (Table 9)
    dict(type='PackAudioVisualInputs'),
]
test_pipeline = load_pipeline + segment_pipeline + [
    dict(type='PackAudioVisualInputs')]

clip_dataset = dict(
    type='AudioVisualDataset',
    data_root=data_root,
    label_file='class_labels_indices.csv',
    sampling='all_frames',
    num_frames=num_frames,
    on_error='skip')  # broken clips are logged and counted (DataHealthHook)
train_dataloader = dict(
    batch_size=48,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type='AudioVisualMixupDataset',
        alpha=10.0,
        prob=0.5,
        dataset=dict(clip_dataset, ann_file='audioset_20k_cleaned.json',
                     pipeline=mixup_load_pipeline),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=48,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(clip_dataset, ann_file='audioset_eval_cleaned.json',
                 pipeline=test_pipeline, test_mode=True))
test_dataloader = val_dataloader
val_evaluator = dict(type='mmpretrain.AveragePrecision')
test_evaluator = val_evaluator
