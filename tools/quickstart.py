"""The main job on the synthetic clips, end to end.

Generates the synthetic audio-visual clips, pretrains a small CAV-MAE Sync and
a small CAV-MAE baseline on the same budget, evaluates every downstream task
through the same configs ``tools/test.py`` uses (zero-shot retrieval in both
directions with all four aggregations, linear probing, sound-prompted
segmentation, temporal segmentation) and writes
``work_dirs/quickstart/report.md`` with tables and PNG figures.

    bash tools/quickstart.sh            # = pip install -e . && this script
    python tools/quickstart.py          # default: ~15 min on 2 CPU cores
    python tools/quickstart.py --fast   # smoke run: a few minutes, tiny budget
    python tools/quickstart.py --full   # more clips and steps (about an hour)
"""
import argparse
import copy
import json
import os
import os.path as osp
import sys
import time
from pathlib import Path

from mmengine.config import DictAction

REPO_ROOT = Path(__file__).resolve().parents[1]

# Budgets. ``epochs`` counts passes over the training clips (one random frame
# per clip per visit); both models get exactly the same budget.
PROFILES = {
    'smoke': dict(num_clips=16, val_clips=12, epochs=2, batch_size=8,
                  warmup_epochs=1, probe_epochs=3, temporal_clips=3,
                  seg_per_class=1),
    'fast': dict(num_clips=200, val_clips=100, epochs=6, batch_size=32,
                 warmup_epochs=1, probe_epochs=50, temporal_clips=20),
    'default': dict(num_clips=500, val_clips=200, epochs=38, batch_size=64,
                    warmup_epochs=2, probe_epochs=200, temporal_clips=100),
    'full': dict(num_clips=2000, val_clips=500, epochs=60, batch_size=64,
                 warmup_epochs=3, probe_epochs=200, temporal_clips=200),
}
MODELS = {  # name: (pretraining config, retrieval config)
    'CAV-MAE Sync': ('configs/cavsync/cavsync_vit-toy_1xb64-38e_toy.py',
                     'configs/cavsync/benchmarks/vit-toy_retrieval_toy.py'),
    'CAV-MAE': ('configs/cavmae/cavmae_vit-toy_1xb64-38e_toy.py',
                'configs/cavmae/benchmarks/vit-toy_retrieval_toy.py'),
}
STRATEGIES = ('diagonal_mean', 'diagonal_max', 'block_mean', 'block_max')


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument('--fast', action='store_true',
                      help='smoke run: fewer clips and steps')
    size.add_argument('--full', action='store_true',
                      help='more clips and steps (about an hour on 2 cores)')
    size.add_argument('--smoke', action='store_true',
                      help='every stage on a handful of clips (the test '
                      'suite runs this; its numbers mean nothing)')
    parser.add_argument('--work-dir', default='work_dirs/quickstart')
    parser.add_argument('--data-root', default=None,
                        help='synthetic clips (default: data/toy, or '
                        'data/toy_fast / data/toy_full for the other sizes)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        default={}, help='override settings of both '
                        'pretraining configs, e.g. '
                        'model.contrastive_loss.symmetric=False')
    parser.add_argument('--reuse-checkpoints', action='store_true',
                        help='skip a pretraining whose final checkpoint is '
                        'already in the work dir (to redo the evaluation)')
    parser.add_argument('--workers', type=int, default=2,
                        help='processes for data generation and loading')
    return parser.parse_args()


class Steps:
    """Numbered step headers with elapsed time."""

    def __init__(self, total):
        self.total, self.index, self.start = total, 0, time.time()

    def __call__(self, title):
        self.index += 1
        print(f'\n=== [{self.index}/{self.total}] {title} '
              f'(t = {time.time() - self.start:.0f} s) ===', flush=True)

    def elapsed(self):
        return time.time() - self.start


def _quiet(cfg, desc, log_interval=10):
    """Progress bars instead of MMEngine's INFO log lines (the losses still
    go to ``vis_data/scalars.json`` every ``log_interval`` iterations)."""
    cfg.log_level = 'WARNING'
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=log_interval)
    cfg.custom_hooks = list(cfg.get('custom_hooks') or []) + [
        dict(type='ProgressBarHook', desc=desc)]
    return cfg


