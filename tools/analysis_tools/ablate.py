"""Ablations on the synthetic clips: pretrain + evaluate configs x seeds.

Each run is a pretraining config (optionally with overrides), trained with
the config's own model, optimizer wrapper and parameter schedulers
(``CAVMAESync.train_step``, as MMEngine's Runner calls it) for one seed, then
evaluated on the held-out clips: zero-shot retrieval (V->A and A->V, the four
aggregations of the T x T matrix, plus CAV-MAE's middle-frame evaluation) and
sound-prompted segmentation (mAP / mIoU against the synthetic masks, beside
the audio-free centre prior).

What makes it fast (minutes per run on one CPU core instead of a Runner run
that recomputes each clip's Kaldi fbank on every visit): every clip is passed
through the config's own test pipeline ONCE (all T frames and their
frame-aligned segments) and kept in a memory-mapped cache
(``WORK_DIR/cache``; fbank in float16, frames in uint8 as the pipeline gives
them). A pretraining step then draws one random frame per clip and its
segment, exactly the ``sampling='random_frame'`` samples of the toy configs
(whose training pipeline is their test pipeline).

A run is written as ``WORK_DIR/runs/<name>/seed<k>.json`` and skipped when
present (resumable); ``WORK_DIR/results.md`` holds the mean ± std table and
``WORK_DIR/results.png`` a bar plot.

Run specs: ``[NAME=]CONFIG[;KEY=VALUE;...]``. KEY is a config key
(``model.backbone.weight_init=pytorch``) or one of the schedule shortcuts
``epochs``, ``warmup_epochs``, ``batch_size``, ``schedule`` (``cosine`` =
linear warmup from 1e-2 x lr then cosine to 0, as the toy schedule;
``constant`` = the same warmup then a constant lr), ``lr``, or ``data_root``
(this run's clips instead of ``--data-root``: the frames-per-clip ablation
trains and evaluates on clips extracted with T = 10 frames).

    python tools/analysis_tools/ablate.py configs/cavsync/cavsync_vit-toy_1xb64-38e_toy.py \\
        "pt=configs/cavsync/cavsync_vit-toy_1xb64-38e_toy.py;model.backbone.weight_init=pytorch" \\
        --seeds 0 1 2 --jobs 2
    python tools/analysis_tools/ablate.py --preset registers --seeds 0 1 2
"""
import argparse
import json
import math
import os
import os.path as osp
import sys
import time
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[2]
SCHEDULE_KEYS = ('epochs', 'warmup_epochs', 'batch_size', 'schedule', 'lr')
SHORTCUT_KEYS = SCHEDULE_KEYS + ('data_root',)
STRATEGIES = ('diagonal_mean', 'diagonal_max', 'block_mean', 'block_max')

