"""Train a cavsync_mm model (pretraining, probing) with MMEngine's Runner.

Examples::

    python tools/train.py configs/cavsync/cavsync_vit-toy_1xb64-38e_toy.py
    python tools/train.py CONFIG --work-dir work_dirs/run1 --amp
    python tools/train.py CONFIG --resume            # latest in work_dir
    python tools/train.py CONFIG --resume work_dirs/run1/epoch_3.pth
    python tools/train.py CONFIG --cfg-options train_cfg.max_epochs=2
    tools/dist_train.sh CONFIG 8                     # 8 processes, 1 node

See docs/tools.md for multi-node and slurm runs.
"""
import argparse
import os
import os.path as osp

from mmengine.config import Config, DictAction

# torch, the Runner and cavsync_mm are imported where they are used: `-h`
# (which `mim train` runs before every run) answers without loading them.


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Train a cavsync_mm model with the MMEngine Runner')
    parser.add_argument('config', help='train config file path')
    parser.add_argument(
        '--work-dir',
        help='where logs and checkpoints go (default: the config\'s '
        'work_dir, else ./work_dirs/<config name>)')
    parser.add_argument(
        '--resume',
        nargs='?',
        const='auto',
        metavar='PATH',
        help='resume training: with no value (or "auto") from the latest '
        'checkpoint in the work dir, else from the checkpoint PATH')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='automatic mixed precision: switches optim_wrapper to '
        'AmpOptimWrapper (optim_wrapper.dtype from the config; bfloat16 '
        'on CPU)')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the learning rate by the actual total batch size over '
        'auto_scale_lr.base_batch_size of the config')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config entries, key=value pairs, e.g. '
        'train_cfg.max_epochs=2 env_cfg.dist_cfg.backend=gloo')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher (set by tools/dist_train.sh / slurm_train.sh)')
    # torch.distributed.launch passes --local-rank (older: --local_rank).
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def enable_amp(cfg: Config) -> None:
    """Switch the config's optimizer wrapper to mixed precision."""
    import torch
    from mmengine.logging import print_log
    optim_wrapper = cfg.optim_wrapper
    wrapper_type = optim_wrapper.get('type', 'OptimWrapper')
    if wrapper_type == 'AmpOptimWrapper':
        print_log('AMP is already enabled in the config.', logger='current')
        return
    if wrapper_type != 'OptimWrapper':
        raise ValueError(
            f'--amp needs optim_wrapper.type OptimWrapper or AmpOptimWrapper, '
            f'the config has {wrapper_type!r}')
    optim_wrapper.type = 'AmpOptimWrapper'
    optim_wrapper.setdefault('loss_scale', 'dynamic')
    if not torch.cuda.is_available():
        optim_wrapper.setdefault('dtype', 'bfloat16')


def merge_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Apply the command line to the config (command line wins)."""
    from cavsync_mm.engine.runner_config import apply_common_args
    apply_common_args(cfg, args)
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        if '://' not in args.resume and not osp.isfile(args.resume):
            raise FileNotFoundError(
                f'--resume: checkpoint {args.resume} does not exist')
        cfg.resume = True
        cfg.load_from = args.resume
    if args.amp:
        enable_amp(cfg)
    if args.auto_scale_lr:
        if 'base_batch_size' not in cfg.get('auto_scale_lr', {}):
            raise ValueError('--auto-scale-lr needs auto_scale_lr = dict('
                             'base_batch_size=...) in the config')
        cfg.auto_scale_lr.enable = True
    return cfg


def train(argv=None):
    """Build the Runner of the command line ``argv`` and train; returns the
    Runner. The process group stays up (``main`` closes it), so that one
    launch can run several trainings."""
    args = parse_args(argv)
    from mmengine.runner import Runner

    import cavsync_mm  # noqa: F401  (registers the components)
    from cavsync_mm import compat
    compat.apply()  # fixes the pinned OpenMMLab releases need (see compat)
    from cavsync_mm.engine.runner_config import check_data_files
    cfg = merge_args(Config.fromfile(args.config), args)
    check_data_files(cfg, ('train_dataloader', 'val_dataloader'))
    runner = Runner.from_cfg(cfg)
    runner.train()
    return runner


def main(argv=None):
    from cavsync_mm.engine.runner_config import close_distributed
    train(argv)
    close_distributed()


if __name__ == '__main__':
    main()
