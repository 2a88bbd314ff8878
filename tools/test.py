"""Evaluate a checkpoint (retrieval, probing, segmentation) with MMEngine.

Examples::

    python tools/test.py configs/cavsync/benchmarks/vit-toy_retrieval_toy.py CKPT
    python tools/test.py CONFIG CKPT --out results/preds.pkl   # predictions
    python tools/test.py CONFIG CKPT --out results/metrics.json
    tools/dist_test.sh CONFIG CKPT 8

``--out`` never overwrites an existing file.
"""
import argparse
import json
import os
import os.path as osp

from mmengine.config import Config, DictAction
from mmengine.logging import print_log
from mmengine.runner import Runner

import cavsync_mm  # noqa: F401  (registers the components)
from cavsync_mm import compat
from cavsync_mm.engine.runner_config import (apply_common_args,
                                             check_data_files,
                                             close_distributed)

PREDICTION_SUFFIXES = ('.pkl', '.pickle')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Test a cavsync_mm checkpoint with the MMEngine Runner')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file (path or URL); '
                        '"none" for models without weights (centre prior)')
    parser.add_argument(
        '--work-dir',
        help='where logs go (default: the config\'s work_dir, else '
        './work_dirs/<config name>)')
    parser.add_argument(
        '--out',
        metavar='FILE',
        help='FILE.pkl / FILE.pickle: dump every prediction (the data '
        'samples the model returns); FILE.json: write the metrics')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config entries, key=value pairs')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher (set by tools/dist_test.sh / slurm_test.sh)')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    if args.out is not None:
        if not args.out.endswith(PREDICTION_SUFFIXES + ('.json', )):
            parser.error('--out must end with .pkl, .pickle or .json, got '
                         f'{args.out}')
        if osp.exists(args.out):
            parser.error(f'--out {args.out} exists already; choose another '
                         'file name (it is never overwritten)')
    return args


def merge_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Apply the command line to the config (command line wins)."""
    apply_common_args(cfg, args)
    for key in ('test_dataloader', 'test_evaluator'):
        if cfg.get(key) is None:
            raise ValueError(f'{args.config}: {key} is not set; tools/test.py'
                             ' needs test_dataloader, test_evaluator and '
                             'test_cfg')
    cfg.setdefault('test_cfg', dict())
    if cfg.launcher != 'none' and cfg.get('model_wrapper_cfg') is None:
        # an evaluation synchronises nothing per step: no
        # DistributedDataParallel, which also refuses models without
        # trainable parameters (a frozen encoder, the centre prior)
        cfg.model_wrapper_cfg = dict(type='cavsync_mm.EvaluationModelWrapper')
    if args.checkpoint.lower() == 'none':
        # models without weights (the centre prior) are tested as built
        if cfg.model.get('backbone', 'missing') is not None:
            raise ValueError(
                f'{args.config}: checkpoint "none" is only for models without '
                'weights (backbone=None, e.g. the centre prior); this model '
                'would be evaluated at its random initialisation')
        cfg.load_from = None
    else:
        cfg.load_from = args.checkpoint
    cfg.resume = False
    if args.out is not None and args.out.endswith(PREDICTION_SUFFIXES):
        evaluators = cfg.test_evaluator
        if not isinstance(evaluators, (list, tuple)):
            evaluators = [evaluators]
        cfg.test_evaluator = [
            *evaluators,
            dict(type='DumpResults', out_file_path=args.out)
        ]
    return cfg


def write_metrics(metrics: dict, path: str) -> None:
    directory = osp.dirname(osp.abspath(path))
    os.makedirs(directory, exist_ok=True)
    with open(path, 'x', encoding='utf-8') as f:  # 'x': never overwrite
        json.dump({k: float(v) if hasattr(v, '__float__') else v
                   for k, v in metrics.items()}, f, indent=2)
    print_log(f'metrics written to {path}', logger='current')


def test(argv=None):
    """Build the Runner of the command line ``argv`` and test; returns the
    metrics. The process group stays up (``main`` closes it), so that one
    launch can run several evaluations."""
    compat.apply()  # fixes the pinned OpenMMLab releases need (see compat)
    args = parse_args(argv)
    cfg = merge_args(Config.fromfile(args.config), args)
    check_data_files(cfg, ('test_dataloader', ))
    runner = Runner.from_cfg(cfg)
    metrics = runner.test()
    if args.out is not None and args.out.endswith('.json') and \
            runner.rank == 0:
        write_metrics(metrics, args.out)
    return metrics


def main(argv=None):
    metrics = test(argv)
    close_distributed()
    return metrics


if __name__ == '__main__':
    main()
