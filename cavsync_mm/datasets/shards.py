"""Packed shards: many clips per file, for datasets of millions of clips.

Format: LitData's chunked binary format (``litdata.StreamingDataset``),
chosen by measurement against WebDataset tar shards and MosaicML Streaming
(MDS): ``tools/analysis_tools/benchmark_shard_formats.py``, table in
``docs/data.md``. Written by ``tools/data/pack_shards.py``::

    OUT/index.json              LitData's index of the chunks (readers use it)
    OUT/clips.json              one metadata entry per sample, in index order:
                                {"video_id", "labels", "fbank_num_frames",
                                 "shard", ...}
    OUT/part-<k>-chunk-*.bin    the chunks (written whole, then renamed)
    OUT/parts/part-<k>.json     a finished part: its chunks, clips, failures

A sample holds ``frame_<i>`` (JPEG bytes, i < T), ``fbank`` (``.npy``
bytes, float16 1024 x 128) and/or ``wav`` (16 kHz mono PCM16 wav bytes),
and ``meta`` (json of the ``clips.json`` entry).

:class:`ShardedAudioVisualDataset` is map-style: MMEngine's samplers split
it across ranks (disjoint) and order it; the data of index ``i`` is read by
``litdata.StreamingDataset.__getitem__`` (a local folder, or ``s3://``,
``gs://``, ... through LitData with a local ``cache_dir``).
"""
import io
import json
import os
from typing import List, Optional

import numpy as np
import torch
from cavsync_mm.registry import DATASETS, TRANSFORMS
from .av_dataset import AudioVisualDataset
from .errors import ClipError
from .transforms.base import ClipTransform

CLIPS_FILE = 'clips.json'
INDEX_FILE = 'index.json'


def frame_key(i: int) -> str:
    return f'frame_{i:02d}'


def read_json_url(url: str):
    """A json file from a local path or any fsspec URL (``s3://`` needs
    ``s3fs``)."""
    if '://' not in url:
        with open(url, encoding='utf-8') as f:
            return json.load(f)
    import fsspec
    with fsspec.open(url, 'r', encoding='utf-8') as f:
        return json.load(f)


@DATASETS.register_module()
class ShardedAudioVisualDataset(AudioVisualDataset):
    """Clips packed by ``tools/data/pack_shards.py`` (LitData chunks).

    Same sampling, labels and ``on_error`` as :class:`AudioVisualDataset`;
    the pipeline starts with ``DecodeShardAudio`` and ``DecodeShardFrames``
    instead of ``LoadAudio`` / ``LoadFrames``.

    Args:
        ann_file (str): the shard folder (holding ``index.json`` and
            ``clips.json``), local or a URL LitData reads (``s3://...``).
        cache_dir (str, optional): where LitData keeps downloaded chunks of
            a remote ``ann_file``.
        max_cache_size (str): LitData's cache limit. Defaults to
            ``'50GB'``.
        **kwargs: ``label_file``, ``sampling``, ``num_frames``,
            ``on_error``, ``pipeline``, ... of :class:`AudioVisualDataset`.
    """

    def __init__(self, ann_file: str = '', cache_dir: Optional[str] = None,
                 max_cache_size: str = '50GB', **kwargs):
        self.cache_dir = cache_dir
        self.max_cache_size = max_cache_size
        self._reader = None
        self._reader_pid = None
        super().__init__(ann_file=ann_file, **kwargs)

    def load_data_list(self) -> List[dict]:
        label_rows = self._load_labels()
        url = self.ann_file.rstrip('/') + '/' + CLIPS_FILE
        try:
            content = read_json_url(url)
        except FileNotFoundError as err:
            raise FileNotFoundError(
                f'{url} does not exist: is {self.ann_file} a folder written '
                'by tools/data/pack_shards.py (after its merge step)?'
            ) from err
        clips = content['clips']
        if content.get('num_frames') not in (None, self.num_frames):
            raise ValueError(f'{self.ann_file} holds '
                             f'{content["num_frames"]} frames per clip; '
                             f'num_frames={self.num_frames} reads others')
        mid_to_index = {row['mid']: row['index'] for row in label_rows or []}
        data_list = []
        for position, meta in enumerate(clips):
            info = dict(meta, shard_index=position,
                        video_id=str(meta['video_id']))
            try:
                if label_rows is not None:
                    info.update(self._parse_labels(info['video_id'], meta,
                                                   mid_to_index))
                elif 'labels' in meta:
                    info['label_ids'] = self._split_labels(meta['labels'])
            except ClipError as err:
                if self.on_error == 'raise':
                    raise
                self._record_skip(err)
                continue
            info.pop('labels', None)
            data_list.append(info)
        if not data_list:
            raise ValueError(f'{self.ann_file}: no clips')
        self.num_entries = len(clips)
        return data_list

    def __getstate__(self):  # spawned workers open their own reader
        state = dict(self.__dict__)
        state['_reader'] = state['_reader_pid'] = None
        return state

    def reader(self):
        """LitData's dataset, opened once per process (DataLoader workers
        fork after the dataset is built)."""
        if self._reader is None or self._reader_pid != os.getpid():
            from litdata import StreamingDataset
            kwargs = {}
            if self.cache_dir:
                kwargs['cache_dir'] = self.cache_dir
            self._reader = StreamingDataset(
                self.ann_file, max_cache_size=self.max_cache_size, **kwargs)
            self._reader_pid = os.getpid()
        return self._reader

    def prepare_data(self, idx: int):
        results = self.get_data_info(idx)
        clip = f'{results.get("shard", self.ann_file)}:{results["video_id"]}'
        try:
            record = self.reader()[results['shard_index']]
        except Exception as err:  # LitData raises many types for bad chunks
            raise ClipError(clip, 'shard',
                            f'cannot read sample {results["shard_index"]}: '
                            f'{type(err).__name__}: {err}') from err
        if not isinstance(record, dict):
            raise ClipError(clip, 'shard', f'sample {results["shard_index"]}'
                            f' is a {type(record).__name__}, not a record')
        stored = json.loads(record.get('meta', '{}'))
        if stored.get('video_id') != results['video_id']:
            raise ClipError(clip, 'shard',
                            f'sample {results["shard_index"]} holds clip '
                            f'{stored.get("video_id")!r}: clips.json and '
                            'the chunks disagree (re-run the merge step)')
        results.update(shard_record=record, shard_clip=clip,
                       sampling=self.sampling, num_frames=self.num_frames,
                       frame_indices=self.choose_frames())
        return self.pipeline(results)


