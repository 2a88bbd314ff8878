# Table 5 ablation: T = 10 frames per clip during pretraining (paper: 16);
# the training frame i is drawn from 10 uniformly spaced frames.
_base_ = ['./cavsync_vit-base-p16_8xb64-25e_as2m.py']
train_dataloader = dict(dataset=dict(num_frames=10))
