"""The quickstart's report (``report.md``), written from measured numbers.

The targets the report checks are data (:data:`TARGETS`), not part of the
text: each row names a target, how its measured value is shown and whether it
is met.
"""
import os
from pathlib import Path


def headline_measures(r):
    """The numbers the targets are checked on, from the report context."""
    sync = r['retrieval']['CAV-MAE Sync']['all frames']
    baseline = r['retrieval']['CAV-MAE']
    return dict(
        sync_v2a=sync[('v2a', 'diagonal_mean')][0],
        sync_a2v=sync[('a2v', 'diagonal_mean')][0],
        baseline_v2a=best_evaluation(baseline)[2][0],
        seg_sync=r['segmentation']['CAV-MAE Sync'][1],
        seg_prior=r['segmentation']['centre prior'][1],
        probe=r['probe'][0], majority=r['probe'][1])


def _ratio_text(m):
    if m['baseline_v2a'] > 0:
        return f"{m['sync_v2a'] / m['baseline_v2a']:.1f}x"
    return (f"{m['sync_v2a']:.1f} % vs 0 % (no CAV-MAE query ranked its clip "
            'first)')


#: name: (how the measured value reads, whether it is met)
TARGETS = {
    'V->A R@1 >= 25 %': (lambda m: f"{m['sync_v2a']:.1f} %",
                         lambda m: m['sync_v2a'] >= 25),
    'A->V R@1 >= 20 %': (lambda m: f"{m['sync_a2v']:.1f} %",
                         lambda m: m['sync_a2v'] >= 20),
    'V->A R@1 >= 3x the best CAV-MAE evaluation': (
        _ratio_text,
        lambda m: m['sync_v2a'] >= 3 * m['baseline_v2a'] and m['sync_v2a'] > 0),
    'segmentation mIoU >= 1.5x the centre prior': (
        lambda m: f"{m['seg_sync']:.1f} vs {m['seg_prior']:.1f} "
        f"({m['seg_sync'] / max(m['seg_prior'], 1e-9):.2f}x)",
        lambda m: m['seg_sync'] >= 1.5 * m['seg_prior']),
    'probe mAP >= 85': (
        lambda m: f"{m['probe']:.1f} (majority-class probe "
        f"{m['majority']:.1f})",
        lambda m: m['probe'] >= 85),
}


def best_evaluation(per_evaluation, direction='v2a'):
    """The evaluation and strategy giving the model its best ranking in
    ``direction``: highest R@1, then R@5, then R@10, then lowest median rank.
    Returns ``(evaluation, strategy, (R@1, R@5, R@10, MedR))``."""
    candidates = [(evaluation, strategy, values)
                  for evaluation, rows in per_evaluation.items()
                  for (d, strategy), values in rows.items() if d == direction]
    return max(candidates, key=lambda c: (c[2][0], c[2][1], c[2][2],
                                          -c[2][3]))



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
    measured = headline_measures(r)
    lines += ['', '## Targets', '', '| target | measured | |', '|---|---|---|']
    for name, (text, passed) in TARGETS.items():
        lines.append(f'| {name} | {text(measured)} | '
                     f'{"met" if passed(measured) else "**missed**"} |')
    lines.append('')
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


