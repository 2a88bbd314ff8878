# Runtime settings shared by every cavsync_mm config: registry scope, hooks,
# environment, logging. A full config inherits it with
#   _base_ = ['./default_runtime.py', ...]
# and overrides single fields, e.g. `default_hooks.checkpoint.interval`.

# `type='X'` resolves in cavsync_mm's registries first, then MMEngine's;
# mmaction / mmpretrain parts are reached with the scope prefix, e.g.
# type='mmaction.Resize'.
default_scope = 'cavsync_mm'

default_hooks = dict(
    # time per iteration and data loading time
    timer=dict(type='IterTimerHook'),
    # a log line every 10 iterations
    logger=dict(type='LoggerHook', interval=10),
    # steps the learning-rate / momentum schedules
    param_scheduler=dict(type='ParamSchedulerHook'),
    # a checkpoint every epoch; the newest 3 are kept (work_dir/epoch_N.pth);
    # iter_interval=N adds work_dir/iter_N.pth inside epochs (newest kept)
    checkpoint=dict(type='MidEpochCheckpointHook', interval=1,
                    max_keep_ckpts=3, iter_interval=None),
    # a different shuffle on every rank and epoch in distributed runs
    sampler_seed=dict(type='DistSamplerSeedHook'),
    # skipped clips (on_error='skip') summed over workers and ranks, logged
    # per epoch / evaluation; the run stops when more than 1 % of the clip
    # visits fail (docs/data.md, "Bounds and data health")
    data_health=dict(type='DataHealthHook', max_skip_ratio=0.01),
    # random-generator states in every checkpoint, for exact --resume
    exact_resume=dict(type='ExactResumeHook'),
    # stops on a NaN / inf loss, gradient or weight before it reaches a
    # checkpoint; mode='skip' drops such steps (at most max_skipped_steps)
    non_finite=dict(type='NonFiniteGuardHook', mode='stop',
                    max_skipped_steps=10),
    # load_from / resume files must fit the model (names the converter to
    # run otherwise); allow_partial=True loads just the matching part
    checkpoint_fit=dict(type='CheckpointFitHook', allow_partial=False),
    # pictures of the first val / test batch (heatmaps, segment bars,
    # reconstructions) sent to the vis backends below; off by default:
    #   --cfg-options default_hooks.visualization.enable=True
    visualization=dict(type='AVVisualizationHook', enable=False),
)

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # tools/train.py and tools/test.py switch to gloo on machines without
    # CUDA GPUs (and log it)
    dist_cfg=dict(backend='nccl'),
)

log_processor = dict(type='LogProcessor', window_size=10, by_epoch=True)

# Scalars and pictures go to work_dir/<timestamp>/vis_data. TensorBoard too
# (pip install tensorboard, or .[tensorboard]) with this one line:
#   visualizer = dict(vis_backends=[dict(type='LocalVisBackend'), dict(type='TensorboardVisBackend')])
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='AVVisualizer', vis_backends=vis_backends)

log_level = 'INFO'

# load_from: weights to start from (no optimizer / epoch state);
# resume: True continues the latest checkpoint in work_dir (tools/train.py
# --resume [PATH] sets both).
load_from = None
resume = False

# A fixed seed makes runs repeatable; deterministic=True also forces
# deterministic kernels (slower).
randomness = dict(seed=0, deterministic=False)
