# The paper's pretraining schedule (SPEC §3): Adam (betas 0.95, 0.999, weight
# decay 5e-7), lr 2e-4 for a batch of 8 x 64 = 512, 2.5 linear warmup epochs
# then cosine to 0, 25 epochs. Warmup and cosine step every iteration.
optim_wrapper = dict(
    type='OptimWrapper',
    # tools/train.py --amp switches to AmpOptimWrapper
    # no clip_grad: no gradient clipping, as the paper reports none;
    # clip_grad=dict(max_norm=1.0) clips the global gradient norm
    # (--cfg-options optim_wrapper.clip_grad.max_norm=1.0)
    optimizer=dict(type='Adam', lr=2e-4, betas=(0.95, 0.999), weight_decay=5e-7))
warmup_epochs = 2.5
max_epochs = 25
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0,
         end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=warmup_epochs,
         end=max_epochs, T_max=max_epochs - warmup_epochs, eta_min=0.,
         convert_to_iter_based=True),
]
# ResumableEpochBasedTrainLoop: EpochBasedTrainLoop that resumes mid-epoch
# exactly (docs/tools.md, "Long runs")
train_cfg = dict(type='ResumableEpochBasedTrainLoop', max_epochs=max_epochs, val_interval=1)
# validation during pretraining: zero-shot retrieval on the dataset's val
# split (one frame per clip, global tokens)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
val_evaluator = dict(type='RetrievalMetric', strategies=['diagonal_mean'],
                     directions=['v2a', 'a2v'], recall_ks=[1, 5, 10])
test_evaluator = val_evaluator
# lr 2e-4 belongs to the global batch 512; --auto-scale-lr rescales it
auto_scale_lr = dict(base_batch_size=512, enable=False)
