# The pretraining schedule of ./pretrain_adam_25e.py sized for the toy model
# on a CPU (the quickstart's default budget): lr 1e-3, 2 linear warmup epochs
# from 1e-2 x lr, cosine to 0, 38 epochs (with 500 clips and batch 64: 304
# steps). Adam betas / weight decay as in the paper.
_base_ = ['./pretrain_adam_25e.py']
optim_wrapper = dict(optimizer=dict(lr=1e-3))
warmup_epochs = 2
max_epochs = 38
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-2, by_epoch=True, begin=0,
         end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=warmup_epochs,
         end=max_epochs, T_max=max_epochs - warmup_epochs, eta_min=0.,
         convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
