"""Pack clips into LitData shards for ``ShardedAudioVisualDataset``.

Reads either layout (a CAV-MAE datafile ``{"data": [{"video_id", "wav",
"video_path", "labels"}]}``, with stored fbanks when the datafile names
them; or a raw-video datafile / a folder of videos) and writes, per clip,
the T frames as JPEG after resize + centre crop (224 x 224 by default, as
CAV-MAE's extractor stores them), the Kaldi fbank (float16 1024 x 128)
and/or the 16 kHz mono waveform, the labels and metadata.

Examples::

    # all clips, 8 processes
    python tools/data/pack_shards.py data/audioset/audioset_2m_cleaned.json \
        data/audioset/shards_2m --data-root data/audioset --workers 8

    # one task of a Slurm array of 64 (docs/data.md), then the merge
    python tools/data/pack_shards.py IN.json OUT --num-shards 64 \
        --shard-index $SLURM_ARRAY_TASK_ID --no-merge
    python tools/data/pack_shards.py IN.json OUT --merge-only

The clips are cut into parts (``--clips-per-part``); a part is written into
a temporary folder and its chunks are renamed into ``OUT`` only when the part
is complete, then ``OUT/parts/part-<k>.json`` records it. A killed run
loses only the parts in progress; rerunning the command skips finished
parts. The merge writes ``OUT/index.json`` (what readers open) and
``OUT/clips.json`` atomically, once every part is done. A clip that fails
(unreadable, too short, a worker killed, ``--timeout``) is left out and
listed in ``OUT/pack_failures.json``; exit status 1 then (``--allow-failures``
gives 0).
"""
import argparse
import glob
import io
import json
import os
import os.path as osp
import shutil
import sys
import time
from typing import Dict, List

import numpy as np

from cavsync_mm.datasets import AudioVisualDataset
from cavsync_mm.datasets.layout import safe_video_id
from cavsync_mm.datasets.preprocessing import resize_frame, write_json_atomic
from cavsync_mm.datasets.process_pool import (WorkerFailure,
                                              add_worker_arguments,
                                              supervised_map)
from cavsync_mm.datasets.shards import CLIPS_FILE, INDEX_FILE, frame_key
from cavsync_mm.datasets.transforms.audio import (LoadAudio, kaldi_fbank,
                                                  load_stored_fbank,
                                                  num_fbank_frames)
from cavsync_mm.datasets.transforms.video import LoadFrames

AUDIO_MODES = ('fbank', 'waveform', 'both')
FAILURES_FILE = 'pack_failures.json'
#: info keys that are paths on the packing machine, not clip metadata
_PATH_KEYS = ('audio_path', 'frame_dir', 'video_file', 'fbank_path',
              'sample_idx', 'label_ids', 'gt_label', 'num_classes')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('input', help='CAV-MAE or raw-video datafile '
                        '(.json), or a folder of videos')
    parser.add_argument('output_dir', help='the shard folder')
    parser.add_argument('--data-root', default='',
                        help='folder relative datafile paths refer to')
    parser.add_argument('--num-frames', type=int, default=16, help='T')
    parser.add_argument('--image-size', type=int, default=224,
                        help='shorter side after resize (bicubic); 0 keeps '
                        'the frames as they are')
    parser.add_argument('--no-center-crop', action='store_true',
                        help='keep the aspect ratio (no centre square crop)')
    parser.add_argument('--audio', choices=AUDIO_MODES, default='fbank',
                        help='store the fbank (default), the 16 kHz '
                        'waveform (mixup needs it) or both')
    parser.add_argument('--jpeg-quality', type=int, default=95)
    parser.add_argument('--clips-per-part', type=int, default=512,
                        help='clips per resumable unit of work')
    parser.add_argument('--chunk-bytes', default='128MB',
                        help='LitData chunk size (one file)')
    add_worker_arguments(parser)
    parser.add_argument('--num-shards', type=int, default=1,
                        help='split the parts over this many machines/tasks')
    parser.add_argument('--shard-index', type=int, default=0,
                        help='this task: parts k with k %% num-shards == '
                        'shard-index')
    merge = parser.add_mutually_exclusive_group()
    merge.add_argument('--no-merge', action='store_true',
                       help='only write this task\'s parts')
    merge.add_argument('--merge-only', action='store_true',
                       help='only merge finished parts into index.json')
    parser.add_argument('--allow-failures', action='store_true')
    args = parser.parse_args(argv)
    if not 0 <= args.shard_index < args.num_shards:
        parser.error('--shard-index must be in [0, --num-shards)')
    return args


