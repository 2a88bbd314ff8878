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
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = default_work_dir(args.config)
    return cfg


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
