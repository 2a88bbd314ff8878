# Sound-event classification on the synthetic clips with mmpretrain's
# ImageClassifier: CAV-MAE Sync's audio encoder (cavsync_mm) as the backbone,
# mmpretrain's multi-label linear head, loss and metrics. The clip's whole
# 10 s log-Mel spectrogram (1024 x 128 after padding) is the "image".
#   python tools/data/make_toy_dataset.py       # data/toy, 8 classes
#   PYTHONPATH=$PWD python tools/train.py \
#       projects/sound_event_classification/configs/cavsync-audio-tiny_1xb32-10e_toy-sed.py
custom_imports = dict(
    imports=['cavsync_mm', 'projects.sound_event_classification.models'],
    allow_failed_imports=False)
default_scope = 'mmpretrain'  # cavsync_mm parts keep their prefix

num_classes = 8
model = dict(
    type='ImageClassifier',
    data_preprocessor=dict(type='ClsDataPreprocessor'),  # fbank is normalised
    backbone=dict(
        type='CAVMAESyncAudioEncoder',
        # the toy CAV-MAE Sync's audio side (configs/_base_/models/cavsync_toy.py)
        embed_dims=64, encoder_depth=2, num_heads=4, image_size=128,
        audio_length=1024, num_register_tokens=8, out_type='global'),
        # start from a CAV-MAE Sync checkpoint of the same sizes with
        # init_cfg=dict(type='Pretrained', checkpoint=..., prefix='backbone.')
    head=dict(
        type='MultiLabelLinearClsHead', num_classes=num_classes,
        in_channels=64,
        loss=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)))

data_root = 'data/toy'
pipeline = [
    dict(type='cavsync_mm.LoadAudio', sample_rate=16000, mono='mean'),
    dict(type='cavsync_mm.ComputeFbank', num_mel_bins=128, target_length=1024),
    # 1024 frames = CAV-MAE's whole-clip audio (the clip's labels hold for it)
    dict(type='cavsync_mm.FrameAlignedSegments', segment_length=1024),
    dict(type='cavsync_mm.NormalizeFbank', mean=-5.081, std=4.4849),
    dict(type='PackInputs', input_key='audio', meta_keys=('video_id', )),
]
dataset = dict(
    type='cavsync_mm.AudioVisualDataset', data_root=data_root,
    label_file='class_labels_indices.csv', sampling='middle_frame',
    num_frames=16, pipeline=pipeline)
train_dataloader = dict(
    batch_size=32, num_workers=2, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(dataset, ann_file='train.json'))
val_dataloader = dict(
    batch_size=32, num_workers=2, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(dataset, ann_file='val.json', test_mode=True))
test_dataloader = val_dataloader
val_evaluator = [
    dict(type='AveragePrecision'),  # mAP over classes (AudioSet's metric)
    dict(type='MultiLabelMetric', thr=0.5),
]
test_evaluator = val_evaluator

optim_wrapper = dict(optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=1),
]
train_cfg = dict(by_epoch=True, max_epochs=10, val_interval=5)
val_cfg = dict()
test_cfg = dict()

# runtime (mmpretrain's defaults, written out: the PyPI wheel ships no configs)
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=10),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=5, max_keep_ckpts=1),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='VisualizationHook', enable=False))
env_cfg = dict(cudnn_benchmark=False,
               mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
               dist_cfg=dict(backend='gloo'))
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='UniversalVisualizer', vis_backends=vis_backends)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0, deterministic=False)
