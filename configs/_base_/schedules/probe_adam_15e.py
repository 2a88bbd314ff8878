# The linear-probing schedule (paper Table 9, AudioSet-20K): Adam (betas
# 0.95/0.999, wd 5e-7), lr 5e-2 for a batch of 48, 1.5 linear warmup epochs
# then cosine, 15 epochs, weight averaging. Children that change the epochs
# rebuild param_scheduler (variables are substituted where this file is read).
max_epochs = 15
warmup_epochs = 1.5
optim_wrapper = dict(
    type='OptimWrapper',
    # no clip_grad: no gradient clipping, as the paper reports none;
    # clip_grad=dict(max_norm=1.0) clips the global gradient norm
    # (--cfg-options optim_wrapper.clip_grad.max_norm=1.0)
    optimizer=dict(type='Adam', lr=5e-2, betas=(0.95, 0.999),
                   weight_decay=5e-7))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0,
         end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=warmup_epochs,
         end=max_epochs, T_max=max_epochs - warmup_epochs,
         convert_to_iter_based=True),
]
# ResumableEpochBasedTrainLoop: EpochBasedTrainLoop that resumes mid-epoch
# exactly (docs/tools.md, "Long runs")
train_cfg = dict(type='ResumableEpochBasedTrainLoop', max_epochs=max_epochs,
                 val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
# Weight averaging: a uniform (stochastic) average of the weights from the
# third epoch on, as CAV-MAE's fine-tuning averages its epoch checkpoints.
custom_hooks = [
    dict(type='EMAHook', ema_type='StochasticWeightAverage', begin_epoch=2,
         update_buffers=True, priority='ABOVE_NORMAL')
]
auto_scale_lr = dict(base_batch_size=48, enable=False)
