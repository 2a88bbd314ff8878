"""Compare shard formats for the packed dataset: WebDataset (tar + wids
index), MosaicML Streaming (MDS) and LitData, on the same samples.

Each sample is what ``tools/data/pack_shards.py`` stores for one clip: 16
JPEG frames (224 x 224), the stored fbank (float16 1024 x 128 ``.npy``) and
a json of labels / metadata. The script writes N samples in each format and
measures, in this one process (one thread):

- write: samples/s and the files written;
- sequential read (the library's own streaming iterator): samples/s;
- random access (``dataset[i]`` in a random order, what a map-style
  MMEngine dataset with ``DefaultSampler`` does): samples/s;
- mid-epoch resume: read k samples through the library's loader, take its
  ``state_dict``, rebuild the loader from it and read on: the samples of the
  whole epoch must be each sample exactly once;
- rank splitting: the samples two ranks read in one epoch are disjoint and
  cover the dataset (each library's own rank split).

Decoding (JPEG, npy) is the same for all and is included (one frame, the
fbank), so the figures are clips/s of a pretraining worker minus the model.

Example::

    pip install -e .[shard-formats]   # webdataset, wids, mosaicml-streaming
    python tools/analysis_tools/benchmark_shard_formats.py --num-samples 256 --per-shard 64
"""
import argparse
import glob
import importlib
import io
import json
import os
import os.path as osp
import random
import shutil
import statistics
import tempfile
import time

import numpy as np
import torch

FRAMES = 16
#: the real clips, found relative to the repository: <repo>/../shared/data/real
REAL_CLIPS = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__))))), 'shared', 'data', 'real')


