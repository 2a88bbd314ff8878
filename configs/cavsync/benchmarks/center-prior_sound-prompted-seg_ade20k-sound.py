# The audio-free baseline on ADE20K-Sound: a Gaussian centred on the image
# (sigma = 1/4 of each side), whatever the prompt. No checkpoint is needed:
#   python tools/test.py configs/cavsync/benchmarks/center-prior_sound-prompted-seg_ade20k-sound.py none
_base_ = './vit-base-p16_sound-prompted-seg_ade20k-sound.py'
model = dict(_delete_=True, type='SoundPromptedLocalizer', backbone=None,
             heatmap='center_prior', center_prior_sigma=0.25,
             data_preprocessor=dict(type='AudioVisualDataPreprocessor'))
