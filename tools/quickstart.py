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


def _with_data_root(dataloader, data_root):
    dataset = dataloader.dataset
    while 'dataset' in dataset:  # wrappers
        dataset = dataset.dataset
    dataset.data_root = data_root
    return dataloader


#: ``--cfg-options`` keys under ``model.backbone.`` change the encoder the
#: checkpoints hold (``use_global_token``, ``num_register_tokens``, ...): every
#: evaluation config must build the same encoder, wherever its model nests it
#: (the localizer wraps the whole pretraining model, the probe takes the
#: encoder alone). Set by main(); applied by load_config().
ENCODER_OPTIONS = {}
ENCODER_TYPES = ('AudioVisualEncoder', 'cavsync_mm.AudioVisualEncoder')


def load_config(config):
    """``Config.fromfile`` of an evaluation config, with the pretraining's
    encoder overrides applied to the encoder its model holds."""
    from mmengine.config import Config
    cfg = Config.fromfile(str(REPO_ROOT / config))
    # the wrappers hold the encoder as their backbone (the localizer's
    # backbone is the pretraining model, whose backbone is the encoder)
    path, node = 'model', cfg.get('model')
    while node is not None and node.get('type') not in ENCODER_TYPES:
        path, node = f'{path}.backbone', node.get('backbone')
    if node is not None and ENCODER_OPTIONS:
        cfg.merge_from_dict(
            {f'{path}.{key}': value for key, value in ENCODER_OPTIONS.items()})
    return cfg


def pretrain(name, config, work_dir, data_root, profile, seed, workers,
             cfg_options=None):
    from mmengine.config import Config
    from mmengine.runner import Runner

    from cavsync_mm.engine.runner_config import warmup_schedule
    cfg = Config.fromfile(str(REPO_ROOT / config))
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    epochs, warmup = profile['epochs'], profile['warmup_epochs']
    cfg.work_dir = str(work_dir)
    cfg.randomness = dict(seed=seed)
    cfg.train_dataloader.batch_size = profile['batch_size']
    cfg.train_dataloader.num_workers = workers
    cfg.train_dataloader.persistent_workers = workers > 0
    _with_data_root(cfg.train_dataloader, data_root)
    cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=epochs,
                         val_interval=epochs + 1)
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    # the toy schedule's shape (lr_decay) resized to the profile's epochs
    cfg.param_scheduler = warmup_schedule(epochs, warmup,
                                          cfg.get('lr_decay', 'cosine'))
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook',
                                        interval=epochs, max_keep_ckpts=1)
    print(f'{name}: {config}, {epochs} epochs x batch '
          f'{profile["batch_size"]}', flush=True)
    runner = Runner.from_cfg(_quiet(cfg, name, log_interval=4))
    runner.train()
    return osp.join(str(work_dir), f'epoch_{epochs}.pth')


def run_test(config, checkpoint, work_dir, data_root, cfg_options=None,
             desc=''):
    """What ``tools/test.py CONFIG CHECKPOINT`` does, in this process."""
    from mmengine.runner import Runner
    cfg = load_config(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    cfg.work_dir = str(work_dir)
    cfg.load_from = checkpoint
    _with_data_root(cfg.test_dataloader, data_root)
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


def evaluate_retrieval(models, data_root, work_dir):
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
                               _slug(evaluation), data_root, options)
            results[name][evaluation] = recall_table(metrics)
    return results


def best_evaluation(per_evaluation, direction='v2a'):
    """The evaluation and strategy giving the model its best ranking in
    ``direction``: highest R@1, then R@5, then R@10, then lowest median rank.
    Returns ``(evaluation, strategy, (R@1, R@5, R@10, MedR))``."""
    candidates = [(evaluation, strategy, values)
                  for evaluation, rows in per_evaluation.items()
                  for (d, strategy), values in rows.items() if d == direction]
    return max(candidates, key=lambda c: (c[2][0], c[2][1], c[2][2],
                                          -c[2][3]))


def _slug(text):
    return ''.join(c if c.isalnum() else '_' for c in text.lower()).strip('_')