# Toy mirrors of the paper's ablations (Tables 5-8, Fig. 3): config lists.
PRESETS = {
    'global_token': ['configs/cavsync/cavsync_vit-toy_1xb64-38e_toy.py',
                     'configs/cavsync/cavsync_vit-toy-no-global-token_1xb64-38e_toy.py'],
    'registers': ['configs/cavsync/cavsync_vit-toy-registers0_1xb64-38e_toy.py',
                  'configs/cavsync/cavsync_vit-toy-registers4_1xb64-38e_toy.py',
                  'configs/cavsync/cavsync_vit-toy_1xb64-38e_toy.py',
                  'configs/cavsync/cavsync_vit-toy-registers16_1xb64-38e_toy.py'],
    'mask_ratio': ['configs/cavsync/cavsync_vit-toy-mask60_1xb64-38e_toy.py',
                   'configs/cavsync/cavsync_vit-toy_1xb64-38e_toy.py',
                   'configs/cavsync/cavsync_vit-toy-mask90_1xb64-38e_toy.py',
                   'configs/cavsync/cavsync_vit-toy-mask-multi_1xb64-38e_toy.py'],
    'segment_length': [
        f'configs/cavsync/cavsync_vit-toy-segment{length}_1xb64-38e_toy.py'
        for length in (192, 304, 416, 512, 624, 720)],
    # Table 5's frames per clip: T = 10 needs its own clips (make_toy_dataset.py
    # --out data/toy_frames10 --num-frames 10); each run is evaluated on the
    # held-out clips of its own T
    'frames': ['configs/cavsync/cavsync_vit-toy_1xb64-38e_toy.py',
               'configs/cavsync/cavsync_vit-toy-frames10_1xb64-38e_toy.py'
               ';data_root=data/toy_frames10'],
    'baseline': ['configs/cavsync/cavsync_vit-toy_1xb64-38e_toy.py', 'configs/cavmae/cavmae_vit-toy_1xb64-38e_toy.py'],
}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('runs', nargs='*', help='[NAME=]CONFIG[;KEY=VALUE..]')
    parser.add_argument('--preset', choices=sorted(PRESETS), action='append',
                        default=[], help='add a toy ablation (repeatable)')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0])
    parser.add_argument('--work-dir', default='work_dirs/ablate')
    parser.add_argument('--data-root', default='data/toy')
    parser.add_argument('--jobs', type=int, default=1,
                        help='runs in parallel (one torch thread each when '
                        'more than one)')
    parser.add_argument('--metric', default='v2a_diagonal_mean_R@1',
                        help='the plotted metric')
    parser.add_argument('--title', default=None, help='table / plot title')
    parser.add_argument('--no-segmentation', action='store_true')
    parser.add_argument('--reevaluate', action='store_true',
                        help='evaluate again the runs whose checkpoint was '
                        'saved (--save-checkpoints), without training')
    parser.add_argument('--save-checkpoints', action='store_true',
                        help='also write runs/<name>/seed<k>.pth (the '
                        'CAVMAESync state dict, loadable by tools/test.py)')
    return parser.parse_args()


def parse_run(spec):
    from mmengine.config import DictAction
    name, _, rest = spec.partition('=') if '=' in spec.split(';')[0] \
        else ('', '', spec)
    parts = rest.split(';')
    config = parts[0]
    overrides = {}
    for item in parts[1:]:
        key, _, value = item.partition('=')
        overrides[key.strip()] = DictAction._parse_iterable(value.strip())
    if not name:
        name = Path(config).stem + ''.join(
            f',{k}={v}' for k, v in overrides.items())
    return dict(name=name, config=config, overrides=overrides)


# ------------------------------------------------------------------ config
def load_config(run):
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    cfg = Config.fromfile(str(REPO_ROOT / run['config']))
    init_default_scope(cfg.default_scope)
    options = {k: v for k, v in run['overrides'].items()
               if k not in SHORTCUT_KEYS}
    if options:
        cfg.merge_from_dict(options)
    shortcuts = {k: v for k, v in run['overrides'].items()
                 if k in SCHEDULE_KEYS}
    if 'batch_size' in shortcuts:
        cfg.train_dataloader.batch_size = int(shortcuts['batch_size'])
    if 'lr' in shortcuts:
        cfg.optim_wrapper.optimizer.lr = float(shortcuts['lr'])
    if {'epochs', 'warmup_epochs', 'schedule'} & set(shortcuts):
        from cavsync_mm.engine.runner_config import set_epochs
        set_epochs(cfg, shortcuts.get('epochs', cfg.train_cfg.max_epochs),
                   warmup_epochs=shortcuts.get('warmup_epochs',
                                               cfg.get('warmup_epochs', 2)),
                   decay=shortcuts.get('schedule'),
                   val_interval=cfg.train_cfg.get('val_interval'))
    return cfg


