"""Choose the toy probe's recipe on a validation split of the TRAINING clips.

    python tools/analysis_tools/probe_study.py CHECKPOINT \\
        --work-dir work_dirs/probe_study \\
        "base" "lr3e-3;optim_wrapper.optimizer.lr=3e-3" ...  [--final NAME]

1. Caches the frozen CHECKPOINT's per-frame tokens (global, register and
   patch means) of the training and held-out clips once per feature source
   (``--sources encoder joint``), with the same code as the quickstart
   (``build_feature_cache``, ``configs/cavsync/benchmarks/
   vit-toy_temporal-probe_toy.py``). ``--random-init`` caches a randomly
   initialised encoder of the same config instead (the floor).
2. Carves a validation split out of the training clips (``--val-fraction``,
   ``--split-seed``): ``fit_index.json`` / ``tune_index.json`` beside the
   training cache. The held-out clips are not read while choosing.
3. Trains the cached probe config (``configs/cavsync/benchmarks/
   vit-toy_cached-temporal-probe_toy.py``) with each setting's overrides
   through MMEngine's Runner (as ``tools/train.py``) on the fit split and
   reports its mAP on the tune split.
4. ``--final NAME``: trains setting NAME on all training clips and tests it
   on the held-out clips (the reported number), for each ``--seeds``.

A setting is ``NAME[;KEY=VALUE...]``: KEY is a key of the cached probe config
(``optim_wrapper.optimizer.lr=3e-3``, ``model.neck.type=TemporalMeanNeck``),
or ``source`` (``encoder`` / ``joint``), ``token`` (``global`` / ``register``
/ ``patch``), ``modality`` or ``epochs`` (max_epochs; the warmup and cosine
schedule are resized to it). Results go to ``WORK_DIR/results.json`` and a
markdown table ``WORK_DIR/results.md``.
"""
import argparse
import copy
import json
import os.path as osp
import sys
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[2]
RAW_CONFIG = 'configs/cavsync/benchmarks/vit-toy_temporal-probe_toy.py'
CACHED_CONFIG = 'configs/cavsync/benchmarks/vit-toy_cached-temporal-probe_toy.py'
SHORTCUTS = ('source', 'token', 'modality', 'epochs')


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('checkpoint', help='toy CAV-MAE Sync checkpoint '
                        "('none' with --random-init)")
    parser.add_argument('settings', nargs='*', help='NAME[;KEY=VALUE...]')
    parser.add_argument('--work-dir', default='work_dirs/probe_study')
    parser.add_argument('--data-root', default='data/toy')
    parser.add_argument('--sources', nargs='+', default=['encoder'],
                        choices=['encoder', 'joint'])
    parser.add_argument('--random-init', action='store_true',
                        help='cache a randomly initialised encoder (floor)')
    parser.add_argument('--val-fraction', type=float, default=0.2)
    parser.add_argument('--split-seed', type=int, default=0)
    parser.add_argument('--seeds', type=int, nargs='+', default=[0],
                        help='probe seeds (for --final)')
    parser.add_argument('--final', default=None,
                        help='setting to train on all training clips and '
                        'test on the held-out clips')
    return parser.parse_intermixed_args()


def parse_setting(spec):
    from mmengine.config import DictAction
    name, *items = spec.split(';')
    overrides = {}
    for item in items:
        key, _, value = item.partition('=')
        overrides[key.strip()] = DictAction._parse_iterable(value.strip())
    return name.strip(), overrides


def build_caches(args):
    """``{source: cache folder}`` with ``train/``, ``val/`` and the carve."""
    import torch
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmengine.runner import Runner

    from cavsync_mm.datasets.feature_cache import (build_feature_cache,
                                                   with_checkpoint)
    from cavsync_mm.registry import MODELS
    raw = Config.fromfile(str(REPO_ROOT / RAW_CONFIG))
    init_default_scope(raw.default_scope)
    if args.random_init:  # the probe's encoder, randomly initialised
        model_cfg = dict(raw.model, backbone=dict(raw.model.backbone,
                                                  init_cfg=None))
    else:  # the probe's encoder loaded from the pretraining checkpoint
        model_cfg = with_checkpoint(raw.model, args.checkpoint)
    roots = {}
    for source in args.sources:
        root = osp.join(args.work_dir, 'cache', source)
        roots[source] = root
        for split, datafile in raw.feature_cache_splits.items():
            if osp.exists(osp.join(root, split, 'index.json')):
                continue
            torch.manual_seed(0)
            model = MODELS.build(model_cfg)
            model.init_weights()
            loader_cfg = copy.deepcopy(raw.test_dataloader)
            loader_cfg.dataset.ann_file = datafile
            loader_cfg.dataset.data_root = args.data_root
            build_feature_cache(
                model, Runner.build_dataloader(loader_cfg),
                osp.join(root, split), tokens=('global', 'register', 'patch'),
                feature_source=source,
                source=dict(checkpoint=args.checkpoint,
                            random_init=args.random_init))
        carve(osp.join(root, 'train'), args.val_fraction, args.split_seed)
    return roots