def make_sample_source(num_frames=FRAMES):
    """16 JPEG frames (224 x 224 crops of a real clip's frames) + an fbank."""
    import av
    from PIL import Image
    video = sorted(glob.glob(osp.join(REAL_CLIPS, '*.mp4')))[-1]
    frames = []
    with av.open(video) as container:
        for k, frame in enumerate(container.decode(video=0)):
            if k % 15 == 0:
                image = frame.to_image()
                w, h = image.size
                s = 224 / min(w, h)
                image = image.resize((round(w * s), round(h * s)),
                                     Image.BICUBIC)
                w, h = image.size
                image = image.crop(((w - 224) // 2, (h - 224) // 2,
                                    (w - 224) // 2 + 224,
                                    (h - 224) // 2 + 224))
                buffer = io.BytesIO()
                image.save(buffer, format='JPEG', quality=95)
                frames.append(buffer.getvalue())
            if len(frames) == num_frames:
                break
    buffer = io.BytesIO()
    np.save(buffer, (np.random.default_rng(0).standard_normal(
        (1024, 128)) * 4 - 5).astype(np.float16))
    return frames, buffer.getvalue()


def samples(n, frames, fbank):
    for i in range(n):
        yield dict(key=f'clip{i:06d}', frames=frames, fbank=fbank,
                   meta=dict(video_id=f'clip{i:06d}', labels=[i % 7],
                             fbank_num_frames=998))


def decode(frame_bytes, fbank_bytes):
    from cavsync_mm.datasets.transforms.video import decode_image
    decode_image(frame_bytes)
    np.load(io.BytesIO(fbank_bytes))


# ----------------------------------------------------------------- writers
def write_wds(out, items, per_shard):
    import webdataset as wds
    os.makedirs(out)
    with wds.ShardWriter(osp.join(out, 'shard-%06d.tar'),
                         maxcount=per_shard, verbose=0) as sink:
        for s in items:
            member = {'__key__': s['key'], 'fbank.npy': s['fbank'],
                      'json': json.dumps(s['meta']).encode()}
            for i, frame in enumerate(s['frames']):
                member[f'frame_{i:02d}.jpg'] = frame
            sink.write(member)
    # the wids index (random access): shard names + sample counts
    shards = sorted(glob.glob(osp.join(out, '*.tar')))
    import tarfile
    index = dict(__kind__='wids-shard-index-v1', wids_version=1,
                 shardlist=[dict(url=osp.abspath(p), nsamples=len(
                     {m.split('.')[0] for m in tarfile.open(p).getnames()}))
                            for p in shards])
    with open(osp.join(out, 'index.json'), 'w') as f:
        json.dump(index, f)


def write_mds(out, items, per_shard):
    from streaming import MDSWriter
    columns = {'key': 'str', 'fbank': 'bytes', 'meta': 'json'}
    columns.update({f'frame_{i:02d}': 'bytes' for i in range(FRAMES)})
    with MDSWriter(out=out, columns=columns,
                   size_limit=per_shard * 520_000) as writer:
        for s in items:
            row = {'key': s['key'], 'fbank': s['fbank'], 'meta': s['meta']}
            row.update({f'frame_{i:02d}': f for i, f in
                        enumerate(s['frames'])})
            writer.write(row)


def write_litdata(out, items, per_shard):
    from litdata.streaming.writer import BinaryWriter
    writer = BinaryWriter(out, chunk_size=per_shard)
    for i, s in enumerate(items):
        row = {'key': s['key'], 'fbank': s['fbank'],
               'meta': json.dumps(s['meta'])}
        row.update({f'frame_{k:02d}': f for k, f in enumerate(s['frames'])})
        writer.add_item(i, row)
    writer.done()
    writer.merge()


# ----------------------------------------------------------------- readers
def wds_iter(out, rank=0, world=1):
    import webdataset as wds
    urls = sorted(glob.glob(osp.join(out, '*.tar')))[rank::world]
    return wds.WebDataset(urls, shardshuffle=False, empty_check=False)


def wds_random(out):
    import wids
    return wids.ShardListDataset(osp.join(out, 'index.json'),
                                 transformations=[])


def mds_dataset(out, **kwargs):
    from streaming import StreamingDataset
    return StreamingDataset(local=out, shuffle=False, batch_size=1, **kwargs)


def litdata_dataset(out, **kwargs):
    from litdata import StreamingDataset
    return StreamingDataset(out, **kwargs)


def fields(fmt, sample):
    """(key, first frame bytes, fbank bytes) of a sample read back."""
    if fmt == 'webdataset':
        return sample['__key__'], sample['frame_00.jpg'], sample['fbank.npy']
    if fmt == 'webdataset (wids)':
        frame = sample['.frame_00.jpg']
        fbank = sample['.fbank.npy']
        read = (lambda x: x.read() if hasattr(x, 'read') else x)
        return sample['__key__'], read(frame), read(fbank)
    return sample['key'], sample['frame_00'], sample['fbank']


def rate(function, n):
    start = time.perf_counter()
    function()
    return n / (time.perf_counter() - start)


def sequential(fmt, out, n):
    if fmt == 'webdataset':
        iterator = iter(wds_iter(out))
    elif fmt == 'mosaicml-streaming':
        iterator = iter(mds_dataset(out))
    else:
        iterator = iter(litdata_dataset(out))

    def run():
        for _ in range(n):
            _, frame, fbank = fields(fmt, next(iterator))
            decode(frame, fbank)
    return rate(run, n)


def random_access(fmt, out, n):
    dataset = {'webdataset': lambda: wds_random(out),
               'mosaicml-streaming': lambda: mds_dataset(out),
               'litdata': lambda: litdata_dataset(out)}[fmt]()
    order = list(range(n))
    random.Random(0).shuffle(order)
    name = 'webdataset (wids)' if fmt == 'webdataset' else fmt

    def run():
        for i in order:
            _, frame, fbank = fields(name, dataset[i])
            decode(frame, fbank)
    return rate(run, n)


def resume_check(fmt, out, n, cut):
    """Keys read in one epoch with a loader rebuilt from its state after
    ``cut`` samples: (duplicates, missing), or None without a state."""
    if fmt == 'webdataset':
        return None  # no loader state (a wds pipeline restarts its shards)
    if fmt == 'mosaicml-streaming':
        from streaming import StreamingDataLoader
        make = (lambda: StreamingDataLoader(mds_dataset(out, shuffle_seed=1),
                                            batch_size=1, num_workers=0,
                                            collate_fn=lambda b: b))
    else:
        from litdata import StreamingDataLoader
        make = (lambda: StreamingDataLoader(
            litdata_dataset(out, shuffle=True, seed=1), batch_size=1,
            num_workers=0, collate_fn=lambda b: b))
    loader = make()
    keys = []
    for batch in loader:
        keys.append(fields(fmt, batch[0])[0])
        if len(keys) == cut:
            break
    state = loader.state_dict()
    loader = make()
    loader.load_state_dict(state)
    for batch in loader:
        keys.append(fields(fmt, batch[0])[0])
    expected = {f'clip{i:06d}' for i in range(n)}
    return len(keys) - len(set(keys)), len(expected - set(keys))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--num-samples', type=int, default=512)
    parser.add_argument('--per-shard', type=int, default=64)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--workdir', help='default: a temporary folder')
    args = parser.parse_args()
    torch.set_num_threads(1)
    frames, fbank = make_sample_source()
    decode(frames[0], fbank)  # warm-up: imports, before any timing
    work = args.workdir or tempfile.mkdtemp(prefix='shard_formats_')
    writers = {'webdataset': write_wds, 'mosaicml-streaming': write_mds,
               'litdata': write_litdata}
    rows = []
    modules = {'webdataset': 'wids', 'mosaicml-streaming': 'streaming',
               'litdata': 'litdata'}
    for fmt, writer in writers.items():
        try:
            importlib.import_module(modules[fmt])
        except ImportError:
            print(f'{fmt}: not installed (pip install -e .[shard-formats])')
            continue
        out = osp.join(work, fmt)
        shutil.rmtree(out, ignore_errors=True)
        write = rate(lambda: writer(out, samples(args.num_samples, frames,
                                                  fbank), args.per_shard),
                     args.num_samples)
        files = [p for p in glob.glob(osp.join(out, '**'), recursive=True)
                 if osp.isfile(p)]
        size = sum(osp.getsize(p) for p in files) / args.num_samples / 1e3
        try:  # first: MDS keeps state in shared memory across instances
            resume = resume_check(fmt, out, args.num_samples,
                                  args.num_samples // 3)
        except Exception as err:  # report what the library did
            resume = f'{type(err).__name__}: {str(err)[:80]}'
        seq = statistics.median(sequential(fmt, out, args.num_samples)
                                for _ in range(args.repeats))
        rnd = statistics.median(random_access(fmt, out, args.num_samples)
                                for _ in range(args.repeats))
        rows.append(dict(format=fmt, write=write, files=len(files),
                         kb_per_sample=size, sequential=seq, random=rnd,
                         resume=resume))
    print(f'\n{args.num_samples} samples (16 JPEG 224x224 + fbank npy + '
          f'json), {args.per_shard} per shard, 1 process, 1 thread; '
          f'median of {args.repeats}')
    print('| format | write samples/s | files | kB/sample | sequential '
          'read samples/s | random access samples/s | mid-epoch resume '
          '(repeated, missing) |')
    print('|---|---|---|---|---|---|---|')
    for r in rows:
        resume = r['resume']
        if resume is None:
            resume = 'no loader state'
        elif not isinstance(resume, str):
            resume = f'{resume[0]}, {resume[1]}'
        print(f'| {r["format"]} | {r["write"]:.0f} | {r["files"]} | '
              f'{r["kb_per_sample"]:.0f} | {r["sequential"]:.0f} | '
              f'{r["random"]:.0f} | {resume} |')
    print(json.dumps(rows))
    if not args.workdir:
        shutil.rmtree(work)


if __name__ == '__main__':
    main()