def load_config(config, encoder_options=None):
    """``Config.fromfile`` of a shipped config with the pretraining's
    encoder overrides (``--cfg-options model.backbone.*``) applied to the
    encoder its model holds, so that every evaluation builds the encoder the
    checkpoints hold."""
    from mmengine.config import Config

    from cavsync_mm.engine.runner_config import set_encoder_options
    return set_encoder_options(Config.fromfile(str(REPO_ROOT / config)),
                               encoder_options)


def pretrain(name, config, work_dir, data_root, profile, seed, workers,
             cfg_options=None):
    from mmengine.config import Config
    from mmengine.runner import Runner

    from cavsync_mm.engine.runner_config import set_data_root, set_epochs
    cfg = Config.fromfile(str(REPO_ROOT / config))
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    epochs = profile['epochs']
    cfg.work_dir = str(work_dir)
    cfg.randomness = dict(seed=seed)
    cfg.train_dataloader.batch_size = profile['batch_size']
    cfg.train_dataloader.num_workers = workers
    cfg.train_dataloader.persistent_workers = workers > 0
    set_data_root(cfg, data_root, ('train_dataloader', ))
    # the toy schedule's shape (lr_decay) with the profile's warmup
    set_epochs(cfg, epochs, warmup_epochs=profile['warmup_epochs'])
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook',
                                        interval=epochs, max_keep_ckpts=1)
    print(f'{name}: {config}, {epochs} epochs x batch '
          f'{profile["batch_size"]}', flush=True)
    runner = Runner.from_cfg(_quiet(cfg, name, log_interval=4))
    runner.train()
    return osp.join(str(work_dir), f'epoch_{epochs}.pth')


def run_test(config, checkpoint, work_dir, data_root, cfg_options=None,
             desc='', encoder_options=None):
    """What ``tools/test.py CONFIG CHECKPOINT`` does, in this process."""
    from mmengine.runner import Runner

    from cavsync_mm.engine.runner_config import set_data_root
    cfg = load_config(config, encoder_options)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    cfg.work_dir = str(work_dir)
    cfg.load_from = checkpoint
    set_data_root(cfg, data_root, ('test_dataloader', ))
    runner = Runner.from_cfg(_quiet(cfg, desc or osp.basename(config)))
    return runner.test()


def recall_table(metrics, prefix='retrieval/'):
    rows = {}
    for direction in ('v2a', 'a2v'):
        for strategy in STRATEGIES:
            key = f'{prefix}{direction}_{strategy}'
            if f'{key}_R@1' in metrics:
                rows[(direction, strategy)] = tuple(
                    metrics[f'{key}_{k}'] for k in ('R@1', 'R@5', 'R@10',
                                                    'MedR'))
    return rows


def evaluate_retrieval(models, data_root, work_dir, encoder_options=None):
    """Every model with its own config (all frames, all four strategies);
    CAV-MAE also the way CAV-MAE evaluates (one middle frame and the whole
    clip's audio) and with its T frames' tokens averaged. Returns
    ``{model: {evaluation: {(direction, strategy): (R@1, R@5, R@10, MedR)}}}``."""
    results = {}
    for name, (_, config) in MODELS.items():
        checkpoint = models[name]
        evaluations = {'all frames': None}
        if name == 'CAV-MAE':
            # one token per clip: the four strategies coincide
            single_token = dict(strategies=['diagonal_mean'])
            evaluations = {
                'middle frame (CAV-MAE protocol)': dict(
                    test_evaluator=single_token),
                'all frames': dict(test_dataloader=dict(
                    dataset=dict(sampling='all_frames'))),
                'all frames, mean token': dict(
                    test_dataloader=dict(dataset=dict(sampling='all_frames')),
                    test_evaluator=dict(single_token,
                                        temporal_pooling='mean')),
            }
        results[name] = {}
        for evaluation, options in evaluations.items():
            print(f'retrieval: {name}, {evaluation}', flush=True)
            metrics = run_test(config, checkpoint,
                               work_dir / 'retrieval' / _slug(name) /
                               _slug(evaluation), data_root, options,
                               encoder_options=encoder_options)
            results[name][evaluation] = recall_table(metrics)
    return results


def _slug(text):
    return ''.join(c if c.isalnum() else '_' for c in text.lower()).strip('_')