def linear_probe(checkpoint, data_root, work_dir, profile):
    """Cache the frozen toy CAV-MAE Sync's tokens, train the toy probe of
    the cached config on them (a linear head, docs/toy_study.md section 4),
    test it. Returns (probe mAP, majority mAP)."""
    import numpy as np
    from mmengine.config import Config
    from mmengine.runner import Runner

    from cavsync_mm.datasets.feature_cache import (build_feature_cache,
                                                   with_checkpoint)
    from cavsync_mm.registry import MODELS as MODEL_REGISTRY
    raw_cfg = load_config('configs/cavsync/benchmarks/vit-toy_temporal-probe_toy.py')
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
    epochs = profile['probe_epochs']
    cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=epochs,
                         val_interval=epochs)
    for scheduler in cfg.param_scheduler:
        scheduler.end = min(scheduler.end, epochs)
        if 'T_max' in scheduler:
            scheduler.T_max = scheduler.end - scheduler.begin
    for hook in cfg.get('custom_hooks', []):
        if 'begin_epoch' in hook:
            hook.begin_epoch = min(hook.begin_epoch, max(epochs - 1, 0))
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


def segmentation(checkpoint, data_root, work_dir):
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
        metrics = run_test(config, checkpoint, out_dir, data_root, options)
        results[method] = (_first(metrics, ('mAP', )),
                           _first(metrics, ('mIoU', )))
    return results


def temporal_segmentation(models, data_root, work_dir, num_clips):
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
        cfg = load_config(config)
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


def reconstructions(checkpoint, data_root, work_dir):
    from mmengine.registry import init_default_scope

    from cavsync_mm.apis import init_model
    from cavsync_mm.registry import DATASETS
    from cavsync_mm.visualization import save_reconstruction
    init_default_scope('cavsync_mm')
    config, _ = MODELS['CAV-MAE Sync']
    cfg = load_config(config)
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


