#!/usr/bin/env python
"""Print a config with its bases and command-line options merged.

    python tools/misc/print_config.py configs/cavsync/cavsync_vit-base-p16_8xb64-25e_as2m.py
    python tools/misc/print_config.py CONFIG --cfg-options train_cfg.max_epochs=1
    python tools/misc/print_config.py my_config.py   # _base_ = 'cavsync_mm::...'
"""
import argparse

from mmengine.config import Config, DictAction

from cavsync_mm import compat


def main(argv=None):
    compat.apply()  # `cavsync_mm::` bases (compat fix 5)
    parser = argparse.ArgumentParser(description='print the whole config')
    parser.add_argument('config', help='config file path')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries, key=value pairs')
    args = parser.parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    print(cfg.pretty_text)
    return cfg


if __name__ == '__main__':
    main()
