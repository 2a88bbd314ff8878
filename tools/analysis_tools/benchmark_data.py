"""Data loading speed: clips per second of one worker process, in one run.

Times ``dataset[i]`` with the standard pipeline (audio -> fbank ->
frame-aligned segments -> normalise -> frames -> resize + centre crop ->
pack) for pretraining sampling (``random_frame``: one frame + its 4.16 s
segment) and 16-frame sampling (``all_frames``), on these inputs of the same
clips, side by side:

1. ``today``: CAV-MAE layout (jpg at the extracted size + wav), the Kaldi
   fbank computed on every visit, JPEG decoded by PIL;
2. ``stored fbank``: the same files plus the stored fbank
   (``extract_av.py --store-fbank``), JPEG decoded by simplejpeg;
3. ``stored fbank, 224 jpg``: frames extracted at 224 x 224 (resize + centre
   crop, as CAV-MAE's extractor stores them) (real clips only);
4. ``shards``: ``tools/data/pack_shards.py`` output read by
   ``ShardedAudioVisualDataset`` (224 x 224 frames + stored fbank).

It then times the JPEG decoders on the frames of each input (PIL,
``torchvision.io.decode_jpeg``, simplejpeg; PyTurboJPEG when its system
library ``libturbojpeg`` loads) and prints how many workers per GPU keep up with a model that consumes
``--model-clips-per-s`` clips per second (``benchmark_train.py`` gives it).
Everything runs in this process, one thread.

Default input: the real clips in ``<repo>/../shared/data/real`` (extracted
into a temporary folder); ``--datafile data/toy/train.json --data-root
data/toy --image-size 128 --pack-image-size 64`` measures the toy clips.

Example::

    python tools/analysis_tools/benchmark_data.py --num-clips 8 --repeats 3
"""
import argparse
import contextlib
import glob
import importlib.util
import json
import math
import os.path as osp
import statistics
import sys
import tempfile
import time

import torch
from mmengine.registry import init_default_scope

from cavsync_mm.datasets import AudioVisualDataset, ShardedAudioVisualDataset
from cavsync_mm.datasets.preprocessing import (collect_videos, datafile_entry,
                                               extract_clips, write_datafile)
from cavsync_mm.datasets.transforms import video as video_transforms
from cavsync_mm.registry import TRANSFORMS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
#: the real clips, found relative to the repository: <repo>/../shared/data/real
REAL_CLIPS = osp.join(osp.dirname(REPO), 'shared', 'data', 'real')


def parse_args():
    parser = argparse.ArgumentParser(description='Benchmark data loading.')
    parser.add_argument('--datafile', help='CAV-MAE layout datafile (jpg + '
                        'wav, with stored fbanks); default: the real clips')
    parser.add_argument('--data-root', default='',
                        help='data_root for relative paths in the datafile')
    parser.add_argument('--num-clips', type=int, default=8,
                        help='samples per timed pass (cycling over the clips)')
    parser.add_argument('--repeats', type=int, default=3,
                        help='timed passes; the median is reported')
    parser.add_argument('--num-frames', type=int, default=16)
    parser.add_argument('--image-size', type=int, default=224,
                        help='resize shorter side + centre crop in the '
                        'pipeline')
    parser.add_argument('--resize-backend', default='pillow',
                        choices=('pillow', 'cv2'),
                        help='ResizeFrames backend: pillow (antialiased, the '
                        'ViT-B configs) or cv2 (= mmaction.Resize)')
    parser.add_argument('--pack-image-size', type=int, default=224,
                        help='frame size stored in the shards')
    parser.add_argument('--model-clips-per-s', type=float, nargs='+',
                        default=[64.0, 256.0, 1024.0],
                        help='clips/s one GPU trains on (benchmark_train.py '
                        'batch / median step) for the workers-per-GPU table')
    parser.add_argument('--authors-baseline', action='store_true',
                        help='also time the authors\' loader style for '
                        '16-frame sampling (fbank computed per frame)')
    return parser.parse_args()


def pipeline(image_size, shards=False, stored=True, backend='pillow'):
    audio = dict(type='DecodeShardAudio') if shards else dict(
        type='LoadAudio', use_stored_fbank=stored)
    frames = dict(type='DecodeShardFrames') if shards else dict(
        type='LoadFrames')
    return [audio, dict(type='ComputeFbank'),
            dict(type='FrameAlignedSegments'), dict(type='NormalizeFbank'),
            frames,
            dict(type='ResizeFrames', scale=(-1, image_size),
                 interpolation='bicubic', backend=backend),
            dict(type='mmaction.CenterCrop', crop_size=image_size),
            dict(type='PackAudioVisualInputs')]