def run_data_root(run, default):
    """The run's ``data_root`` shortcut, else ``--data-root``."""
    data_root = str(run['overrides'].get('data_root', default))
    if not osp.isdir(data_root):
        raise FileNotFoundError(
            f'run {run["name"]}: data_root {data_root!r} is not a directory '
            '(make it with tools/data/make_toy_dataset.py --out ...)')
    return data_root


def _segment_step(pipeline):
    for step in pipeline:
        if step['type'] == 'FrameAlignedSegments':
            return step
    raise ValueError('the config pipeline has no FrameAlignedSegments step')


def _crop_size(pipeline):
    for step in pipeline:
        if step['type'].endswith('CenterCrop'):
            return step['crop_size']
    raise ValueError('the config pipeline has no CenterCrop step')


# ------------------------------------------------------------------- cache
def clip_cache(cfg, split, data_root, cache_dir):
    """All-frames samples of ``split`` through the config's test pipeline,
    stored once: ``audio`` (N, T or 1, L, F) float16 (one segment when all
    frames share it, as with CAV-MAE's whole-clip audio), ``frames``
    (N, T, 3, H, W) uint8, ``labels`` (N, K)."""
    import torch
    loader = cfg.train_dataloader if split == 'train' else cfg.val_dataloader
    dataset_cfg = loader.dataset.copy()
    pipeline = dataset_cfg.pipeline
    segment = _segment_step(pipeline)
    key = (f'{split}_L{segment["segment_length"]}_'
           f'{segment.get("rounding", "floor")}_{_crop_size(pipeline)}_'
           f'T{dataset_cfg.get("num_frames", 16)}')
    folder = osp.join(cache_dir, Path(data_root).name, key)
    if osp.exists(osp.join(folder, 'done')):
        return {name: np.load(osp.join(folder, f'{name}.npy'), mmap_mode='r')
                for name in ('audio', 'frames', 'labels')}
    from cavsync_mm.registry import DATASETS
    from tqdm import tqdm
    dataset_cfg.update(data_root=data_root, ann_file=f'{split}.json',
                       sampling='all_frames', test_mode=True)
    dataset = DATASETS.build(dataset_cfg)
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=1, num_workers=2, collate_fn=lambda x: x[0])
    os.makedirs(folder, exist_ok=True)
    audio = frames = labels = None
    for index, sample in enumerate(tqdm(loader, desc=f'cache {key}')):
        clip_audio = sample['inputs']['audio']
        if all(torch.equal(clip_audio[0], a) for a in clip_audio[1:]):
            clip_audio = clip_audio[:1]
        label = sample['data_samples'].gt_label
        if audio is None:
            count = len(dataset)
            audio = np.lib.format.open_memmap(
                osp.join(folder, 'audio.npy'), 'w+', np.float16,
                (count, *clip_audio.shape))
            frames = np.lib.format.open_memmap(
                osp.join(folder, 'frames.npy'), 'w+', np.uint8,
                (count, *sample['inputs']['frames'].shape))
            labels = np.zeros((count, len(dataset.metainfo['classes'])),
                              np.float32)
        audio[index] = clip_audio.numpy()
        frames[index] = sample['inputs']['frames'].numpy()
        labels[index, torch.as_tensor(label).long().flatten().numpy()] = 1
    audio.flush()
    frames.flush()
    np.save(osp.join(folder, 'labels.npy'), labels)
    Path(folder, 'done').touch()
    return clip_cache(cfg, split, data_root, cache_dir)


