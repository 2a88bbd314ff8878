"""Mean and std of a dataset's log-Mel filterbanks, for ``NormalizeFbank``.

Each clip goes through the same steps as the training pipeline: the 16 kHz
mono waveform (``load_audio``), its mean removed, the Kaldi fbank cut or
zero-padded to ``--target-length`` frames (``kaldi_fbank``). The default
statistics pool every fbank value of every clip (exact mean and std);
``--per-clip-average`` instead averages the per-clip means and stds, the way
the AudioSet numbers (-5.081, 4.4849) of AST / CAV-MAE were obtained.

Example::

    python tools/data/compute_fbank_stats.py data/vggsound/datafile.json \
        --max-clips 2000 --workers 4
"""
import argparse
import json
import multiprocessing
import os.path as osp
import random
import re
import sys
from functools import partial

import numpy as np
from tqdm import tqdm

from cavsync_mm.datasets import AudioVisualDataset
from cavsync_mm.datasets.transforms.audio import kaldi_fbank, load_audio

PLACEHOLDER = re.compile(r'<[A-Z0-9_]+_PATH>')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Compute the fbank mean/std of a dataset (NormalizeFbank).')
    parser.add_argument('datafile', help='CAV-MAE datafile ("wav" key) or '
                        'raw-video datafile ("video" key)')
    parser.add_argument('--data-root', help='joined with relative paths and '
                        'put in place of <YOUR_..._PATH> placeholders '
                        '(default: the datafile\'s directory)')
    parser.add_argument('--max-clips', type=int, default=None,
                        help='use a random subset of this many clips')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the --max-clips subset')
    parser.add_argument('--sample-rate', type=int, default=16000)
    parser.add_argument('--num-mel-bins', type=int, default=128)
    parser.add_argument('--target-length', type=int, default=1024,
                        help='frames each fbank is cut/zero-padded to '
                        '(padding counts, as in training); 0 keeps the '
                        'natural length')
    parser.add_argument('--mono', choices=('mean', 'first'), default='mean')
    parser.add_argument('--per-clip-average', action='store_true',
                        help='average per-clip means/stds instead of pooling')
    parser.add_argument('--workers', type=int, default=1)
    parser.add_argument('--skip-errors', action='store_true',
                        help='count and list unreadable clips instead of stopping')
    parser.add_argument('--out', help='also write the result as json here')
    return parser.parse_args(argv)


def audio_files(datafile, data_root=None):
    """(video_id, audio or video path) of every entry of a datafile.

    The datafile is parsed by :class:`AudioVisualDataset`; placeholders such
    as ``<YOUR_VGGS_PATH>`` are found in the entries and replaced by
    ``data_root`` (default: the datafile's directory).
    """
    with open(datafile) as f:
        placeholders = sorted(set(PLACEHOLDER.findall(f.read())))
    dataset = AudioVisualDataset(
        ann_file=datafile,
        data_root=data_root or osp.dirname(osp.abspath(datafile)),
        path_placeholder=placeholders, pipeline=[], serialize_data=False)
    files = []
    for k in range(len(dataset)):
        info = dataset.get_data_info(k)
        files.append((info['video_id'],
                      info.get('audio_path') or info['video_file']))
    return files


def clip_fbank(path, sample_rate=16000, num_mel_bins=128, target_length=1024,
               mono='mean'):
    """The fbank a training pipeline computes for one clip (before normalising)."""
    waveform = load_audio(path, sample_rate=sample_rate, mono=mono)
    waveform = waveform - waveform.mean()
    return kaldi_fbank(waveform, sample_rate, num_mel_bins,
                       target_length or None).double().numpy()


def clip_moments(item, **fbank_kwargs):
    """Sum, sum of squares, count, mean and std of one clip's fbank."""
    video_id, path = item
    try:
        fbank = clip_fbank(path, **fbank_kwargs)
    except Exception as err:
        return video_id, None, f'{path}: {type(err).__name__}: {err}'
    if fbank.size == 0:
        return video_id, None, f'{path}: audio shorter than one fbank window'
    moments = (fbank.sum(), np.square(fbank).sum(), fbank.size,
               fbank.mean(), fbank.std())
    return video_id, moments, None


def compute_stats(files, workers=1, per_clip_average=False,
                  skip_errors=False, **fbank_kwargs):
    """Return ``(mean, std, num_clips, errors)`` over ``files``."""
    worker = partial(clip_moments, **fbank_kwargs)
    total = total_sq = count = 0.0
    clip_means, clip_stds, errors = [], [], []
    bar = tqdm(total=len(files), desc='fbank stats', unit='clip',
               dynamic_ncols=True)
    if workers > 1:
        pool = multiprocessing.get_context('fork').Pool(workers)
        results = pool.imap_unordered(worker, files)
    else:
        pool, results = None, map(worker, files)
    try:
        for video_id, moments, error in results:
            bar.update()
            if error is not None:
                if not skip_errors:
                    raise RuntimeError(f'clip {video_id}: {error} '
                                       '(--skip-errors to go on)')
                errors.append((video_id, error))
                continue
            total += moments[0]
            total_sq += moments[1]
            count += moments[2]
            clip_means.append(moments[3])
            clip_stds.append(moments[4])
    finally:
        bar.close()
        if pool is not None:
            pool.terminate()
    if not clip_means:
        raise RuntimeError('no clip could be read')
    if per_clip_average:
        return (float(np.mean(clip_means)), float(np.mean(clip_stds)),
                len(clip_means), errors)
    mean = total / count
    std = np.sqrt(max(total_sq / count - mean * mean, 0.0))
    return float(mean), float(std), len(clip_means), errors


def main(argv=None):
    args = parse_args(argv)
    files = audio_files(args.datafile, args.data_root)
    if args.max_clips is not None and args.max_clips < len(files):
        files = random.Random(args.seed).sample(files, args.max_clips)
    mean, std, num_clips, errors = compute_stats(
        files, workers=args.workers, per_clip_average=args.per_clip_average,
        skip_errors=args.skip_errors, sample_rate=args.sample_rate,
        num_mel_bins=args.num_mel_bins, target_length=args.target_length,
        mono=args.mono)
    for video_id, error in errors:
        print(f'skipped clip {video_id}: {error}')
    method = 'average of per-clip' if args.per_clip_average else 'pooled'
    print(f'{num_clips} clips ({len(errors)} skipped), {method} statistics')
    print(f'mean {mean:.4f}')
    print(f'std  {std:.4f}')
    print(f"pipeline: dict(type='NormalizeFbank', mean={mean:.4f}, std={std:.4f})")
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(dict(mean=mean, std=std, num_clips=num_clips,
                           skipped=[e[0] for e in errors], method=method), f,
                      indent=1)
    return 0


if __name__ == '__main__':
    sys.exit(main())