@contextlib.contextmanager
def pil_jpeg():
    """Decode JPEG with PIL (today's loader) inside the block."""
    saved = video_transforms.simplejpeg
    video_transforms.simplejpeg = None
    try:
        yield
    finally:
        video_transforms.simplejpeg = saved


def load_pack_shards():
    spec = importlib.util.spec_from_file_location(
        'pack_shards', osp.join(REPO, 'tools', 'data', 'pack_shards.py'))
    module = importlib.util.module_from_spec(spec)
    sys.modules['pack_shards'] = module
    spec.loader.exec_module(module)
    return module


def extract_real(workdir, image_size):
    """The real clips in the CAV-MAE layout with stored fbanks."""
    items = collect_videos(REAL_CLIPS)
    kwargs = dict(image_size=image_size, center_crop=True) if image_size \
        else {}
    results = list(extract_clips(items, workdir, progress=False,
                                 store_fbank=True, **kwargs))
    failed = [r for r in results if r.status == 'failed']
    if failed:
        raise RuntimeError(f'extraction failed: {failed}')
    datafile = osp.join(workdir, 'datafile.json')
    write_datafile(datafile, [datafile_entry(workdir, i.video_id,
                                             store_fbank=True)
                              for i in items])
    return datafile


def jpeg_decoders():
    """name -> function(bytes) -> H x W x 3 uint8, for what is installed."""
    import io

    import numpy as np
    from PIL import Image
    decoders = {'PIL': lambda data: np.asarray(
        Image.open(io.BytesIO(data)).convert('RGB'))}
    from torchvision.io import decode_jpeg
    decoders['torchvision.io.decode_jpeg'] = lambda data: decode_jpeg(
        torch.frombuffer(bytearray(data), dtype=torch.uint8)).permute(
            1, 2, 0).numpy()
    try:
        import simplejpeg
        decoders['simplejpeg'] = lambda data: simplejpeg.decode_jpeg(
            data, colorspace='RGB')
    except ImportError:
        pass
    try:
        from turbojpeg import TJPF_RGB, TurboJPEG
        turbo = TurboJPEG()
        decoders['PyTurboJPEG'] = lambda data: turbo.decode(
            data, pixel_format=TJPF_RGB)
    except Exception:  # not installed, or libturbojpeg missing
        pass
    return decoders


def time_decoders(jpgs, seconds=1.0):
    """Rows (frame size, decoder, ms per frame, max pixel difference to
    PIL) for the jpg files ``jpgs`` grouped by size."""
    from PIL import Image
    import numpy as np
    groups = {}
    for path in jpgs:
        with Image.open(path) as image:
            size = '{}x{}'.format(*image.size)
        with open(path, 'rb') as f:
            groups.setdefault(size, []).append(f.read())
    rows = []
    decoders = jpeg_decoders()
    for size, datas in sorted(groups.items()):
        reference = decoders['PIL'](datas[0]).astype(int)
        for name, decode in decoders.items():
            difference = int(np.abs(decode(datas[0]).astype(int) -
                                    reference).max())
            count, start = 0, time.perf_counter()
            while time.perf_counter() - start < seconds:
                for data in datas:
                    decode(data)
                count += len(datas)
            rows.append((size, name, (time.perf_counter() - start) / count
                         * 1e3, difference))
    return rows


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
        for i in range(dataset.num_frames):
            results = dataset.get_data_info(idx)
            results.update(sampling='middle_frame',
                           num_frames=dataset.num_frames, frame_indices=[i])
            dataset.pipeline(results)
    return load_one