# ------------------------------------------------------------ one clip
def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _wav_bytes(waveform: np.ndarray, rate: int) -> bytes:
    import soundfile
    buffer = io.BytesIO()
    soundfile.write(buffer, np.clip(waveform, -1, 1), rate, subtype='PCM_16',
                    format='WAV')
    return buffer.getvalue()


def pack_clip(info: Dict, num_frames: int = 16, image_size: int = 224,
              center_crop: bool = True, audio: str = 'fbank',
              jpeg_quality: int = 95) -> Dict:
    """The shard record of one clip (raises ``ClipError`` / decoder errors).

    Frames through ``LoadFrames`` (either layout) then resize + crop; the
    fbank from the stored one when the datafile names it, else computed as
    ``LoadAudio`` + ``ComputeFbank`` do.
    """
    results = dict(info, frame_indices=list(range(num_frames)),
                   num_frames=num_frames, sampling='all_frames')
    LoadFrames().transform(results)
    record = {}
    for i, frame in enumerate(results['imgs']):
        image = resize_frame(frame, image_size or None, center_crop)
        buffer = io.BytesIO()
        image.save(buffer, format='JPEG', quality=jpeg_quality)
        record[frame_key(i)] = buffer.getvalue()
    waveform = None
    if audio in ('waveform', 'both') or not info.get('fbank_path'):
        loaded = LoadAudio(use_stored_fbank=False,
                           remove_mean=False).transform(dict(info))
        waveform = loaded['waveform']
    if audio in ('fbank', 'both'):
        if info.get('fbank_path'):
            fbank = load_stored_fbank(info['fbank_path']).numpy()
            frames = int(info.get('fbank_num_frames', fbank.shape[0]))
        else:
            centred = waveform - waveform.mean()
            fbank = kaldi_fbank(centred).numpy()
            frames = num_fbank_frames(len(centred))
        record['fbank'] = _npy_bytes(fbank.astype(np.float16))
    else:
        frames = num_fbank_frames(len(waveform))
    if audio in ('waveform', 'both'):
        record['wav'] = _wav_bytes(waveform, 16000)
    meta = {k: v for k, v in info.items() if k not in _PATH_KEYS}
    meta.update(video_id=safe_video_id(info['video_id']),
                labels=','.join(info.get('label_ids', [])),
                fbank_num_frames=frames)
    record['meta'] = json.dumps(meta)
    return record


def _pack_job(info, **kwargs):
    try:
        return pack_clip(info, **kwargs)
    except Exception as err:  # one bad clip: report it, keep going
        return WorkerFailure(f'{type(err).__name__}: {err}')


# ------------------------------------------------------------ parts
def part_json(out: str, k: int) -> str:
    return osp.join(out, 'parts', f'part-{k:06d}.json')


def write_part(out: str, k: int, infos: List[Dict], args) -> Dict:
    """Pack ``infos`` as part ``k``: chunks renamed into ``out`` when all
    are written, then ``parts/part-k.json`` (the commit)."""
    from functools import partial

    from litdata.streaming.writer import BinaryWriter
    from tqdm import tqdm
    tmp = osp.join(out, f'.tmp-part-{k:06d}-{os.getpid()}')
    shutil.rmtree(tmp, ignore_errors=True)
    writer = BinaryWriter(tmp, chunk_bytes=args.chunk_bytes)
    job = partial(_pack_job, num_frames=args.num_frames,
                  image_size=args.image_size,
                  center_crop=not args.no_center_crop, audio=args.audio,
                  jpeg_quality=args.jpeg_quality)
    clips, failures = [], []
    bar = tqdm(total=len(infos), desc=f'part {k}', unit='clip',
               dynamic_ncols=True)
    for index, record in supervised_map(job, infos, args.workers,
                                        args.timeout or None):
        bar.update()
        info = infos[index]
        if isinstance(record, WorkerFailure):
            failures.append(dict(video_id=info['video_id'],
                                 error=record.message))
            continue
        meta = json.loads(record['meta'])
        writer.add_item(len(clips), record)
        clips.append(meta)
    bar.close()
    part = dict(part=k, chunks=[], config=None, clips=clips,
                failures=failures)
    if clips:
        writer.done()
        writer.merge()
        with open(osp.join(tmp, INDEX_FILE)) as f:
            index = json.load(f)
        for chunk in index['chunks']:
            name = f'part-{k:06d}-{chunk["filename"]}'
            os.replace(osp.join(tmp, chunk['filename']), osp.join(out, name))
            chunk['filename'] = name
        part.update(chunks=index['chunks'], config=index['config'])
    for clip, chunk in zip(clips, _chunk_of_each(part['chunks'])):
        clip['shard'] = chunk
    write_json_atomic(part, part_json(out, k))
    shutil.rmtree(tmp, ignore_errors=True)
    return part


