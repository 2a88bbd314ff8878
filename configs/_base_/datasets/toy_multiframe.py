# Synthetic clips (data/toy), all T frames and their T frame-aligned segments
# per sample: retrieval, probing, temporal segmentation and localisation.
# The raw-video layout of the same clips is one line away:
#   ann_file='val_videos.json' (entries {"video": "videos/<id>.mp4"}).
# Everything but the sampling and the batch size is ./toy_pretrain.py.
_base_ = ['./toy_pretrain.py']
train_dataloader = dict(batch_size=4, dataset=dict(sampling='all_frames'))
val_dataloader = dict(batch_size=4, dataset=dict(sampling='all_frames'))
test_dataloader = val_dataloader
