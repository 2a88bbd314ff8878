#!/usr/bin/env python
"""ImageNet MAE ViT-B (with decoder) -> the CAV-MAE Sync pretraining initialisation.

    python tools/model_converters/mae_to_cavsync.py mae_pretrain_vit_base_full.pth \
        checkpoints/mae_vitb_cavsync_init.pth

SRC is a facebookresearch/mae checkpoint (``{'model': state_dict}`` with
``blocks.0..11``, ``decoder_*``). Blocks 0-10 initialise both modality
encoders, block 11 the joint block, the decoder is copied (see
``cavsync_mm.models.pretrainers.state_dict_mapping.mae_to_cavsync``). The
output is ``{'state_dict': ...}`` for ``load_from=`` in a pretraining config.
MAE's ``cls_token`` initialises both global tokens, as CAV-MAE's adapt script
does (``--no-cls-token`` leaves them random, e.g. for CAV-MAE without global
tokens); modality embeddings, register tokens and the audio position
embeddings keep the model's own initialisation.
"""
import argparse
from pathlib import Path

import torch

from cavsync_mm.models.pretrainers.state_dict_mapping import (MAE_INIT_LEFT_TO_MODEL,
                                                              mae_to_cavsync)


def main(argv=None):
    parser = argparse.ArgumentParser(description='MAE ViT checkpoint -> CAV-MAE Sync init')
    parser.add_argument('src')
    parser.add_argument('dst')
    parser.add_argument('--encoder-depth', type=int, default=11,
                        help='modality encoder blocks; the next MAE block becomes the joint block')
    parser.add_argument('--no-cls-token', action='store_true',
                        help="don't copy MAE's cls_token into the global "
                        'tokens (the release copies it)')
    parser.add_argument('--force', action='store_true', help='overwrite DST if it exists')
    args = parser.parse_args(argv)
    dst = Path(args.dst)
    if dst.exists() and not args.force:
        raise SystemExit(f'{dst} exists; pass --force to overwrite it')
    loaded = torch.load(args.src, map_location='cpu', weights_only=True)
    state_dict = loaded.get('model', loaded.get('state_dict', loaded))
    try:
        converted = mae_to_cavsync(
            state_dict, encoder_depth=args.encoder_depth,
            cls_to_global_tokens=not args.no_cls_token)
    except (KeyError, ValueError) as error:
        raise SystemExit(f'{args.src}: {error}')
    dst.parent.mkdir(parents=True, exist_ok=True)
    # left_to_model_init: the keys this init leaves out on purpose (the load
    # check accepts exactly these as missing)
    torch.save({'state_dict': converted,
                'meta': {'converted_from': str(args.src), 'converter': 'mae_to_cavsync',
                         'left_to_model_init': list(MAE_INIT_LEFT_TO_MODEL)}}, dst)
    print(f'{args.src} -> {dst}: {len(converted)} tensors')


if __name__ == '__main__':
    main()
