# Sound-prompted segmentation on ADE20K-Sound (paper Sec. 3.5.3; DenseAV's
# benchmark: 106 ADE20K images, 20 classes, each prompted with a VGGSound
# clip). The global audio token of the prompt's middle 4.16 s segment is
# compared (cosine) with every visual patch token of the joint block's visual
# pass: a 14 x 14 map, bilinearly upsampled to 224 x 224. Metric: DenseAV
# protocol (per-class AP over pixels, best IoU over 20 thresholds; mAP, mIoU).
# Annotation format: docs/segmentation.md.
#   python tools/test.py configs/cavsync/benchmarks/vit-base-p16_sound-prompted-seg_ade20k-sound.py PRETRAINED.pth
# (a CAV-MAE Sync pretraining checkpoint loads directly into the localizer)
_base_ = [
    '../../_base_/models/cavsync_vitb.py',
    '../../_base_/datasets/ade20k_sound.py',
    '../../_base_/default_runtime.py',
]
model = dict(
    _delete_=True,
    type='SoundPromptedLocalizer',
    heatmap='audio',  # 'center_prior': the audio-free baseline
    backbone=_base_.model,
    data_preprocessor=dict(type='AudioVisualDataPreprocessor'))