def main():
    args = parse_args()
    torch.set_num_threads(1)
    init_default_scope(TRANSFORMS.scope)
    import mmaction.datasets.transforms  # noqa: F401  (registers mmaction.*)
    tmp = tempfile.TemporaryDirectory(prefix='benchmark_data_')
    inputs = []  # (name, kind, ann_file, data_root, stored, jpeg decoder)
    if args.datafile:
        datafile, root = osp.abspath(args.datafile), args.data_root
        source = f'{args.datafile} (data_root {root or "."})'
    else:
        clips = glob.glob(osp.join(REAL_CLIPS, '*.mp4'))
        if not clips:
            sys.exit(f'no clips in {REAL_CLIPS}; pass --datafile')
        datafile, root = extract_real(osp.join(tmp.name, 'orig'), None), ''
        source = (f'the {len(clips)} real clips of {REAL_CLIPS} (extracted '
                  'to a temp dir at their own frame size)')
    inputs.append(('today: jpg + wav, fbank computed, PIL', 'layout',
                   datafile, root, False, 'pil'))
    inputs.append(('jpg + stored fbank, simplejpeg', 'layout', datafile,
                   root, True, 'simplejpeg'))
    if not args.datafile:
        small = extract_real(osp.join(tmp.name, 'small'), 224)
        inputs.append(('224 jpg + stored fbank, simplejpeg', 'layout',
                       small, '', True, 'simplejpeg'))
    shards = osp.join(tmp.name, 'shards')
    with open(datafile) as f:
        entries = json.load(f)['data']
    num_available = len(entries)
    subset = osp.join(tmp.name, 'subset.json')
    entries = entries[:max(args.num_clips, 2)]
    write_datafile(subset, entries)
    rc = load_pack_shards().main(
        [subset, shards, '--data-root', root, '--num-frames',
         str(args.num_frames), '--image-size', str(args.pack_image_size),
         '--timeout', '0'])
    if rc:
        sys.exit('packing the shards failed')
    inputs.append(('shards (LitData), stored fbank, simplejpeg', 'shards',
                   shards, '', True, 'simplejpeg'))

    rows = []
    for sampling, label in (('random_frame', 'pretraining (1 frame)'),
                            ('all_frames',
                             f'{args.num_frames}-frame (all frames)')):
        for name, kind, ann_file, data_root, stored, decoder in inputs:
            common = dict(sampling=sampling, num_frames=args.num_frames,
                          test_mode=True)
            if kind == 'shards':
                dataset = ShardedAudioVisualDataset(
                    ann_file, pipeline=pipeline(args.image_size, shards=True,
                                                backend=args.resize_backend),
                    **common)
            else:
                dataset = AudioVisualDataset(
                    ann_file=ann_file, data_root=data_root,
                    pipeline=pipeline(args.image_size, stored=stored,
                                      backend=args.resize_backend),
                    **common)
            available = min(len(dataset), num_available, args.num_clips)
            with pil_jpeg() if decoder == 'pil' else contextlib.nullcontext():
                rate = time_passes(dataset.__getitem__, args.num_clips,
                                   available, args.repeats)
                rows.append((label, name, rate))
                if (args.authors_baseline and sampling == 'all_frames'
                        and not stored and kind == 'layout'):
                    rows.append((label, 'today, fbank per frame (authors\' '
                                 'loader style)', time_passes(
                                     authors_style_all_frames(dataset),
                                     args.num_clips, available,
                                     args.repeats)))

    print(f'\ninput: {source}; {args.num_clips} samples x {args.repeats} '
          f'repeats (median), 1 process, 1 thread, pipeline image size '
          f'{args.image_size}, ResizeFrames backend {args.resize_backend}')
    print('| sampling | input | clips/s per worker | x today |')
    print('|---|---|---|---|')
    base = {}
    for label, name, rate in rows:
        base.setdefault(label, rate)
        print(f'| {label} | {name} | {rate:.2f} | '
              f'{rate / base[label]:.1f}x |')
    jpgs = []
    for _, kind, ann_file, data_root, _, _ in inputs:
        if kind == 'layout':
            folder = osp.dirname(osp.join(data_root, ann_file))
            jpgs += sorted(glob.glob(osp.join(folder, 'frames', 'frame_0',
                                              '*.jpg')))[:8]
    print('\nJPEG decoding, one thread:')
    print('| frame size | decoder | ms per frame | max pixel difference '
          'to PIL |')
    print('|---|---|---|---|')
    decoder_rows = time_decoders(sorted(set(jpgs)))
    for size, name, ms, difference in decoder_rows:
        print(f'| {size} | {name} | {ms:.3f} | {difference} |')
    print('\nworkers per GPU to keep up (pretraining sampling):')
    print('| input | ' + ' | '.join(f'model at {r:g} clips/s'
                                     for r in args.model_clips_per_s) + ' |')
    print('|---|' + '---|' * len(args.model_clips_per_s))
    for label, name, rate in rows:
        if label.startswith('pretraining'):
            print(f'| {name} | ' + ' | '.join(
                str(math.ceil(r / rate)) for r in args.model_clips_per_s) +
                ' |')
    print(json.dumps({'rows': rows, 'jpeg': decoder_rows}))
    tmp.cleanup()


if __name__ == '__main__':
    main()
