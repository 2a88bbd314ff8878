"""``make_toy_dataset``: write the whole synthetic dataset into a folder.

Layout (see ``docs/interfaces.md``, "The synthetic clips")::

    class_labels_indices.csv  train.json  val.json
    train_videos.json  val_videos.json
    videos/<id>.mp4  frames/frame_<i>/<id>.jpg  audio/<id>.wav
    fbank/<id>.npy             the wav's fbank, float16 (read by LoadAudio)
    ground_truth/<id>.npz
    segmentation/annotations.json  segmentation/{images,masks,audio}/seg_<n>.*
    toy_manifest.json          the arguments; marks the folder as a toy dataset
"""
import csv
import glob
import io
import json
import multiprocessing
import os
import os.path as osp
from functools import partial
from typing import Dict, List, Optional, Tuple

from mmengine.logging import print_log
from tqdm import tqdm

from cavsync_mm.registry import FUNCTIONS
from ..layout import SETTINGS_FILE
from .classes import make_classes
from .config import ToyDatasetConfig
from .items import clip_id, make_clip, make_segmentation_example
from .writer import (check_video_readable, write_entry_list,
                     write_json)

MANIFEST = 'toy_manifest.json'
GENERATOR = 'cavsync_mm.datasets.synthetic'
FORMAT_VERSION = 2  # 2: stored fbank
#: Files and file patterns the generator writes (and may remove on rerun).
_GENERATED = ('class_labels_indices.csv', 'train.json', 'val.json', SETTINGS_FILE,
              'train_videos.json', 'val_videos.json',
              'segmentation/annotations.json', 'videos/*_[0-9]*.mp4',
              'frames/frame_*/*_[0-9]*.jpg', 'audio/*_[0-9]*.wav',
              'fbank/*_[0-9]*.npy',
              'ground_truth/*_[0-9]*.npz', 'segmentation/images/seg_*.jpg',
              'segmentation/masks/seg_*.png', 'segmentation/audio/seg_*.wav')


def _clip_job(job: Tuple[str, int], config: ToyDatasetConfig,
              out_dir: str) -> Tuple[Dict, Dict]:
    split, index = job
    return make_clip(config, split, index, out_dir)


def _segmentation_job(index: int, config: ToyDatasetConfig,
                      out_dir: str) -> Dict:
    return make_segmentation_example(config, index, out_dir)


def _run(function, jobs: List, workers: int, description: str,
         progress: bool) -> List:
    """Map ``function`` over ``jobs`` in ``workers`` processes, in order,
    with a progress bar."""
    bar = partial(tqdm, total=len(jobs), desc=description,
                  disable=not progress or not jobs, unit='item')
    if workers <= 1 or len(jobs) <= 1:
        return [function(job) for job in bar(jobs)]
    method = 'fork' if 'fork' in multiprocessing.get_all_start_methods() \
        else 'spawn'
    with multiprocessing.get_context(method).Pool(workers) as pool:
        return list(bar(pool.imap(function, jobs, chunksize=4)))


def _label_csv(num_classes: int) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator='\n')
    writer.writerow(['index', 'mid', 'display_name'])
    for c in make_classes(num_classes):
        writer.writerow([c.index, c.mid, c.display_name])
    return buffer.getvalue()


def _read_manifest(out_dir: str) -> Optional[Dict]:
    path = osp.join(out_dir, MANIFEST)
    if not osp.isfile(path):
        return None
    try:
        with open(path, encoding='utf-8') as f:
            manifest = json.load(f)
    except (OSError, ValueError) as error:
        raise ValueError(f'{path}: unreadable toy dataset manifest '
                         f'({error}); remove it or pick another --out'
                         ) from error
    if manifest.get('generator') != GENERATOR:
        raise ValueError(f'{path}: not written by {GENERATOR}; pick another '
                         '--out')
    return manifest


def _missing_files(out_dir: str, config: ToyDatasetConfig) -> List[str]:
    """Files a complete dataset with ``config`` has and ``out_dir`` lacks."""
    expected = ['class_labels_indices.csv', 'segmentation/annotations.json']
    for split, count in (('train', config.num_clips),
                         ('val', config.val_clips)):
        expected += [f'{split}.json', f'{split}_videos.json']
        for index in range(count):
            video_id = clip_id(split, index)
            expected += [f'audio/{video_id}.wav', f'videos/{video_id}.mp4',
                         f'fbank/{video_id}.npy',
                         f'ground_truth/{video_id}.npz']
            expected += [f'frames/frame_{i}/{video_id}.jpg'
                         for i in range(config.num_frames)]
    return [p for p in expected if not osp.isfile(osp.join(out_dir, p))]


def _remove_generated(out_dir: str) -> int:
    """Remove what an earlier run wrote (matched by name), keep the rest."""
    removed = 0
    for pattern in _GENERATED:
        for path in glob.glob(osp.join(out_dir, pattern)):
            os.remove(path)
            removed += 1
    for folder in ('frames', 'videos', 'audio', 'fbank', 'ground_truth',
                   'segmentation'):
        for root, _, _ in sorted(os.walk(osp.join(out_dir, folder)),
                                 reverse=True):
            if not os.listdir(root):
                os.rmdir(root)
    return removed


