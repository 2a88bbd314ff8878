"""Config surgery in one place: the command-line settings of ``tools/train.py``
and ``tools/test.py``, and the epoch / data-root / encoder changes that the
quickstart and the study scripts make to shipped configs."""
import argparse
import os.path as osp
from typing import Optional

from mmengine.config import Config


def default_work_dir(config_path: str) -> str:
    """``./work_dirs/<config file name without .py>``, as in OpenMMLab."""
    return osp.join('./work_dirs', osp.splitext(osp.basename(config_path))[0])


def apply_common_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Apply ``--cfg-options``, ``--launcher`` and ``--work-dir`` to ``cfg``.

    ``--cfg-options`` is merged first, so the explicit flags win; the work
    dir falls back to the config's ``work_dir``, then to
    :func:`default_work_dir`.
    """
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    cfg.launcher = args.launcher
    use_gloo_without_gpus(cfg)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = default_work_dir(args.config)
    return cfg


def use_gloo_without_gpus(cfg: Config) -> None:
    """A distributed run on a machine without CUDA GPUs uses gloo: NCCL, the
    configs' backend, needs GPUs. Logged; a config's gloo is kept as is."""
    dist_cfg = cfg.get('env_cfg', {}).get('dist_cfg', {})
    if cfg.launcher == 'none' or dist_cfg.get('backend') != 'nccl':
        return
    import torch
    if torch.cuda.is_available():
        return
    from mmengine.logging import print_log
    print_log('no CUDA GPU: the distributed backend is gloo, not the '
              "config's nccl", logger='current')
    cfg.env_cfg.dist_cfg.backend = 'gloo'


def warmup_schedule(max_epochs: float, warmup_epochs: float,
                    decay: str = 'cosine', start_factor: float = 1e-2) -> list:
    """Parameter schedulers of the toy schedules, stepped every iteration:
    linear warmup from ``start_factor`` x lr over ``warmup_epochs``, then
    ``decay``: ``'cosine'`` to 0 at ``max_epochs`` or ``'constant'``."""
    if decay not in ('cosine', 'constant'):
        raise ValueError(f"decay must be 'cosine' or 'constant', got {decay!r}")
    schedulers = [] if not warmup_epochs else [
        dict(type='LinearLR', start_factor=start_factor, by_epoch=True,
             begin=0, end=warmup_epochs, convert_to_iter_based=True)]
    if decay == 'cosine':
        schedulers.append(
            dict(type='CosineAnnealingLR', by_epoch=True, begin=warmup_epochs,
                 end=max_epochs, T_max=max_epochs - warmup_epochs, eta_min=0.,
                 convert_to_iter_based=True))
    return schedulers


ENCODER_TYPES = ('AudioVisualEncoder', 'cavsync_mm.AudioVisualEncoder')


def set_epochs(cfg: Config, epochs: int, warmup_epochs: Optional[float] = None,
               decay: Optional[str] = None,
               val_interval: Optional[int] = None) -> Config:
    """Train ``cfg`` for ``epochs`` epochs: the one way schedules are resized.

    - With ``warmup_epochs`` or ``decay``, the schedule becomes the toy
      schedule :func:`warmup_schedule` (``warmup_epochs`` defaults to the
      config's ``warmup_epochs``, else 2; ``decay`` to its ``lr_decay``,
      else ``'cosine'``).
    - Otherwise the config's schedulers are resized: a warmup (a
      ``LinearLR`` beginning at epoch 0) keeps its length, at most
      ``epochs``; every other scheduler begins where the warmup ends and
      ends at ``epochs`` (``T_max = end - begin``).
    - Hooks that begin at an epoch (EMA / SWA) begin at most at
      ``epochs - 1``, so a shortened run still averages.
    - ``val_interval`` defaults to ``epochs + 1`` (no validation while
      training).
    """
    epochs = int(epochs)
    if warmup_epochs is not None or decay is not None:
        warmup = cfg.get('warmup_epochs', 2) if warmup_epochs is None \
            else warmup_epochs
        cfg.param_scheduler = warmup_schedule(
            epochs, warmup, decay or cfg.get('lr_decay', 'cosine'))
    else:
        warmup = 0
        for scheduler in cfg.get('param_scheduler') or []:
            if scheduler['type'] == 'LinearLR' and \
                    scheduler.get('begin', 0) == 0:
                warmup = scheduler['end'] = min(scheduler['end'], epochs)
        for scheduler in cfg.get('param_scheduler') or []:
            if scheduler['type'] == 'LinearLR' and \
                    scheduler.get('begin', 0) == 0:
                continue
            scheduler['begin'], scheduler['end'] = warmup, epochs
            if 'T_max' in scheduler:
                scheduler['T_max'] = epochs - warmup
    for hook in cfg.get('custom_hooks') or []:
        if 'begin_epoch' in hook:
            hook['begin_epoch'] = min(hook['begin_epoch'], max(epochs - 1, 0))
    cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=epochs,
                         val_interval=val_interval or epochs + 1)
    return cfg


def innermost_dataset(loader_cfg: dict) -> dict:
    """The dataset config a dataloader config reads, wrappers followed down."""
    dataset = loader_cfg['dataset']
    while 'dataset' in dataset:
        dataset = dataset['dataset']
    return dataset


def set_data_root(cfg: Config, data_root: str,
                  loaders=('train_dataloader', 'val_dataloader',
                           'test_dataloader')) -> Config:
    """Point the (innermost) datasets of ``loaders`` at ``data_root``;
    loaders the config does not have are skipped."""
    for loader in loaders:
        if cfg.get(loader):
            innermost_dataset(cfg[loader])['data_root'] = data_root
    return cfg


def set_encoder_options(cfg: Config, options: Optional[dict]) -> Config:
    """Merge ``options`` (e.g. ``{'use_global_token': False}``) into the
    encoder ``cfg.model`` holds, however deep: the localizer's backbone is
    the pretraining model, whose backbone is the encoder; the probe's
    backbone is the encoder itself. A model without an encoder is left
    as it is."""
    path, node = 'model', cfg.get('model')
    while node is not None and node.get('type') not in ENCODER_TYPES:
        path, node = f'{path}.backbone', node.get('backbone')
    if node is not None and options:
        cfg.merge_from_dict(
            {f'{path}.{key}': value for key, value in options.items()})
    return cfg


def close_distributed() -> None:
    """Destroy the default process group, if any, once a tool's run ended.

    MMEngine leaves it to the interpreter's shutdown; with gloo a rank then
    sometimes aborts ('terminate called without an active exception') after
    a finished run, which turns a good run into a failed launch."""
    import torch.distributed as dist
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def _dataset_files(node, key: str):
    """(dotted key, path) of every datafile and label list a dataset config
    reads, dataset wrappers followed down; URLs are left out."""
    if not isinstance(node, dict):
        return
    root = node.get('data_root') or ''
    for field in ('ann_file', 'label_file'):
        name = node.get(field)
        if not name or '://' in str(name):
            continue
        yield f'{key}.{field}', osp.join(root, name)
    if isinstance(node.get('dataset'), dict):
        yield from _dataset_files(node['dataset'], f'{key}.dataset')


def check_data_files(cfg: Config, loaders) -> None:
    """Raise one ``FileNotFoundError`` naming every datafile / label list
    that ``loaders`` (e.g. ``('test_dataloader',)``) read and that is not
    there, before the Runner builds a model or reads a clip."""
    missing = []
    for loader in loaders:
        spec = cfg.get(loader)
        if not spec:
            continue
        for key, path in _dataset_files(spec.get('dataset'),
                                        f'{loader}.dataset'):
            if not osp.exists(path):
                missing.append((key, path))
    if missing:
        lines = '\n'.join(f'  {key}: {path}' for key, path in missing)
        roots = sorted({key.rsplit('.', 1)[0] + '.data_root'
                        for key, _ in missing})
        raise FileNotFoundError(
            f'{cfg.filename}: this run reads files that are not there:\n'
            f'{lines}\nPoint the config at your copy of the data, e.g. '
            f'--cfg-options {roots[0]}=/path/to/data (docs/data.md says '
            'how each dataset is laid out)')