def linear_probe(checkpoint, data_root, work_dir, profile,
                 encoder_options=None):
    """Cache the frozen toy CAV-MAE Sync's tokens, train the toy probe of
    the cached config on them (a linear head, docs/toy_study.md section 4),
    test it. Returns (probe mAP, majority mAP)."""
    import numpy as np
    from mmengine.config import Config
    from mmengine.runner import Runner

    from cavsync_mm.datasets.feature_cache import (build_feature_cache,
                                                   with_checkpoint)
    from cavsync_mm.engine.runner_config import set_epochs
    from cavsync_mm.registry import MODELS as MODEL_REGISTRY
    raw_cfg = load_config(
        'configs/cavsync/benchmarks/vit-toy_temporal-probe_toy.py',
        encoder_options)
    # the probe's encoder alone, loaded from the pretraining checkpoint
    probe_model = MODEL_REGISTRY.build(with_checkpoint(raw_cfg.model, checkpoint))
    probe_model.init_weights()
    cache_root = work_dir / 'feature_cache'
    for split, datafile in raw_cfg.feature_cache_splits.items():
        loader_cfg = copy.deepcopy(raw_cfg.test_dataloader)
        loader_cfg.dataset.ann_file = datafile
        loader_cfg.dataset.data_root = data_root
        loader = Runner.build_dataloader(loader_cfg)
        build_feature_cache(
            probe_model, loader, str(cache_root / split), overwrite=True,
            feature_source=raw_cfg.model.get('feature_source', 'encoder'))

    cfg = Config.fromfile(str(REPO_ROOT / 'configs/cavsync/benchmarks/vit-toy_cached-temporal-probe_toy.py'))
    cfg.work_dir = str(work_dir)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        split = 'train' if loader == 'train_dataloader' else 'val'
        cfg[loader].dataset.ann_file = str(cache_root / split / 'index.json')
    set_epochs(cfg, profile['probe_epochs'],
               val_interval=profile['probe_epochs'])
    runner = Runner.from_cfg(_quiet(cfg, 'probe'))
    runner.train()
    metrics = runner.test()
    probe_map = _first(metrics, ('mAP', 'AP'))

    # majority-class probe: every clip gets the training class frequencies
    def labels(split):
        with open(cache_root / split / 'index.json') as f:
            index = json.load(f)
        num_classes = 8
        multi_hot = np.zeros((len(index['data_list']), num_classes))
        for row, entry in zip(multi_hot, index['data_list']):
            row[np.asarray(entry['gt_label'], dtype=int)] = 1
        return multi_hot
    train_labels, val_labels = labels('train'), labels('val')
    prior = np.tile(train_labels.mean(0), (len(val_labels), 1))
    majority_map = _mean_average_precision(prior, val_labels)
    return probe_map, majority_map


def _first(metrics, suffixes):
    for key, value in metrics.items():
        if any(key.endswith(s) for s in suffixes):
            return float(value)
    raise KeyError(f'none of {suffixes} in {sorted(metrics)}')


def _mean_average_precision(scores, targets):
    from sklearn.metrics import average_precision_score
    aps = [average_precision_score(targets[:, k], scores[:, k]) * 100
           for k in range(targets.shape[1]) if targets[:, k].any()]
    return float(sum(aps) / len(aps))


SURGERY = 'CAV-MAE Sync, feature surgery (non-default map)'


def segmentation(checkpoint, data_root, work_dir, encoder_options=None):
    """Sound-prompted segmentation against the synthetic masks with the
    paper's heatmap (the target's figure), with CLIP Surgery's feature
    surgery (a non-default map, docs/toy_study.md section 2) and the
    centre-prior baseline. Returns {method: (mAP, mIoU)}."""
    seg_config = 'configs/cavsync/benchmarks/vit-toy_sound-prompted-seg_toy.py'
    results = {}
    for method, folder, config, options in (
            ('CAV-MAE Sync', 'cav_mae_sync', seg_config, {}),
            (SURGERY, 'feature_surgery', seg_config,
             {'model.keep_tokens': True,
              'test_evaluator.heatmap': 'feature_surgery'}),
            ('centre prior', 'centre_prior',
             'configs/cavsync/benchmarks/center-prior_sound-prompted-seg_toy.py',
             {})):
        out_dir = work_dir / 'segmentation' / folder
        if method != SURGERY:  # the overlays show the paper's map
            options['default_hooks'] = dict(visualization=dict(
                enable=True, max_samples=4, out_dir=str(out_dir / 'heatmaps')))
        metrics = run_test(config, checkpoint, out_dir, data_root, options,
                           encoder_options=encoder_options)
        results[method] = (_first(metrics, ('mAP', )),
                           _first(metrics, ('mIoU', )))
    return results


