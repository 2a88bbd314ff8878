"""Data loading speed: clips per second of one worker process.

Measures ``AudioVisualDataset[i]`` with the standard pipeline (load audio ->
fbank once -> frame-aligned segments -> normalise -> load frames -> resize
224 + centre crop -> pack) for

- pretraining sampling (``random_frame``: one frame + its 4.16 s segment),
- 16-frame sampling (``all_frames``: every frame + its segment),

in both layouts (extracted jpg + wav, raw mp4), plus the authors'-loader
style baseline for 16-frame sampling: the one-frame pipeline run once per
frame, so the clip's audio is read and its fbank computed 16 times, against
our compute-once-and-slice. Everything runs in this process, one thread.

Default input: ``data/toy/train.json`` + ``train_videos.json`` when present;
otherwise the real clips of ``/work/shared/data/real`` are extracted into a
temporary folder with ``cavsync_mm.datasets.preprocessing``.

Example::

    python tools/analysis_tools/benchmark_data.py --num-clips 8 --repeats 3
"""
import argparse
import glob
import json
import os.path as osp
import statistics
import tempfile
import time

import torch
from mmengine.registry import init_default_scope

from cavsync_mm.datasets import AudioVisualDataset
from cavsync_mm.datasets.preprocessing import (collect_videos, datafile_entry,
                                               extract_clips, write_datafile)

REAL_CLIPS = '/work/shared/data/real'
TOY = 'data/toy'


def parse_args():
    parser = argparse.ArgumentParser(description='Benchmark data loading.')
    parser.add_argument('--datafile', help='CAV-MAE layout datafile (jpg+wav)')
    parser.add_argument('--video-datafile',
                        help='the same clips in the raw-video layout')
    parser.add_argument('--data-root', default='',
                        help='data_root for relative paths in the datafiles')
    parser.add_argument('--num-clips', type=int, default=8,
                        help='samples per timed pass (cycling over the clips)')
    parser.add_argument('--repeats', type=int, default=3,
                        help='timed passes; the median is reported')
    parser.add_argument('--num-frames', type=int, default=16)
    parser.add_argument('--image-size', type=int, default=224,
                        help='resize shorter side + centre crop; 0 = none')
    return parser.parse_args()


def pipeline(image_size):
    steps = [dict(type='LoadAudio'), dict(type='ComputeFbank'),
             dict(type='FrameAlignedSegments'), dict(type='NormalizeFbank'),
             dict(type='LoadFrames')]
    if image_size:
        steps += [dict(type='mmaction.Resize', scale=(-1, image_size),
                       interpolation='bicubic'),
                  dict(type='mmaction.CenterCrop', crop_size=image_size)]
    return steps + [dict(type='PackAudioVisualInputs')]


def build_dataset(ann_file, data_root, sampling, num_frames, image_size):
    import mmaction.datasets.transforms  # noqa: F401  (registers mmaction.*)
    return AudioVisualDataset(ann_file=ann_file, data_root=data_root,
                              sampling=sampling, num_frames=num_frames,
                              pipeline=pipeline(image_size), test_mode=True)


def real_clip_datafiles(workdir):
    """Extract the real clips into ``workdir``; write both layouts' datafiles."""
    items = collect_videos(REAL_CLIPS)
    results = list(extract_clips(items, workdir, progress=False))
    failed = [r for r in results if r.status == 'failed']
    if failed:
        raise RuntimeError(f'extraction failed: {failed}')
    extracted = osp.join(workdir, 'extracted.json')
    videos = osp.join(workdir, 'videos.json')
    write_datafile(extracted, [datafile_entry(workdir, i.video_id)
                               for i in items])
    write_datafile(videos, [dict(video_id=i.video_id, video=i.video,
                                 labels='') for i in items])
    return extracted, videos


def time_passes(load_one, num_clips, num_available, repeats):
    """Median clips/s over ``repeats`` passes of ``num_clips`` samples."""
    load_one(0)  # warm-up: imports, file cache
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        for k in range(num_clips):
            load_one(k % num_available)
        rates.append(num_clips / (time.perf_counter() - start))
    return statistics.median(rates)


def authors_style_all_frames(dataset):
    """The one-frame pipeline once per frame: audio read + fbank T times."""
    def load_one(idx):
        samples = []
        for i in range(dataset.num_frames):
            results = dataset.get_data_info(idx)
            results.update(sampling='middle_frame',
                           num_frames=dataset.num_frames, frame_indices=[i])
            samples.append(dataset.pipeline(results))
        return samples
    return load_one


def main():
    args = parse_args()
    torch.set_num_threads(1)
    init_default_scope('cavsync')
    tmp = None
    if args.datafile:
        datafile, video_datafile = args.datafile, args.video_datafile
        source = args.datafile
    elif osp.isfile(osp.join(TOY, 'train.json')):
        datafile = osp.join(TOY, 'train.json')
        video_datafile = osp.join(TOY, 'train_videos.json')
        args.data_root = args.data_root or TOY
        source = f'{TOY} (synthetic toy clips)'
    else:
        tmp = tempfile.TemporaryDirectory(prefix='benchmark_data_')
        datafile, video_datafile = real_clip_datafiles(tmp.name)
        source = (f'{len(glob.glob(osp.join(REAL_CLIPS, "*.mp4")))} real clips '
                  f'of {REAL_CLIPS} (extracted to a temp dir)')

    rows = []
    layouts = [('jpg + wav', datafile)]
    if video_datafile:
        layouts.append(('raw mp4', video_datafile))
    for layout, ann_file in layouts:
        for sampling, label in (('random_frame', 'pretraining (1 frame)'),
                                ('all_frames',
                                 f'{args.num_frames}-frame (all frames)')):
            dataset = build_dataset(ann_file, args.data_root, sampling,
                                    args.num_frames, args.image_size)
            rate = time_passes(dataset.__getitem__, args.num_clips,
                               len(dataset), args.repeats)
            rows.append((label, layout, 'fbank once, sliced', rate))
            if sampling == 'all_frames' and layout == 'jpg + wav':
                baseline = time_passes(authors_style_all_frames(dataset),
                                       args.num_clips, len(dataset),
                                       args.repeats)
                rows.append((label, layout,
                             'fbank per frame (authors\' loader)', baseline))
                speedup = rate / baseline

    print(f'\ninput: {source}; {args.num_clips} samples x {args.repeats} '
          f'repeats (median), 1 process, 1 thread, image size '
          f'{args.image_size or "original"}')
    print(f'| sampling | layout | audio | clips/s per worker |')
    print('|---|---|---|---|')
    for label, layout, audio, rate in rows:
        print(f'| {label} | {layout} | {audio} | {rate:.2f} |')
    print(f'\n{args.num_frames}-frame sampling, jpg + wav: compute-once-and-'
          f'slice is {speedup:.1f}x the per-frame fbank baseline')
    print(json.dumps({'rows': rows, 'speedup_all_frames': speedup}))
    if tmp is not None:
        tmp.cleanup()


if __name__ == '__main__':
    main()
