# The audio-free centre-prior baseline on the toy segmentation set:
#   python tools/test.py configs/segmentation/toy_segmentation_center_prior.py none
_base_ = './toy_segmentation.py'
model = dict(_delete_=True, type='SoundPromptedLocalizer', backbone=None,
             heatmap='center_prior', center_prior_sigma=0.25,
             data_preprocessor=dict(type='AudioVisualDataPreprocessor'))