def temporal_segmentation(models, data_root, work_dir, num_clips,
                          encoder_options=None):
    """Segment val clips into 5 runs with audio / visual / audio-visual
    features; agreement (adjusted Rand index) with the true events. Writes
    one PNG per model for the first clip."""
    import numpy as np
    import torch
    from mmengine.registry import init_default_scope

    from cavsync_mm.apis import init_model
    from cavsync_mm.apis.retrieval import extract_clip_features
    from cavsync_mm.datasets.transforms import kaldi_fbank, load_audio
    from cavsync_mm.evaluation.temporal_segmentation import (
        segment_agreement, segment_clip)
    from cavsync_mm.registry import DATASETS
    from cavsync_mm.visualization import draw_temporal_segmentation
    init_default_scope('cavsync_mm')
    scores, pictures = {}, {}
    for name, (_, config) in MODELS.items():
        cfg = load_config(config, encoder_options)
        dataset_cfg = copy.deepcopy(cfg.test_dataloader.dataset)
        dataset_cfg.update(data_root=data_root, sampling='all_frames',
                           indices=num_clips)
        dataset = DATASETS.build(dataset_cfg)
        model = init_model(cfg, models[name])
        features = extract_clip_features(model, dataset, keep_frames=True)
        per_kind = {}
        for index, sample in enumerate(features.data_samples):
            truth = sample.gt_frame_labels.numpy()
            segments = segment_clip(features.global_audio[index].numpy(),
                                    features.global_visual[index].numpy())
            for kind, result in segments.items():
                per_kind.setdefault(kind, []).append(
                    segment_agreement(result.cluster_labels, truth))
            if index == 0:
                info = dataset.get_data_info(0)
                spectrogram = kaldi_fbank(
                    torch.from_numpy(load_audio(info['audio_path'])))
                bars = {kind: result.cluster_labels
                        for kind, result in segments.items()}
                bars['ground_truth'] = truth
                path = work_dir / f'temporal_{_slug(name)}.png'
                draw_temporal_segmentation(
                    features.frames[0], spectrogram.numpy(), bars, str(path),
                    title=f'{name}: {features.video_ids[0]}')
                pictures[name] = path
        scores[name] = {k: float(np.mean(v)) for k, v in per_kind.items()}
    return scores, pictures


def reconstructions(checkpoint, data_root, work_dir, encoder_options=None):
    from mmengine.registry import init_default_scope

    from cavsync_mm.apis import init_model
    from cavsync_mm.registry import DATASETS
    from cavsync_mm.visualization import save_reconstruction
    init_default_scope('cavsync_mm')
    config, _ = MODELS['CAV-MAE Sync']
    cfg = load_config(config, encoder_options)
    model = init_model(cfg, checkpoint)
    dataset_cfg = copy.deepcopy(cfg.val_dataloader.dataset)
    dataset_cfg.update(data_root=data_root, indices=2)
    dataset = DATASETS.build(dataset_cfg)
    batch = model.data_preprocessor(
        dict(inputs=[dataset[i]['inputs'] for i in range(2)],
             data_samples=[dataset[i]['data_samples'] for i in range(2)]),
        False)
    path = work_dir / 'reconstruction.png'
    save_reconstruction(model, batch['inputs']['audio'],
                        batch['inputs']['frames'], path, overwrite=True)
    return path