def segmentation_cache(cfg, data_root, cache_dir):
    """The sound-prompted segmentation set through the toy segmentation
    config's pipeline, with this model's segment length and frame size."""
    import torch
    from mmengine.config import Config
    seg_cfg = Config.fromfile(
        str(REPO_ROOT / 'configs/cavsync/benchmarks/vit-toy_sound-prompted-seg_toy.py'))
    segment = _segment_step(cfg.val_dataloader.dataset.pipeline)
    crop = _crop_size(cfg.val_dataloader.dataset.pipeline)
    pipeline = []
    for step in seg_cfg.test_dataloader.dataset.pipeline:
        step = dict(step)
        if step['type'] in ('ComputeFbank', 'FrameAlignedSegments'):
            key = 'target_length' if step['type'] == 'ComputeFbank' \
                else 'segment_length'
            step[key] = segment['segment_length']
        if step['type'].endswith('Resize'):
            step['scale'] = (-1, crop)
        if step['type'].endswith('CenterCrop'):
            step['crop_size'] = crop
        pipeline.append(step)
    path = osp.join(cache_dir, Path(data_root).name,
                    f'segmentation_L{segment["segment_length"]}_{crop}.pth')
    if osp.exists(path):
        return torch.load(path)
    from cavsync_mm.registry import DATASETS
    dataset_cfg = seg_cfg.test_dataloader.dataset.copy()
    dataset_cfg.update(data_root=data_root, pipeline=pipeline)
    dataset = DATASETS.build(dataset_cfg)
    items = dict(audio=[], frames=[], gt_mask=[], gt_label=[])
    for sample in (dataset[i] for i in range(len(dataset))):
        items['audio'].append(sample['inputs']['audio'])
        items['frames'].append(sample['inputs']['frames'])
        items['gt_mask'].append(sample['data_samples'].gt_mask)
        items['gt_label'].append(
            int(torch.as_tensor(sample['data_samples'].gt_label).flatten()[0]))
    items = {k: torch.stack(v) if k != 'gt_label' else torch.tensor(v)
             for k, v in items.items()}
    os.makedirs(osp.dirname(path), exist_ok=True)
    torch.save(items, path)
    return items


# ------------------------------------------------------------ train / eval
def train(cfg, train_set, seed, log, name=''):
    import torch
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import PARAM_SCHEDULERS
    from mmengine.runner import set_random_seed

    from cavsync_mm.registry import MODELS
    from mmengine.logging import MMLogger
    MMLogger.get_current_instance().setLevel('WARNING')  # no init report
    set_random_seed(seed)
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.train()
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    batch_size = cfg.train_dataloader.batch_size
    num_clips, num_frames = train_set['frames'].shape[:2]
    iters_per_epoch = math.ceil(num_clips / batch_size)
    schedulers = [
        PARAM_SCHEDULERS.build(dict(s), default_args=dict(
            optimizer=optim_wrapper, epoch_length=iters_per_epoch))
        for s in cfg.param_scheduler]
    generator = np.random.default_rng(seed)
    shared_audio = train_set['audio'].shape[1] == 1
    step = 0
    for _ in range(cfg.train_cfg.max_epochs):
        order = generator.permutation(num_clips)
        for start in range(0, num_clips, batch_size):
            clips = np.sort(order[start:start + batch_size])
            frames_index = generator.integers(0, num_frames, len(clips))
            audio_index = np.zeros_like(frames_index) if shared_audio \
                else frames_index
            data = dict(inputs=dict(
                audio=torch.from_numpy(np.stack([
                    train_set['audio'][c, t]
                    for c, t in zip(clips, audio_index)]).astype(np.float32)),
                frames=torch.from_numpy(np.stack([
                    train_set['frames'][c, t]
                    for c, t in zip(clips, frames_index)]))))
            lr = optim_wrapper.get_lr()['lr'][0]  # the lr of this step
            losses = model.train_step(data, optim_wrapper)
            for scheduler in schedulers:
                if not scheduler.by_epoch:
                    scheduler.step()
            if step % 10 == 0:
                log.append(dict(step=step, lr=lr,
                                **{k: float(v.detach()) for k, v in losses.items()}))
            if step % 50 == 0:
                print(f'  {name} step {step}: contrastive loss '
                      f'{log[-1]["loss_contrastive"]:.3f}, accuracy '
                      f'{log[-1]["contrastive_accuracy"]:.3f}', flush=True)
            step += 1
        for scheduler in schedulers:
            if scheduler.by_epoch:
                scheduler.step()
    return model, step