def _prepare_out_dir(out_dir: str, config: ToyDatasetConfig,
                     overwrite: bool) -> bool:
    """Decide what to do with ``out_dir``; ``True`` when it already holds
    this exact dataset."""
    if not osp.isdir(out_dir):
        if osp.exists(out_dir):
            raise FileExistsError(f'{out_dir} exists and is not a folder')
        return False
    manifest = _read_manifest(out_dir)
    if manifest is None:
        if os.listdir(out_dir) and not overwrite:
            raise FileExistsError(
                f'{out_dir} is not empty and holds no toy dataset '
                f'({MANIFEST} is missing); choose an empty folder or pass '
                'overwrite=True (--overwrite) to write into it; files with '
                'the generated names would be replaced')
        return False
    same = (manifest.get('format_version') == FORMAT_VERSION
            and manifest.get('config') == config.to_dict())
    if same and manifest.get('complete') and not _missing_files(
            out_dir, config):
        return True
    removed = _remove_generated(out_dir)
    print_log(f'{out_dir}: replacing an earlier toy dataset '
              f'({"incomplete" if same else "other arguments"}, '
              f'{removed} generated files removed)', logger='current')
    return False


def _write_manifest(out_dir: str, config: ToyDatasetConfig,
                    complete: bool) -> None:
    write_json(
        osp.join(out_dir, MANIFEST),
        dict(generator=GENERATOR, format_version=FORMAT_VERSION,
             config=config.to_dict(), complete=complete))


@FUNCTIONS.register_module(name='make_toy_dataset')
def make_toy_dataset(out_dir: str = 'data/toy',
                     num_clips: int = 500,
                     num_classes: int = 8,
                     frame_size: int = 64,
                     seed: int = 0,
                     *,
                     workers: int = 2,
                     overwrite: bool = False,
                     progress: bool = True,
                     **options) -> Dict:
    """Write the synthetic audio-visual toy dataset into ``out_dir``.

    Args:
        out_dir: target folder; created if needed. A non-empty folder that is
            not a toy dataset is refused unless ``overwrite``.
        num_clips: number of training clips (``val_clips`` more for val).
        num_classes: number K of sound-object classes.
        frame_size: side of the square frames in pixels (even).
        seed: random seed; equal arguments give identical files.
        workers: worker processes (the content does not depend on it).
        overwrite: write into a non-empty folder that holds other files.
        progress: show tqdm progress bars.
        **options: any other field of :class:`ToyDatasetConfig`
            (``val_clips``, ``num_frames``, ``duration``, ``sample_rate``,
            ``fps``, ``seg_per_class``, ``distractor_prob``, ``snr_db``,
            ``num_events``, ``event_length``, ``min_gap``,
            ``prompt_length``).

    Returns:
        dict with ``out_dir``, ``config`` (the manifest's arguments),
        ``skipped`` (True when the folder already held this dataset) and the
        paths of the datafiles.
    """
    config = ToyDatasetConfig(num_clips=num_clips, num_classes=num_classes,
                              frame_size=frame_size, seed=seed, **options)
    summary = dict(
        out_dir=out_dir, config=config.to_dict(),
        label_csv=osp.join(out_dir, 'class_labels_indices.csv'),
        segmentation=osp.join(out_dir, 'segmentation', 'annotations.json'),
        **{f'{split}{kind}': osp.join(out_dir, f'{split}{kind}.json')
           for split in ('train', 'val') for kind in ('', '_videos')})
    check_video_readable(config.frame_size, config.fps, config.sample_rate)
    if _prepare_out_dir(out_dir, config, overwrite):
        print_log(f'{out_dir} already holds this toy dataset: nothing to do',
                  logger='current')
        return dict(summary, skipped=True)
    os.makedirs(out_dir, exist_ok=True)
    _write_manifest(out_dir, config, complete=False)

    for split, count in (('train', config.num_clips),
                         ('val', config.val_clips)):
        jobs = [(split, index) for index in range(count)]
        entries = _run(
            partial(_clip_job, config=config, out_dir=out_dir), jobs,
            workers, f'{split} clips', progress)
        write_entry_list(summary[split], 'data', [e[0] for e in entries])
        write_entry_list(summary[f'{split}_videos'], 'data',
                         [e[1] for e in entries])

    num_examples = config.seg_per_class * config.num_classes
    examples = _run(
        partial(_segmentation_job, config=config, out_dir=out_dir),
        list(range(num_examples)), workers, 'segmentation', progress)
    classes = make_classes(config.num_classes)
    write_entry_list(
        summary['segmentation'], 'data_list', examples,
        metainfo=dict(classes=[c.display_name for c in classes]))
    with open(summary['label_csv'], 'w', encoding='utf-8') as f:
        f.write(_label_csv(config.num_classes))
    # the extraction settings file of tools/data/extract_av.py: a dataset
    # that reads these clips with another T refuses them instead of taking
    # frame_{i} at the wrong time
    write_json(osp.join(out_dir, SETTINGS_FILE),
               dict(num_frames=config.num_frames,
                    frame_index='toy generator: frame i at i x duration / T'))
    _write_manifest(out_dir, config, complete=True)
    return dict(summary, skipped=False)
