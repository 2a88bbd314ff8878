# VGGSound zero-shot retrieval (paper Sec. 3.5.1): the authors' 5-per-class
# subset, 1,545 clips, read as it is: its paths start with the placeholder
# <YOUR_VGGS_PATH>, replaced by data_root (frames at
# {data_root}/frames/frame_{i}/{video_id}.jpg, audio {data_root}/audio/*.wav).
# All T frames and their T aligned segments per clip.
dataset_type = 'AudioVisualDataset'
data_root = 'data/vggsound'
ann_file = 'vgg_test_5_per_class_for_retrieval_template.json'
label_file = 'class_labels_indices_vgg.csv'  # index,mid,display_name (309)
path_placeholder = '<YOUR_VGGS_PATH>'
num_frames = 16  # T
segment_length = 416  # L fbank frames = 4.16 s
rounding = 'floor'  # paper; 'round' = the authors' release
image_size = 224

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
        test_mode=True,
        pipeline=test_pipeline))
val_dataloader = test_dataloader