def _report_module():
    """``tools/quickstart_report.py``, beside this script."""
    import importlib.util
    path = Path(__file__).resolve().with_name('quickstart_report.py')
    spec = importlib.util.spec_from_file_location('quickstart_report', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main():
    args = parse_args()
    encoder_options = {
        key[len('model.backbone.'):]: value
        for key, value in (args.cfg_options or {}).items()
        if key.startswith('model.backbone.')}
    profile_name = next((name for name in ('smoke', 'fast', 'full')
                         if getattr(args, name)), 'default')
    profile = PROFILES[profile_name]
    data_root = args.data_root or ('data/toy' if profile_name == 'default'
                                   else f'data/toy_{profile_name}')
    work_dir = Path(args.work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    os.chdir(REPO_ROOT)
    sys.path.insert(0, str(REPO_ROOT))
    import torch
    torch.manual_seed(args.seed)
    import cavsync_mm  # noqa: F401
    from cavsync_mm import compat
    compat.apply()  # Runner checkpoints on torch >= 2.6, CPU gloo / AMP
    from cavsync_mm.datasets.synthetic import make_toy_dataset
    from cavsync_mm.visualization import save_loss_curves

    steps = Steps(8)
    steps('synthetic clips')
    extra = {'seg_per_class': profile['seg_per_class']} \
        if 'seg_per_class' in profile else {}
    make_toy_dataset(data_root, num_clips=profile['num_clips'],
                     val_clips=profile['val_clips'], seed=args.seed,
                     workers=args.workers, **extra)

    checkpoints, pretrain_dirs = {}, {}
    for name, (config, _) in MODELS.items():
        steps(f'pretraining {name}')
        pretrain_dirs[name] = work_dir / 'pretrain' / _slug(name)
        final = pretrain_dirs[name] / f'epoch_{profile["epochs"]}.pth'
        if args.reuse_checkpoints and final.exists():
            print(f'{name}: reusing {final}')
            checkpoints[name] = str(final)
            continue
        checkpoints[name] = pretrain(name, config, pretrain_dirs[name],
                                     data_root, profile, args.seed,
                                     args.workers, args.cfg_options)

    steps('zero-shot retrieval')
    retrieval = evaluate_retrieval(checkpoints, data_root, work_dir,
                                   encoder_options)
    steps('linear probing')
    probe = linear_probe(checkpoints['CAV-MAE Sync'], data_root,
                         work_dir / 'probe', profile, encoder_options)
    steps('sound-prompted segmentation')
    seg = segmentation(checkpoints['CAV-MAE Sync'], data_root, work_dir,
                       encoder_options)
    steps('temporal segmentation')
    temporal, temporal_pictures = temporal_segmentation(
        checkpoints, data_root, work_dir, profile['temporal_clips'],
        encoder_options)
    steps('figures and report')
    figures = {'Pretraining losses': save_loss_curves(
        {n: str(d) for n, d in pretrain_dirs.items()},
        str(work_dir / 'loss_curves.png'))}
    figures['Masked reconstruction (CAV-MAE Sync)'] = reconstructions(
        checkpoints['CAV-MAE Sync'], data_root, work_dir, encoder_options)
    heatmaps = sorted((work_dir / 'segmentation' / 'cav_mae_sync' /
                       'heatmaps').glob('*.png'))[:4]
    for index, picture in enumerate(heatmaps):
        figures[f'Sound-prompted heatmap {index + 1}'] = picture
    for name, picture in temporal_pictures.items():
        figures[f'Temporal segmentation ({name})'] = picture
    figures = {k: osp.relpath(str(v), str(work_dir))
               for k, v in figures.items()}
    report = work_dir / 'report.md'
    command = 'bash tools/quickstart.sh' + (
        f' --{profile_name}' if profile_name != 'default' else '')
    _report_module().write_report(report, dict(
        command=command, profile=profile_name, seed=args.seed,
        data_root=data_root, num_train=profile['num_clips'],
        num_val=profile['val_clips'], epochs=profile['epochs'],
        batch_size=profile['batch_size'], retrieval=retrieval, probe=probe,
        segmentation=seg, temporal=temporal,
        temporal_clips=profile['temporal_clips'], figures=figures,
        cfg_options=args.cfg_options,
        elapsed=steps.elapsed()))
    summary = {
        'retrieval': {m: {e: {f'{d}_{s}': v for (d, s), v in rows.items()}
                          for e, rows in ev.items()}
                      for m, ev in retrieval.items()},
        'probe_mAP': probe[0], 'majority_mAP': probe[1],
        'segmentation': seg, 'temporal_ari': temporal,
        'elapsed_s': steps.elapsed(), 'profile': profile_name,
    }
    with open(work_dir / 'report.json', 'w') as f:
        json.dump(summary, f, indent=1)
    print(f'\nreport: {report} ({steps.elapsed() / 60:.1f} min)')


if __name__ == '__main__':
    main()