def _chunk_of_each(chunks):
    for chunk in chunks:
        for _ in range(chunk['chunk_size']):
            yield chunk['filename']


def merge(out: str, num_parts: int, settings: Dict) -> Dict:
    """Write ``index.json`` + ``clips.json`` from the finished parts."""
    parts = []
    for k in range(num_parts):
        with open(part_json(out, k)) as f:
            parts.append(json.load(f))
    chunks, clips, failures, config = [], [], [], None
    for part in parts:
        failures += part['failures']
        if not part['chunks']:
            continue
        this = dict(part['config'], chunk_bytes=None)
        if config is not None and this != dict(config, chunk_bytes=None):
            raise ValueError(f'part {part["part"]} was packed with other '
                             'settings than part 0; repack it')
        config = config or part['config']
        chunks += part['chunks']
        clips += part['clips']
    if not chunks:
        raise ValueError('no clip was packed; see the failures')
    write_json_atomic(dict(settings, num_failed=len(failures),
                           failures=failures), osp.join(out, FAILURES_FILE))
    write_json_atomic(dict(settings, clips=clips), osp.join(out, CLIPS_FILE))
    write_json_atomic(dict(chunks=chunks, config=config,
                           updated_at=str(time.time())),
                      osp.join(out, INDEX_FILE))
    return dict(clips=len(clips), chunks=len(chunks), failures=failures)


def main(argv=None) -> int:
    args = parse_args(argv)
    os.makedirs(osp.join(args.output_dir, 'parts'), exist_ok=True)
    dataset = AudioVisualDataset(ann_file=args.input, data_root=args.data_root,
                                 num_frames=args.num_frames, test_mode=True,
                                 serialize_data=False, pipeline=[])
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    step = args.clips_per_part
    num_parts = (len(infos) + step - 1) // step
    settings = dict(num_frames=args.num_frames, image_size=args.image_size,
                    center_crop=not args.no_center_crop, audio=args.audio,
                    source=osp.abspath(args.input), num_parts=num_parts)
    settings_path = osp.join(args.output_dir, 'pack_settings.json')
    if osp.isfile(settings_path):
        with open(settings_path) as f:
            previous = json.load(f)
        if previous != settings:
            sys.exit(f'{args.output_dir} was packed with other settings '
                     f'({previous}); use another output folder')
    else:
        write_json_atomic(settings, settings_path)

    if not args.merge_only:
        for stale in glob.glob(osp.join(args.output_dir, '.tmp-part-*')):
            shutil.rmtree(stale, ignore_errors=True)  # a killed run's part
        mine = [k for k in range(num_parts)
                if k % args.num_shards == args.shard_index]
        todo = [k for k in mine if not osp.isfile(part_json(args.output_dir,
                                                            k))]
        print(f'{len(infos)} clips in {num_parts} parts; this task: '
              f'{len(mine)} parts, {len(mine) - len(todo)} already done')
        for k in todo:
            write_part(args.output_dir, k, infos[k * step:(k + 1) * step],
                       args)
    if args.no_merge:
        return 0
    done = [k for k in range(num_parts)
            if osp.isfile(part_json(args.output_dir, k))]
    if len(done) < num_parts:
        print(f'{len(done)} of {num_parts} parts are done; merge once all '
              'tasks have finished (--merge-only)')
        return 0 if args.num_shards > 1 else 1
    summary = merge(args.output_dir, num_parts, settings)
    print(f'packed {summary["clips"]} clips into {summary["chunks"]} chunks '
          f'in {args.output_dir}; {len(summary["failures"])} failed')
    for failure in summary['failures']:
        print(f'  {failure["video_id"]}: {failure["error"]}')
    return 1 if summary['failures'] and not args.allow_failures else 0


if __name__ == '__main__':
    sys.exit(main())
