#!/usr/bin/env python
"""Convert the authors' CAV-MAE Sync / CAV-MAE checkpoints to this toolkit and back.

    python tools/model_converters/official_to_cavsync.py SRC DST            # release -> cavsync_mm
    python tools/model_converters/official_to_cavsync.py SRC DST --reverse  # cavsync_mm -> release

The release kind (CAV-MAE Sync or CAV-MAE) is detected from the keys
(``cls_token_a`` / ``register_tokens``). Release files carry the
``DataParallel`` prefix ``module.``; it is stripped on the way in and added on
the way out (``--no-module-prefix`` to leave it off).
"""
import argparse
from pathlib import Path

import torch

from cavsync_mm.models.pretrainers.state_dict_mapping import (cavsync_to_release,
                                                              detect_release,
                                                              release_to_cavsync)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[1])
    parser.add_argument('src', help='checkpoint to read')
    parser.add_argument('dst', help='checkpoint to write')
    parser.add_argument('--reverse', action='store_true',
                        help='cavsync_mm checkpoint -> the authors\' layout')
    parser.add_argument('--no-module-prefix', action='store_true',
                        help='with --reverse: write keys without "module."')
    parser.add_argument('--force', action='store_true', help='overwrite DST if it exists')
    return parser.parse_args(argv)


def load_state_dict(path: str) -> dict:
    # weights_only: a checkpoint is data; the release files are plain state dicts
    loaded = torch.load(path, map_location='cpu', weights_only=True)
    if isinstance(loaded, dict):
        for key in ('state_dict', 'model'):
            if key in loaded and isinstance(loaded[key], dict):
                return loaded[key]
    return loaded


def main(argv=None):
    args = parse_args(argv)
    dst = Path(args.dst)
    if dst.exists() and not args.force:
        raise SystemExit(f'{dst} exists; pass --force to overwrite it')
    state_dict = load_state_dict(args.src)
    try:
        if args.reverse:
            converted = cavsync_to_release(state_dict, module_prefix=not args.no_module_prefix)
            kind = detect_release(converted)
            payload = converted
        else:
            kind = detect_release(state_dict)
            converted = release_to_cavsync(state_dict)
            payload = {'state_dict': converted,
                       'meta': {'converted_from': str(args.src), 'release': kind}}
    except KeyError as error:
        raise SystemExit(f'{args.src}: {error.args[0]}')
    dst.parent.mkdir(parents=True, exist_ok=True)
    torch.save(payload, dst)
    values = sum(value.numel() for value in converted.values())
    print(f'{args.src} -> {dst}: {kind} layout, {len(converted)} tensors, '
          f'{values / 1e6:.1f} M values')


if __name__ == '__main__':
    main()
