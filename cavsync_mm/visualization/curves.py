"""Training curves read from an MMEngine work dir, drawn as a PNG."""
import json
import os.path as osp
from glob import glob
from typing import Callable, Dict, List, Sequence

from matplotlib.figure import Figure


def read_scalars(work_dir: str) -> List[dict]:
    """The training records (one dict per logged iteration) of the latest run
    in ``work_dir`` (``<timestamp>/vis_data/scalars.json``)."""
    files = sorted(glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    if not files:
        raise FileNotFoundError(f'{work_dir}: no */vis_data/scalars.json; '
                                'was the run trained with LocalVisBackend?')
    with open(files[-1], encoding='utf-8') as f:
        records = [json.loads(line) for line in f if line.strip()]
    return [r for r in records if 'loss' in r and 'iter' in r]


def save_loss_curves(runs: Dict[str, str], path: str,
                     keys: Sequence[str] = ('loss_contrastive',
                                            'loss_reconstruction_audio',
                                            'loss_reconstruction_visual',
                                            'contrastive_accuracy'),
                     reader: Callable[[str], List[dict]] = None) -> str:
    """One panel per key, one line per run (``{run name: work dir}``;
    ``reader`` turns a run's entry into its records, :func:`read_scalars` by
    default)."""
    reader = reader or read_scalars
    # matplotlib's object API: no pyplot state, no global backend switch
    fig = Figure(figsize=(4 * len(keys), 3.2))
    axes = fig.subplots(1, len(keys), squeeze=False)[0]
    for name, work_dir in runs.items():
        records = reader(work_dir)
        for ax, key in zip(axes, keys):
            points = [(r['iter'], r[key]) for r in records if key in r]
            if points:
                ax.plot(*zip(*points), label=name)
    for ax, key in zip(axes, keys):
        ax.set_title(key.replace('_', ' '))
        ax.set_xlabel('iteration')
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path