def _member(results: dict, key: str):
    value = results['shard_record'].get(key)
    if value is None or len(value) == 0:
        raise ClipError(results['shard_clip'], key,
                        f'the shard sample has no {key!r} member')
    return value


@TRANSFORMS.register_module()
class DecodeShardAudio(ClipTransform):
    """The audio of a shard sample: the stored fbank, or the waveform.

    Gives what ``LoadAudio`` gives: ``fbank`` + ``fbank_num_frames`` (a
    stored fbank, kept by ``ComputeFbank``) or ``waveform`` (mean removed)
    + ``sample_rate``, and ``audio_duration``.

    Args:
        prefer (str): ``'fbank'`` (default) or ``'waveform'`` (mixup mixes
            waveforms: shards packed with ``--audio waveform`` or
            ``both``).
    """

    def __init__(self, prefer: str = 'fbank'):
        if prefer not in ('fbank', 'waveform'):
            raise ValueError(f"prefer must be 'fbank' or 'waveform', got "
                             f'{prefer!r}')
        self.prefer = prefer

    def transform(self, results: dict) -> dict:
        record = results['shard_record']
        use_fbank = self.prefer == 'fbank' and record.get('fbank') or \
            not record.get('wav')
        clip = results['shard_clip']
        if use_fbank:
            data = _member(results, 'fbank')
            try:
                array = np.load(io.BytesIO(data), allow_pickle=False)
                if array.ndim != 2 or not np.all(np.isfinite(array)):
                    raise ValueError(f'a {array.dtype} array of shape '
                                     f'{array.shape} with non-finite or '
                                     'wrong dimensions')
            except Exception as err:
                raise ClipError(clip, 'fbank',
                                f'unreadable stored fbank: {err}') from err
            results['fbank'] = torch.from_numpy(array.astype(np.float32))
            num = int(results.get('fbank_num_frames', array.shape[0]))
            results['fbank_num_frames'] = num
            results['sample_rate'] = 16000
            results['audio_duration'] = num / 100.0
            return results
        import soundfile
        data = _member(results, 'wav')
        try:
            wave, rate = soundfile.read(io.BytesIO(data), dtype='float32')
        except Exception as err:
            raise ClipError(clip, 'wav', f'unreadable waveform: {err}'
                            ) from err
        if wave.ndim != 1 or not np.any(wave):
            raise ClipError(clip, 'wav', 'the waveform is not mono or is '
                            'silent')
        wave = wave - wave.mean()
        results['waveform'] = wave.astype(np.float32)
        results['sample_rate'] = int(rate)
        results['audio_duration'] = len(wave) / rate
        return results


@TRANSFORMS.register_module()
class DecodeShardFrames(ClipTransform):
    """Decode the sampled frames (``frame_indices``) of a shard sample.

    Only the frames a sample uses are decoded (one for pretraining). Gives
    what ``LoadFrames`` gives: ``imgs`` (list of ``H x W x 3`` uint8),
    ``img_shape``, ``original_shape``, ``modality``.
    """

    def transform(self, results: dict) -> dict:
        from .transforms.video import decode_image
        imgs = []
        for i in results['frame_indices']:
            key = frame_key(i)
            data = _member(results, key)
            try:
                imgs.append(decode_image(bytes(data)))
            except Exception as err:
                raise ClipError(results['shard_clip'], key,
                                f'undecodable frame: {err}') from err
        shapes = {img.shape for img in imgs}
        if len(shapes) != 1:
            raise ClipError(results['shard_clip'], 'frames',
                            f'frames differ in size: {sorted(shapes)}')
        results['imgs'] = imgs
        results['img_shape'] = imgs[0].shape[:2]
        results['original_shape'] = imgs[0].shape[:2]
        results['modality'] = 'RGB'
        results.pop('shard_record')  # the bytes are not needed any more
        return results

