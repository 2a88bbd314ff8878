"""Cache the frozen backbone's per-frame tokens for fast linear probing.

    python tools/analysis_tools/build_feature_cache.py CONFIG CHECKPOINT \
        --out-dir data/toy/feature_cache [--split train=train.json ...]

CONFIG is a probing config on raw clips (e.g. configs/cavsync/benchmarks/vit-toy_temporal-probe_toy.py):
its ``model.backbone`` (a CAVMAESync) is built and CHECKPOINT (the
pretraining checkpoint) loaded into it; each split's datafile is read with
the config's test dataloader (all frames, no augmentation) and written to
``OUT_DIR/<split>/`` (index.json + one npz per clip). Splits default to the
config's ``feature_cache_splits``. Prints clips/s per split.
"""
import argparse
import copy
import os.path as osp
import time

from mmengine.config import Config, DictAction
from mmengine.runner import Runner


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint', help='CAV-MAE Sync checkpoint')
    parser.add_argument('--out-dir', required=True)
    parser.add_argument('--split', action='append', default=[],
                        metavar='NAME=DATAFILE',
                        help='split to cache (repeatable); defaults to the '
                        "config's feature_cache_splits")
    parser.add_argument('--tokens', nargs='+', default=['global', 'patch'],
                        choices=['global', 'register', 'patch'])
    parser.add_argument('--dtype', default='float32',
                        choices=['float32', 'float16'])
    parser.add_argument('--batch-size', type=int, default=None)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--overwrite', action='store_true')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries, key=value pairs, '
                        'e.g. test_dataloader.dataset.data_root=/data/toy')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    import cavsync_mm  # noqa: F401  (registers the components)
    from cavsync_mm import compat
    compat.apply()  # loads a Runner checkpoint (torch >= 2.6)
    from cavsync_mm.datasets.feature_cache import (build_feature_cache,
                                                   with_checkpoint)
    from cavsync_mm.registry import MODELS
    from mmengine.registry import init_default_scope

    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'cavsync_mm'))
    if cfg.model.get('backbone') is None:
        raise SystemExit(f'{args.config}: model.backbone is empty; pass a '
                         'probing config on raw clips')
    # the probe's encoder, loaded as the config's init_cfg loads it (keys
    # and shapes checked first), with the checkpoint given here
    model = MODELS.build(with_checkpoint(cfg.model, args.checkpoint))
    model.init_weights()
    model.to(args.device).eval()

    splits = dict(s.split('=', 1) for s in args.split) if args.split \
        else dict(cfg.get('feature_cache_splits', {}))
    if not splits:
        raise SystemExit('no split given: use --split NAME=DATAFILE or set '
                         'feature_cache_splits in the config')
    for name, ann_file in splits.items():
        loader_cfg = copy.deepcopy(cfg.test_dataloader)
        loader_cfg.dataset.ann_file = ann_file
        if args.batch_size:
            loader_cfg.batch_size = args.batch_size
        loader = Runner.build_dataloader(loader_cfg)
        start = time.perf_counter()
        index = build_feature_cache(
            model, loader, osp.join(args.out_dir, name), tokens=args.tokens,
            dtype=args.dtype, overwrite=args.overwrite,
            source=dict(config=args.config, checkpoint=args.checkpoint,
                        ann_file=ann_file),
            feature_source=cfg.model.get('feature_source', 'encoder'))
        seconds = time.perf_counter() - start
        clips = len(loader.dataset)
        print(f'{name}: {clips} clips in {seconds:.1f} s '
              f'({clips / max(seconds, 1e-9):.1f} clips/s) -> {index}')


if __name__ == '__main__':
    main()
