"""One precision switch for everything that runs a model without training it.

Evaluation (``tools/test.py``), feature extraction, retrieval, the probe's
feature pass and the demos / Inferencers take the same switch:

- in a config: a top-level ``precision = 'bf16'`` (``'fp32'`` when absent);
- on a command line: ``--precision {fp32,bf16,fp16}`` (overrides the config).

``bf16`` runs the forward pass under ``torch.autocast`` with
``torch.bfloat16`` on CPU and GPU (no loss scaling is involved in inference);
``fp16`` is for GPUs only (CPU autocast has no float16 matmuls worth using).
Outputs leave the autocast region as they come out of the model (bf16 /
fp16 tensors where the last op ran in low precision); callers that store or
rank features cast them (``.float()``) as they do today. Training's mixed
precision stays with MMEngine's ``AmpOptimWrapper`` (``tools/train.py
--amp``).
"""
import argparse
import contextlib
from typing import Optional, Union

import torch

PRECISIONS = ('fp32', 'bf16', 'fp16')
_DTYPES = {'bf16': torch.bfloat16, 'fp16': torch.float16}


def check_precision(precision: Optional[str]) -> str:
    """``precision`` (None = ``'fp32'``) checked against :data:`PRECISIONS`."""
    precision = precision or 'fp32'
    if precision not in PRECISIONS:
        raise ValueError(f'precision must be one of {PRECISIONS}, got '
                         f'{precision!r}')
    return precision


def resolve_precision(cfg=None, override: Optional[str] = None) -> str:
    """The command line's ``override`` if given, else the config's
    top-level ``precision``, else ``'fp32'``."""
    if override:
        return check_precision(override)
    value = cfg.get('precision', None) if cfg is not None else None
    return check_precision(value)


def autocast(precision: Optional[str],
             device: Union[str, torch.device] = 'cpu'):
    """A context manager running the forward pass in ``precision``.

    ``'fp32'`` / None: no autocast. ``'bf16'``: ``torch.autocast`` with
    bfloat16 on the device's type. ``'fp16'``: float16 autocast, CUDA only
    (a clear error on CPU).
    """
    precision = check_precision(precision)
    if precision == 'fp32':
        return contextlib.nullcontext()
    device_type = torch.device(device).type
    if precision == 'fp16' and device_type != 'cuda':
        raise ValueError("precision='fp16' needs a CUDA device; use 'bf16' "
                         f'on {device_type}')
    return torch.autocast(device_type=device_type, dtype=_DTYPES[precision])


def add_precision_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--precision {fp32,bf16,fp16}`` (default: the config's)."""
    parser.add_argument(
        '--precision', choices=PRECISIONS, default=None,
        help="forward-pass precision: 'bf16' autocast runs on CPUs with "
        "AMX / avx512_bf16 and on GPUs; 'fp16' on GPUs only. Defaults to the "
        "config's top-level `precision`, else fp32")
