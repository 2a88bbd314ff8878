# The pretraining schedule of ./pretrain_adam_25e.py sized for the toy model
# on a CPU (the quickstart's default budget): lr 1e-3, 2 linear warmup epochs
# from 1e-2 x lr, then a CONSTANT lr, 38 epochs (with 500 clips and batch 64:
# 304 steps). Adam betas / weight decay as in the paper.
# Why constant and not the paper's cosine decay: at toy scale the contrastive
# loss sits on a plateau at uniform logits for the first ~150-200 steps; a
# cosine decay over 304 steps has lowered the lr by half when the model
# leaves it, and learning stalls (docs/toy_study.md: V->A R@1 20.5 -> 36.0 %
# for seed 0 with PyTorch init). lr_decay = 'cosine' restores the decay
# (tools/quickstart.py and tools/analysis_tools/ablate.py read it).
_base_ = ['./pretrain_adam_25e.py']
optim_wrapper = dict(optimizer=dict(lr=1e-3))
warmup_epochs = 2
max_epochs = 38
lr_decay = 'constant'
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-2, by_epoch=True, begin=0,
         end=warmup_epochs, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
