# The audio-free centre-prior baseline on the toy segmentation set:
#   python tools/test.py configs/cavsync/benchmarks/center-prior_sound-prompted-seg_toy.py none
_base_ = './vit-toy_sound-prompted-seg_toy.py'
model = dict(_delete_=True, type='SoundPromptedLocalizer', backbone=None,
             heatmap='center_prior', center_prior_sigma=0.25,
             data_preprocessor=dict(type='AudioVisualDataPreprocessor'))