def evaluate(model, val_set, segmentation=None, chunk=4):
    import torch

    from cavsync_mm.evaluation.functional.retrieval import (rank_summary,
                                                            retrieval_ranks)
    from cavsync_mm.evaluation.metrics.segmentation import \
        SoundPromptedSegmentationMetric
    from cavsync_mm.models.localizers.heatmaps import (
        audio_visual_similarity, center_prior_heatmap,
        feature_surgery_similarity, patch_grid, upsample_heatmaps)
    model.eval()
    preprocess = model.data_preprocessor
    audio_tokens, visual_tokens = [], []
    num_clips, num_frames = val_set['frames'].shape[:2]
    with torch.no_grad():
        for start in range(0, num_clips, chunk):
            audio = torch.from_numpy(np.asarray(
                val_set['audio'][start:start + chunk], np.float32))
            audio = audio.expand(-1, num_frames, -1, -1)
            frames = torch.from_numpy(np.asarray(
                val_set['frames'][start:start + chunk]))
            data = preprocess(dict(inputs=dict(audio=audio, frames=frames)))
            features = model.extract_feat(**data['inputs'])
            audio_tokens.append(features['global_audio'])
            visual_tokens.append(features['global_visual'])
    audio_tokens = torch.cat(audio_tokens)
    visual_tokens = torch.cat(visual_tokens)
    results = {}
    middle = num_frames // 2
    for direction, (queries, candidates) in dict(
            v2a=(visual_tokens, audio_tokens),
            a2v=(audio_tokens, visual_tokens)).items():
        for strategy in STRATEGIES:
            summary = rank_summary(retrieval_ranks(queries, candidates,
                                                   strategy))
            results[f'{direction}_{strategy}_R@1'] = summary['R@1']
            if strategy == 'diagonal_mean':
                results[f'{direction}_{strategy}_R@5'] = summary['R@5']
                results[f'{direction}_{strategy}_MedR'] = summary['MedR']
        summary = rank_summary(retrieval_ranks(queries[:, middle],
                                               candidates[:, middle]))
        results[f'{direction}_middle_frame_R@1'] = summary['R@1']
    # how far apart are the global tokens of different clips
    unit = torch.nn.functional.normalize(audio_tokens[:, middle], dim=-1)
    cosine = unit @ unit.T
    results['audio_token_mean_cosine'] = float(
        cosine[~torch.eye(len(unit), dtype=torch.bool)].mean())
    if segmentation is not None:
        with torch.no_grad():
            data = preprocess(dict(inputs=dict(
                audio=segmentation['audio'],
                frames=segmentation['frames'])))
            features = model.extract_feat(**data['inputs'])
        size = tuple(segmentation['frames'].shape[-2:])
        patches = features['visual_patches']
        grid = patch_grid(patches.shape[1], size)
        maps = upsample_heatmaps(audio_visual_similarity(
            features['global_audio'], patches, grid), size)
        prior = center_prior_heatmap(size)
        variants = {
            'seg': maps,
            # diagnostics of the heatmap's token choice (docs/toy_study.md)
            'seg_audio_patch_mean': upsample_heatmaps(audio_visual_similarity(
                features['audio_patches'].mean(1), patches, grid), size),
            'seg_encoder_tokens': upsample_heatmaps(audio_visual_similarity(
                features['encoder_global_audio'],
                features['encoder_visual_patches'], grid), size),
            'seg_centred_patches': upsample_heatmaps(audio_visual_similarity(
                features['global_audio'],
                patches - patches.mean(1, keepdim=True), grid), size),
            'seg_negated': -maps,
            # the metric's non-default heatmap='feature_surgery' (CLIP
            # Surgery: the prompts' common feature removed)
            'seg_feature_surgery': upsample_heatmaps(
                feature_surgery_similarity(features['global_audio'],
                                           patches, grid), size),
            'seg_center_prior': prior.expand(len(maps), -1, -1)}
        for name, heatmaps in variants.items():
            metric = SoundPromptedSegmentationMetric()
            scores = metric.compute_metrics([
                dict(heatmap=h, gt_mask=m, label=int(label))
                for h, m, label in zip(heatmaps, segmentation['gt_mask'],
                                       segmentation['gt_label'])])
            results[f'{name}_mAP'] = scores['mAP']
            results[f'{name}_mIoU'] = scores['mIoU']
    return results


