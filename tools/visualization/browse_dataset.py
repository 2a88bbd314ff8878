#!/usr/bin/env python
"""Write what a config's pipeline feeds the model, as pictures.

    python tools/visualization/browse_dataset.py configs/cavsync/cavsync_vit-toy_1xb64-38e_toy.py \
        --output-dir work_dirs/browse --show-number 8

For each of the first ``--show-number`` samples of the chosen split: the
frame(s) the model gets (after resizing / cropping) above the fbank segment(s)
(normalised, time left to right), with the per-frame labels as a coloured bar
when the dataset has them (``gt_frame_labels``). One PNG per sample,
``<index>_<video id>.png``; existing files are kept unless ``--overwrite``.
"""
import argparse
import os
import os.path as osp

import numpy as np
from mmengine.config import Config, DictAction
from PIL import Image
from tqdm import tqdm

import cavsync_mm  # noqa: F401  (registers the components)
from cavsync_mm import compat
from cavsync_mm.registry import DATASETS
from cavsync_mm.visualization import temporal_segmentation_image

SPLITS = {'train': 'train_dataloader', 'val': 'val_dataloader',
          'test': 'test_dataloader'}


def sample_picture(sample) -> np.ndarray:
    inputs, data_sample = sample['inputs'], sample['data_samples']
    frames = np.asarray(inputs['frames'])
    audio = np.asarray(inputs['audio'])
    if frames.ndim == 3:  # one frame and its segment
        frames, audio = frames[None], audio[None]
    spectrogram = audio.reshape(-1, audio.shape[-1])  # (T * L, n_mels)
    bars = {}
    labels = getattr(data_sample, 'gt_frame_labels', None)
    if labels is not None and len(labels) == len(frames):
        bars['ground_truth'] = np.asarray(labels)
    video_id = data_sample.metainfo.get('video_id', '')
    return temporal_segmentation_image(frames, spectrogram, bars,
                                       title=str(video_id)), str(video_id)


def main(argv=None):
    compat.apply()
    parser = argparse.ArgumentParser(
        description='pictures of the samples a config\'s pipeline makes')
    parser.add_argument('config')
    parser.add_argument('--output-dir', required=True)
    parser.add_argument('--phase', choices=sorted(SPLITS), default='train')
    parser.add_argument('--show-number', type=int, default=8)
    parser.add_argument('--overwrite', action='store_true')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    from mmengine.registry import init_default_scope
    init_default_scope(cfg.get('default_scope', 'cavsync_mm'))
    dataset = DATASETS.build(cfg[SPLITS[args.phase]].dataset)
    os.makedirs(args.output_dir, exist_ok=True)
    written = []
    for index in tqdm(range(min(args.show_number, len(dataset))),
                      desc='browse dataset'):
        picture, video_id = sample_picture(dataset[index])
        path = osp.join(args.output_dir, f'{index}_{video_id}.png')
        if osp.exists(path) and not args.overwrite:
            raise SystemExit(f'{path} exists; pass --overwrite to replace it')
        Image.fromarray(picture).save(path)
        written.append(path)
    print(f'{len(written)} pictures in {args.output_dir}')
    return written


if __name__ == '__main__':
    main()
