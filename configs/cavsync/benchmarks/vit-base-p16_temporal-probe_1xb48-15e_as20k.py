# Linear probing on AudioSet-20K (paper Sec. 3.5.2, Table 9): the frozen
# CAV-MAE Sync (ViT-B) gives, for each of the T = 16 frames, [g_v_t ; g_a_t]
# (1536-d); a learned CLS token + 2 transformer blocks + LayerNorm + linear
# classify the clip. BCE, 527 classes, mAP (mmpretrain AveragePrecision).
# Adam (betas 0.95/0.999, wd 5e-7), lr 5e-2, cosine, 1.5 warmup epochs,
# 15 epochs, batch 48, mixup, weight averaging.
#   python tools/train.py configs/cavsync/benchmarks/vit-base-p16_temporal-probe_1xb48-15e_as20k.py \
#       --cfg-options model.backbone.init_cfg.checkpoint=PRETRAINED.pth
#   python tools/test.py configs/cavsync/benchmarks/vit-base-p16_temporal-probe_1xb48-15e_as20k.py work_dirs/probe_as20k/epoch_15.pth
_base_ = [
    '../../_base_/models/cavsync_vitb.py',
    '../../_base_/datasets/audioset20k_probe.py',
    '../../_base_/schedules/probe_adam_15e.py',
    '../../_base_/default_runtime.py',
]
num_classes = 527
token = 'global'  # 'register' | 'patch' (Table 12)
modality = 'audio_visual'  # 'audio' | 'visual' (Table 10)
token_width = 768 * 2  # [g_a ; g_v] (release order); 768 for one modality

model = dict(
    _delete_=True,
    type='AudioVisualClassifier',
    modality=modality,
    token=token,
    # the frozen encoder, loaded from the pretraining checkpoint (required):
    #   --cfg-options model.backbone.init_cfg.checkpoint=PRETRAINED.pth
    backbone=dict(_base_.model.backbone, init_cfg=dict(
        type='Pretrained', checkpoint=None, prefix='backbone.')),
    neck=dict(
        type='TemporalTransformerNeck',
        in_channels=token_width,
        num_frames=_base_.num_frames,
        num_blocks=2,
        num_heads=12,
        temporal_position_embedding=False),  # release (commented out there)
    head=dict(
        type='mmpretrain.MultiLabelLinearClsHead',
        num_classes=num_classes,
        in_channels=token_width,
        # mmpretrain sums the BCE over classes and averages over clips; the
        # release's BCEWithLogitsLoss averages over both: 1 / K restores it
        loss=dict(type='mmpretrain.CrossEntropyLoss', use_sigmoid=True,
                  loss_weight=1 / num_classes),
        # the release's head init (trunc. normal 0.02, zero bias)
        init_cfg=dict(type='TruncNormal', layer='Linear', std=.02, bias=0.)),
    data_preprocessor=dict(type='AudioVisualDataPreprocessor'))

default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(max_keep_ckpts=2, save_best='auto'))