def escape_step(log, chance, factor=3.):
    """First logged step whose in-batch contrastive accuracy exceeds
    ``factor`` x chance (the end of the uniform-logit plateau)."""
    for entry in log:
        if entry['contrastive_accuracy'] > factor * chance:
            return entry['step']
    return None


def run_one(job):
    import torch
    run, seed, args = job['run'], job['seed'], job['args']
    out = osp.join(args['work_dir'], 'runs', run['name'], f'seed{seed}.json')
    checkpoint = out[:-len('.json')] + '.pth'
    if osp.exists(out) and not (args['reevaluate'] and osp.exists(checkpoint)):
        return out
    if args['jobs'] > 1:
        torch.set_num_threads(1)
    start = time.time()
    cfg = load_config(run)
    cache_dir = osp.join(args['work_dir'], 'cache')
    data_root = run_data_root(run, args['data_root'])
    train_set = clip_cache(cfg, 'train', data_root, cache_dir)
    val_set = clip_cache(cfg, 'val', data_root, cache_dir)
    segmentation = None if args['no_segmentation'] else segmentation_cache(
        cfg, data_root, cache_dir)
    if osp.exists(out):  # --reevaluate: the saved model, new evaluation
        from cavsync_mm.registry import MODELS
        with open(out) as f:
            previous = json.load(f)
        log, results = previous['log'], previous['results']
        model = MODELS.build(cfg.model)
        model.load_state_dict(torch.load(checkpoint)['state_dict'])
        steps, train_time = results['steps'], results['train_seconds']
    else:
        log = []
        model, steps = train(cfg, train_set, seed, log,
                             f'{run["name"]} seed {seed}')
        train_time = time.time() - start
        if args['save_checkpoints']:
            os.makedirs(osp.dirname(out), exist_ok=True)
            torch.save(dict(state_dict=model.state_dict(),
                            meta=dict(run=run, seed=seed, steps=steps)),
                       checkpoint)
    results = evaluate(model, val_set, segmentation)
    results.update(
        steps=steps, train_seconds=train_time,
        escape_step=escape_step(log, 1 / cfg.train_dataloader.batch_size),
        final_loss_contrastive=log[-1]['loss_contrastive'],
        final_contrastive_accuracy=log[-1]['contrastive_accuracy'])
    from cavsync_mm.atomic_files import atomic_path
    with atomic_path(out) as part, open(part, 'w') as f:
        json.dump(dict(run=run, seed=seed, results=results, log=log), f)
    print(f'{run["name"]} seed {seed}: '
          f'V->A {results["v2a_diagonal_mean_R@1"]:.1f} '
          f'A->V {results["a2v_diagonal_mean_R@1"]:.1f} '
          f'seg mIoU {results.get("seg_mIoU", float("nan")):.1f} '
          f'({time.time() - start:.0f} s)', flush=True)
    return out


COLUMNS = [('v2a_diagonal_mean_R@1', 'V->A R@1'),
           ('a2v_diagonal_mean_R@1', 'A->V R@1'),
           ('v2a_diagonal_max_R@1', 'V->A diag max'),
           ('v2a_block_mean_R@1', 'V->A block mean'),
           ('v2a_block_max_R@1', 'V->A block max'),
           ('seg_mIoU', 'seg mIoU'),
           ('seg_audio_patch_mean_mIoU', 'seg mIoU (audio patch mean)'),
           ('seg_feature_surgery_mIoU', 'seg mIoU (feature surgery)'),
           ('seg_center_prior_mIoU', 'centre prior mIoU'),
           ('escape_step', 'escape step')]


