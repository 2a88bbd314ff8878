#!/usr/bin/env python
"""Strip a training checkpoint for release and name it with its hash.

    python tools/model_converters/publish_model.py \
        work_dirs/cavsync_as2m/epoch_25.pth cavsync_as2m.pth

Keeps ``state_dict`` and ``meta`` (without the message hub's history);
drops the optimizer, the parameter schedulers and the message hub. Writes
``<out stem>_<YYYYMMDD>-<first 8 hex digits of its sha256>.pth`` next to
OUT (the OpenMMLab model-zoo naming) and prints its path. Never overwrites.
"""
import argparse
import datetime
import hashlib
import os
import os.path as osp

import torch
from mmengine.runner.checkpoint import CheckpointLoader

from cavsync_mm import compat

DROPPED = ('optimizer', 'param_schedulers', 'message_hub', 'ema_state_dict')


def publish(in_file: str, out_file: str) -> str:
    if not out_file.endswith('.pth'):
        raise SystemExit(f'{out_file}: the output must end with .pth')
    checkpoint = CheckpointLoader.load_checkpoint(in_file, map_location='cpu')
    if 'state_dict' not in checkpoint:
        raise SystemExit(f'{in_file}: no state_dict (is it an MMEngine '
                         'checkpoint?)')
    published = {key: value for key, value in checkpoint.items()
                 if key not in DROPPED}
    stem = out_file[:-len('.pth')]
    temporary = f'{stem}.publishing.pth'
    torch.save(published, temporary)
    with open(temporary, 'rb') as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    final = f'{stem}_{datetime.date.today():%Y%m%d}-{sha[:8]}.pth'
    if osp.exists(final):
        os.remove(temporary)
        raise SystemExit(f'{final} exists already; it is not overwritten')
    os.replace(temporary, final)
    return final


def main(argv=None):
    compat.apply()  # MMEngine checkpoints under torch>=2.6 weights_only
    parser = argparse.ArgumentParser(
        description='strip a checkpoint for release, name it by its sha256')
    parser.add_argument('in_file', help='training checkpoint')
    parser.add_argument('out_file', help='OUT.pth: the name before the hash')
    args = parser.parse_args(argv)
    final = publish(args.in_file, args.out_file)
    print(final)
    return final


if __name__ == '__main__':
    main()
