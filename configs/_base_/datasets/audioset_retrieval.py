# AudioSet zero-shot retrieval (paper Sec. 3.5.1) on CAV-MAE's AudioSet
# evaluation subset, CAV-MAE datafile layout (set ann_file to your copy of
# the subset's datafile; relative paths are joined with data_root).
# All T frames and their T aligned segments per clip.
dataset_type = 'AudioVisualDataset'
data_root = 'data/audioset'
ann_file = 'audioset_eval_retrieval_subset.json'
label_file = 'class_labels_indices_as.csv'  # index,mid,display_name (527)
path_placeholder = None  # e.g. '<YOUR_AS_PATH>' if the file uses one
num_frames = 16  # T
segment_length = 416  # L fbank frames = 4.16 s
rounding = 'floor'  # paper; 'round' = the authors' release
image_size = 224

test_pipeline = [
    dict(type='LoadAudio', sample_rate=16000, mono='mean',
         read_seconds=10.255),  # all that a 1024-frame fbank uses
    dict(type='ComputeFbank', num_mel_bins=128, target_length=1024),
    dict(type='FrameAlignedSegments', segment_length=segment_length,
         rounding=rounding),
    dict(type='NormalizeFbank', mean=-5.081, std=4.4849),
    dict(type='LoadFrames'),
    # the release's antialiased PIL bicubic resize (docs/data.md);
    # backend='cv2' is mmaction.Resize (OpenCV, not antialiased)
    dict(type='ResizeFrames', scale=(-1, image_size),
         interpolation='bicubic', backend='pillow'),
    dict(type='mmaction.CenterCrop', crop_size=image_size),
    dict(type='PackAudioVisualInputs'),
]

test_dataloader = dict(
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file=ann_file,
        label_file=label_file,
        path_placeholder=path_placeholder,
        sampling='all_frames',
        num_frames=num_frames,
        on_error='skip',  # a broken eval clip is logged, counted, not fatal
        test_mode=True,
        pipeline=test_pipeline))
# retrieval is evaluated by tools/test.py only: no validation during a run
# (a Runner takes val_dataloader, val_cfg and val_evaluator together or none)
val_dataloader = None