def summarise(runs, seeds, work_dir, metric, title):
    rows, table = [], []
    for run in runs:
        values = []
        for seed in seeds:
            path = osp.join(work_dir, 'runs', run['name'], f'seed{seed}.json')
            if osp.exists(path):
                with open(path) as f:
                    values.append(json.load(f)['results'])
        if not values:
            continue
        cells = []
        for key, _ in COLUMNS:
            column = [v.get(key) for v in values]
            column = [np.nan if c is None else c for c in column]
            mean, std = np.mean(column), np.std(column)
            cells.append(f'{mean:.1f} ± {std:.1f}' if len(column) > 1
                         else f'{mean:.1f}')
        table.append(f'| {run["name"]} | {len(values)} | ' +
                     ' | '.join(cells) + ' |')
        rows.append((run['name'], [v[metric] for v in values]))
    header = ('| run | seeds | ' + ' | '.join(c for _, c in COLUMNS) +
              ' |\n|' + '---|' * (len(COLUMNS) + 2))
    text = (f'## {title}\n\n' if title else '') + header + '\n' + \
        '\n'.join(table) + '\n'
    with open(osp.join(work_dir, 'results.md'), 'w') as f:
        f.write(text)
    if rows:
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(1.2 * len(rows) + 2, 3.5))
        means = [np.mean(v) for _, v in rows]
        stds = [np.std(v) for _, v in rows]
        ax.bar(range(len(rows)), means, yerr=stds, capsize=4,
               color='tab:blue', alpha=0.8)
        for i, (_, values) in enumerate(rows):
            ax.scatter([i] * len(values), values, color='k', s=8, zorder=3)
        ax.set_xticks(range(len(rows)))
        ax.set_xticklabels([n for n, _ in rows], rotation=30, ha='right',
                           fontsize=8)
        ax.set_ylabel(metric)
        if title:
            ax.set_title(title)
        fig.tight_layout()
        fig.savefig(osp.join(work_dir, 'results.png'), dpi=120)
        plt.close(fig)
    return text


def main():
    args = parse_args()
    specs = list(args.runs)
    for preset in args.preset:
        specs += PRESETS[preset]
    if not specs:
        sys.exit('error: give run specs or --preset')
    runs = [parse_run(spec) for spec in specs]
    names = [r['name'] for r in runs]
    if len(set(names)) != len(names):
        sys.exit(f'error: run names repeat: {names}')
    job_args = dict(work_dir=args.work_dir, data_root=args.data_root,
                    jobs=args.jobs, no_segmentation=args.no_segmentation,
                    save_checkpoints=args.save_checkpoints,
                    reevaluate=args.reevaluate)
    # caches first (one process), so parallel runs only read them
    cache_dir = osp.join(args.work_dir, 'cache')
    for run in runs:
        cfg = load_config(run)
        data_root = run_data_root(run, args.data_root)
        clip_cache(cfg, 'train', data_root, cache_dir)
        clip_cache(cfg, 'val', data_root, cache_dir)
        if not args.no_segmentation:
            segmentation_cache(cfg, data_root, cache_dir)
    jobs = [dict(run=run, seed=seed, args=job_args)
            for run in runs for seed in args.seeds]
    if args.jobs > 1:
        import multiprocessing
        with multiprocessing.get_context('fork').Pool(args.jobs) as pool:
            for _ in pool.imap_unordered(run_one, jobs):
                pass
    else:
        for job in jobs:
            run_one(job)
    print(summarise(runs, args.seeds, args.work_dir, args.metric,
                    args.title))


if __name__ == '__main__':
    main()
