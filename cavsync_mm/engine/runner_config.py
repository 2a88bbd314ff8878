"""Command-line settings shared by ``tools/train.py`` and ``tools/test.py``."""
import argparse
import os.path as osp

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