def write_report(path, context):
    """report.md from the measured numbers (nothing here is typed in)."""
    r = context
    chance_r1 = 100.0 / r['num_val']
    lines = [
        '# CAV-MAE Sync quickstart report', '',
        f'Command: `{r["command"]}` (profile `{r["profile"]}`, seed '
        f'{r["seed"]}); {r["num_train"]} training and {r["num_val"]} held-out '
        f'synthetic clips ({r["data_root"]}); total time '
        f'{r["elapsed"] / 60:.1f} min on {os.cpu_count()} CPU cores.', '',
        'Both models have the same size and the same budget '
        f'({r["epochs"]} epochs x batch {r["batch_size"]}); CAV-MAE Sync uses '
        'frame-aligned audio segments, global and register tokens '
        '(lambda_c 0.1), CAV-MAE the whole clip\'s audio and mean-pooled '
        'patch tokens (lambda_c 0.01).', '',
        '## Headline', '',
        '| | V->A R@1 (diagonal mean) | A->V R@1 (diagonal mean) | '
        'chance R@1 |', '|---|---|---|---|',
    ]
    sync = r['retrieval']['CAV-MAE Sync']['all frames']
    lines.append(f'| CAV-MAE Sync | {sync[("v2a", "diagonal_mean")][0]:.1f} '
                 f'| {sync[("a2v", "diagonal_mean")][0]:.1f} | '
                 f'{chance_r1:.1f} |')
    baseline = r['retrieval']['CAV-MAE']
    best = best_evaluation(baseline)
    best_a2v = best_evaluation(baseline, 'a2v')
    lines.append(f'| CAV-MAE (best: {best[0]}, {best[1]}) | {best[2][0]:.1f} '
                 f'| {best_a2v[2][0]:.1f} | {chance_r1:.1f} |')
    sync_r1 = sync[('v2a', 'diagonal_mean')][0]
    sync_a2v = sync[('a2v', 'diagonal_mean')][0]
    ratio_text = (f'{sync_r1 / best[2][0]:.1f}x' if best[2][0] > 0 else
                  f'{sync_r1:.1f} % vs 0 % (no CAV-MAE query ranked its '
                  'clip first)')
    seg_sync, seg_prior = r['segmentation']['CAV-MAE Sync'], \
        r['segmentation']['centre prior']

    def verdict(ok):
        return 'met' if ok else '**missed**'
    lines += [
        '', '## Targets', '',
        '| target | measured | |', '|---|---|---|',
        f'| V->A R@1 >= 25 % | {sync_r1:.1f} % '
        f'| {verdict(sync_r1 >= 25)} |',
        f'| A->V R@1 >= 20 % | {sync_a2v:.1f} % '
        f'| {verdict(sync_a2v >= 20)} |',
        f'| V->A R@1 >= 3x the best CAV-MAE evaluation | {ratio_text} '
        f'| {verdict(sync_r1 >= 3 * best[2][0] and sync_r1 > 0)} |',
        f'| segmentation mIoU >= 1.5x the centre prior | {seg_sync[1]:.1f} '
        f'vs {seg_prior[1]:.1f} ({seg_sync[1] / max(seg_prior[1], 1e-9):.2f}x) '
        f'| {verdict(seg_sync[1] >= 1.5 * seg_prior[1])} |',
        f'| probe mAP >= 85 | {r["probe"][0]:.1f} (majority-class probe '
        f'{r["probe"][1]:.1f}) | {verdict(r["probe"][0] >= 85)} |',
        '']
    if r['cfg_options']:
        lines += [f'Pretraining overrides: `{r["cfg_options"]}`.', '']
    lines += ['## Zero-shot retrieval', '',
              f'{r["num_val"]} held-out clips; chance R@1 = '
              f'{chance_r1:.2f} %, chance median rank = '
              f'{(r["num_val"] + 1) / 2:.0f}. R@k in %.', '',
              '| model | evaluation | direction | strategy | R@1 | R@5 | R@10 '
              '| MedR |', '|---|---|---|---|---|---|---|---|']
    for name, evaluations in r['retrieval'].items():
        for evaluation, rows in evaluations.items():
            for (direction, strategy), values in rows.items():
                lines.append(
                    f'| {name} | {evaluation} | {direction.upper()} | '
                    f'{strategy} | {values[0]:.1f} | {values[1]:.1f} | '
                    f'{values[2]:.1f} | {values[3]:.0f} |')
    lines += ['', '## Linear probing (multi-label, 8 classes)', '',
              '| probe | mAP |', '|---|---|',
              f'| linear on the mean of the frozen CAV-MAE Sync global '
              f'tokens (configs/cavsync/benchmarks/'
              f'vit-toy_cached-temporal-probe_toy.py) '
              f'| {r["probe"][0]:.1f} |',
              f'| majority class (training class frequencies) | '
              f'{r["probe"][1]:.1f} |', '',
              '## Sound-prompted segmentation (synthetic masks)', '',
              '| method | mAP | mIoU |', '|---|---|---|']
    for method, (ap, iou) in r['segmentation'].items():
        lines.append(f'| {method} | {ap:.1f} | {iou:.1f} |')
    lines += ['', 'Heatmap overlays: `segmentation/cav_mae_sync/heatmaps/`.',
              '', '## Temporal segmentation (5 segments)', '',
              'Adjusted Rand index between the predicted runs and the true '
              f'events, mean over {r["temporal_clips"]} held-out clips '
              '(1 = perfect, 0 = chance).', '',
              '| model | audio | visual | audio-visual |', '|---|---|---|---|']
    for name, scores in r['temporal'].items():
        lines.append(f'| {name} | {scores.get("audio", float("nan")):.2f} | '
                     f'{scores.get("visual", float("nan")):.2f} | '
                     f'{scores.get("audio_visual", float("nan")):.2f} |')
    lines += ['', '## Figures', '']
    for title, picture in r['figures'].items():
        lines += [f'### {title}', '', f'![{title}]({picture})', '']
    Path(path).write_text('\n'.join(lines) + '\n', encoding='utf-8')


def main():
    args = parse_args()
    ENCODER_OPTIONS.update({
        key[len('model.backbone.'):]: value
        for key, value in (args.cfg_options or {}).items()
        if key.startswith('model.backbone.')})
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
    retrieval = evaluate_retrieval(checkpoints, data_root, work_dir)
    steps('linear probing')
    probe = linear_probe(checkpoints['CAV-MAE Sync'], data_root,
                         work_dir / 'probe', profile)
    steps('sound-prompted segmentation')
    seg = segmentation(checkpoints['CAV-MAE Sync'], data_root, work_dir)
    steps('temporal segmentation')
    temporal, temporal_pictures = temporal_segmentation(
        checkpoints, data_root, work_dir, profile['temporal_clips'])
    steps('figures and report')
    figures = {'Pretraining losses': save_loss_curves(
        {n: str(d) for n, d in pretrain_dirs.items()},
        str(work_dir / 'loss_curves.png'))}
    figures['Masked reconstruction (CAV-MAE Sync)'] = reconstructions(
        checkpoints['CAV-MAE Sync'], data_root, work_dir)
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
    write_report(report, dict(
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