def carve(train_dir, fraction, seed):
    """``fit_index.json`` / ``tune_index.json``: a random ``fraction`` of the
    training clips held out for choosing settings."""
    with open(osp.join(train_dir, 'index.json')) as f:
        index = json.load(f)
    entries = index['data_list']
    order = np.random.default_rng(seed).permutation(len(entries))
    num_tune = int(round(fraction * len(entries)))
    for name, rows in (('tune', order[:num_tune]), ('fit', order[num_tune:])):
        with open(osp.join(train_dir, f'{name}_index.json'), 'w') as f:
            json.dump(dict(metainfo=index['metainfo'],
                           data_list=[entries[i] for i in sorted(rows)]), f)


def probe_config(overrides, train_index, test_index, work_dir, seed):
    from mmengine.config import Config

    from cavsync_mm.engine.runner_config import set_epochs
    cfg = Config.fromfile(str(REPO_ROOT / CACHED_CONFIG))
    overrides = dict(overrides)
    shortcuts = {k: overrides.pop(k) for k in SHORTCUTS if k in overrides}
    for key in ('token', 'modality'):
        if key in shortcuts:
            cfg.model[key] = shortcuts[key]
            for loader in ('train_dataloader', 'val_dataloader',
                           'test_dataloader'):
                cfg[loader].dataset[key] = shortcuts[key]
    if shortcuts.get('modality', 'audio_visual') != 'audio_visual':
        for part in ('neck', 'head'):  # one modality: half the token width
            if cfg.model.get(part) and 'in_channels' in cfg.model[part]:
                cfg.model[part].in_channels //= 2
    if overrides:
        cfg.merge_from_dict(overrides)
    set_epochs(cfg, int(shortcuts.get('epochs', cfg.train_cfg.max_epochs)))
    cfg.train_dataloader.dataset.ann_file = train_index
    cfg.test_dataloader.dataset.ann_file = test_index
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.work_dir = work_dir
    cfg.randomness = dict(seed=seed)
    cfg.log_level = 'WARNING'
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=-1,
                                        save_last=False)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=50)
    return cfg, shortcuts.get('source', 'encoder')


def train_and_test(overrides, roots, split, work_dir, seed):
    """Probe mAP: ``split='tune'`` (fit -> tune) or ``'heldout'``
    (all training clips -> held-out clips)."""
    from mmengine.runner import Runner
    root = roots[overrides.get('source', 'encoder')]
    if split == 'tune':
        train_index = osp.join(root, 'train', 'fit_index.json')
        test_index = osp.join(root, 'train', 'tune_index.json')
    else:
        train_index = osp.join(root, 'train', 'index.json')
        test_index = osp.join(root, 'val', 'index.json')
    cfg, _ = probe_config(overrides, train_index, test_index, work_dir, seed)
    runner = Runner.from_cfg(cfg)
    runner.train()
    metrics = runner.test()
    return float(next(v for k, v in metrics.items() if k.endswith('mAP')))


def main():
    args = parse_args()
    import cavsync_mm  # noqa: F401
    from cavsync_mm import compat
    compat.apply()
    settings = dict(parse_setting(s) for s in args.settings)
    if args.final and args.final not in settings:
        sys.exit(f'--final {args.final}: give its setting too')
    for name, overrides in settings.items():
        source = overrides.get('source', 'encoder')
        if source not in args.sources:
            sys.exit(f'setting {name}: source {source} not in --sources')
    roots = build_caches(args)
    out = osp.join(args.work_dir, 'results.json')
    results = json.load(open(out)) if osp.exists(out) else {}
    for name, overrides in settings.items():
        for seed in args.seeds:
            key = f'{name}|tune|seed{seed}'
            if key not in results:
                results[key] = train_and_test(
                    overrides, roots, 'tune',
                    osp.join(args.work_dir, 'runs', name), seed)
                print(f'{name} seed {seed}: validation (carved) mAP '
                      f'{results[key]:.1f}', flush=True)
                _save(results, out)
    if args.final:
        for seed in args.seeds:
            key = f'{args.final}|heldout|seed{seed}'
            if key not in results:
                results[key] = train_and_test(
                    settings[args.final], roots, 'heldout',
                    osp.join(args.work_dir, 'runs', args.final + '_final'),
                    seed)
                print(f'{args.final} seed {seed}: held-out mAP '
                      f'{results[key]:.1f}', flush=True)
                _save(results, out)
    table = ['| setting | split | seeds | mAP |', '|---|---|---|---|']
    groups = {}
    for key, value in results.items():
        name, split, _ = key.split('|')
        groups.setdefault((name, split), []).append(value)
    for (name, split), values in groups.items():
        spread = f' ± {np.std(values):.1f}' if len(values) > 1 else ''
        table.append(f'| {name} | {split} | {len(values)} | '
                     f'{np.mean(values):.1f}{spread} |')
    text = '\n'.join(table) + '\n'
    with open(osp.join(args.work_dir, 'results.md'), 'w') as f:
        f.write(text)
    print(text)


def _save(results, path):
    from cavsync_mm.atomic_files import atomic_path
    with atomic_path(path) as part, open(part, 'w') as f:
        json.dump(results, f, indent=1)


if __name__ == '__main__':
    main()
