"""The audio-visual clip dataset: CAV-MAE datafiles and raw video folders.

The dataset parses annotations and chooses which frames ``i`` of ``T`` a
sample holds; the pipeline's transforms load and cut the data.
"""
import csv
import json
import logging
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.logging import print_log

from cavsync_mm.registry import DATASETS
from .errors import ClipError
from .layout import SETTINGS_FILE, VIDEO_EXTENSIONS


SAMPLING_MODES = ('random_frame', 'middle_frame', 'all_frames')
#: datafile keys the dataset interprets; every other key is kept as it is.
STANDARD_KEYS = ('video_id', 'wav', 'video_path', 'video', 'labels',
                 'fbank')


def read_label_csv(path: str) -> List[dict]:
    """Rows ``{'index', 'mid', 'display_name'}`` of a class-label csv."""
    with open(path, newline='', encoding='utf-8') as f:
        reader = csv.DictReader(f)
        missing = {'index', 'mid', 'display_name'} - set(reader.fieldnames
                                                          or ())
        if missing:
            raise ValueError(f'label file {path}: missing column(s) '
                             f'{sorted(missing)}; expected '
                             'index,mid,display_name')
        rows = [dict(index=int(row['index']), mid=row['mid'],
                     display_name=row['display_name']) for row in reader]
    rows.sort(key=lambda row: row['index'])
    if [row['index'] for row in rows] != list(range(len(rows))):
        raise ValueError(f'label file {path}: indices are not 0..{len(rows)-1}')
    return rows


@DATASETS.register_module()
class AudioVisualDataset(BaseDataset):
    """Clips of the CAV-MAE datafile layout or of the raw-video layout.

    Layouts (``docs/interfaces.md``, ``docs/data.md``):

    - CAV-MAE: ``{"data": [{"video_id", "wav", "video_path", "labels"}]}``,
      frames at ``{video_path}/frame_{i}/{video_id}.jpg``;
    - raw video: entries with a ``"video"`` key (mp4/mkv/webm), or
      ``ann_file`` naming a folder that is scanned for videos (no labels).

    An entry may also name a stored fbank (``"fbank"``: a float16 ``.npy``,
    with ``"fbank_num_frames"``, written by ``tools/data/extract_av.py``);
    ``LoadAudio`` then reads it instead of computing it (``docs/data.md``).

    Relative paths are joined with ``data_root``; ``path_placeholder``
    strings (``'<YOUR_VGGS_PATH>'`` in the authors' files) are replaced by
    ``data_root``. ``labels`` (comma-separated ids) become class indices via
    ``label_file`` (csv ``index,mid,display_name``); ``metainfo`` then holds
    ``classes``, ``label_ids`` and ``num_classes``. Other keys of an entry
    (e.g. ``frame_labels``) are kept in the data info.

    Each sample gets ``frame_indices`` (frames ``i`` of ``num_frames``):
    ``'random_frame'`` draws one per visit (pretraining),
    ``'middle_frame'`` takes ``T // 2``, ``'all_frames'`` takes all T.

    Args:
        ann_file (str): datafile (json) or folder of videos.
        data_root (str): folder relative paths (and placeholders) refer to.
        label_file (str, optional): the class-label csv.
        path_placeholder (str | Sequence[str], optional): placeholder(s)
            replaced by ``data_root``.
        sampling (str): one of ``SAMPLING_MODES``. Defaults to
            ``'random_frame'``.
        num_frames (int): T. Defaults to 16.
        on_error (str): ``'raise'`` (default) raises the ``ClipError`` that
            names the clip and field; ``'skip'`` logs it, counts it
            (``num_skipped``, ``skipped_clips``) and serves another clip
            (the next one in test mode, a random one in training). The
            served sample carries the skips it stood in for
            (``skipped_clips`` in its data sample's metainfo), so
            :class:`~cavsync_mm.engine.DataHealthHook` counts them across
            workers and ranks.
        video_extensions (Sequence[str]): endings a folder scan accepts.
        check_extraction (bool): read ``extract_av_settings.json`` beside
            each ``video_path`` folder (written by
            ``tools/data/extract_av.py``) and refuse a T whose frames were
            not extracted (``num_frames`` or ``LoadFrames(extracted_frames=)``
            must equal the file's ``num_frames``). Defaults to True.
        **kwargs: ``pipeline``, ``test_mode``, ``serialize_data``,
            ``lazy_init``, ``max_refetch``, ... of ``BaseDataset``.
    """

    def __init__(self,
                 ann_file: str = '',
                 data_root: str = '',
                 label_file: Optional[str] = None,
                 path_placeholder: Union[str, Sequence[str], None] = None,
                 sampling: str = 'random_frame',
                 num_frames: int = 16,
                 on_error: str = 'raise',
                 video_extensions: Sequence[str] = VIDEO_EXTENSIONS,
                 check_extraction: bool = True,
                 **kwargs):
        if sampling not in SAMPLING_MODES:
            raise ValueError(f'sampling must be one of {SAMPLING_MODES}, '
                             f'got {sampling!r}')
        if on_error not in ('raise', 'skip'):
            raise ValueError(f"on_error must be 'raise' or 'skip', got "
                             f'{on_error!r}')
        if num_frames < 1:
            raise ValueError(f'num_frames must be >= 1, got {num_frames}')
        self.label_file = label_file
        self.path_placeholders = [path_placeholder] if isinstance(
            path_placeholder, str) else list(path_placeholder or [])
        self.sampling = sampling
        self.num_frames = num_frames
        self.on_error = on_error
        self.video_extensions = tuple(ext.lower() for ext in video_extensions)
        self.check_extraction = check_extraction
        self.num_skipped = 0
        self.num_entries = 0
        self.skipped_clips: Dict[str, str] = {}
        self._pending_skips: List[tuple] = []
        super().__init__(ann_file=ann_file, data_root=data_root, **kwargs)

    # ------------------------------------------------------------ parsing
    def load_data_list(self) -> List[dict]:
        label_rows = self._load_labels()
        if osp.isdir(self.ann_file):
            entries = self._scan_videos(self.ann_file)
            source = f'folder {self.ann_file}'
        else:
            entries = self._read_datafile(self.ann_file)
            source = f'datafile {self.ann_file}'
        if not entries:
            raise ValueError(f'{source} has no clips')
        mid_to_index = {row['mid']: row['index'] for row in label_rows or []}
        data_list = []
        for position, entry in enumerate(entries):
            try:
                data_list.append(
                    self._parse_entry(position, entry, mid_to_index,
                                      label_rows is not None))
            except ClipError as err:
                if self.on_error == 'raise':
                    raise
                self._record_skip(err)
        if self.num_skipped:
            print_log(f'{source}: skipped {self.num_skipped} of '
                      f'{len(entries)} entries (on_error=skip)',
                      logger='current', level=logging.WARNING)
        if not data_list:
            raise ValueError(f'{source}: every entry was skipped; see the log')
        self.num_entries = len(entries)
        if self.check_extraction:
            for frame_dir in sorted({info['frame_dir'] for info in data_list
                                     if 'frame_dir' in info}):
                self._check_extraction_settings(frame_dir)
        return data_list

    def _extracted_frames(self) -> int:
        """T of the jpgs the pipeline reads (``LoadFrames.extracted_frames``
        or ``num_frames``)."""
        from .transforms.video import LoadFrames
        for transform in getattr(self.pipeline, 'transforms', []):
            if isinstance(transform, LoadFrames) and \
                    transform.extracted_frames is not None:
                return transform.extracted_frames
        return self.num_frames

    def _check_extraction_settings(self, frame_dir: str):
        """Refuse a T that the frames in ``frame_dir`` were not extracted
        with (silent misalignment otherwise: frame_{i} is another time)."""
        folder = frame_dir.rstrip('/\\')
        for path in (osp.join(osp.dirname(folder), SETTINGS_FILE),
                     osp.join(folder, SETTINGS_FILE)):
            if osp.isfile(path):
                break
        else:
            return
        try:
            with open(path, encoding='utf-8') as f:
                extracted = int(json.load(f)['num_frames'])
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise ValueError(f'{path}: cannot read num_frames ({err})'
                             ) from err
        reads = self._extracted_frames()
        if extracted != reads:
            raise ValueError(
                f'the frames in {frame_dir} were extracted with '
                f'num_frames={extracted} ({path}), but this dataset reads '
                f'{reads} extracted frames (num_frames={self.num_frames}): '
                f'frame_{{i}} would be taken at the wrong time. Set '
                f'num_frames={extracted}, or LoadFrames(extracted_frames='
                f'{extracted}) to sample T={self.num_frames} of them, or '
                'extract again with --num-frames '
                f'{self.num_frames}')

    def _load_labels(self) -> Optional[List[dict]]:
        if not self.label_file:
            return None
        path = self.label_file
        if self.data_root and not osp.isabs(path):
            path = osp.join(self.data_root, path)
        rows = read_label_csv(path)
        self._metainfo.update(
            classes=tuple(row['display_name'] for row in rows),
            label_ids=tuple(row['mid'] for row in rows),
            num_classes=len(rows))
        return rows

    def _read_datafile(self, path: str) -> list:
        if not osp.isfile(path):
            raise FileNotFoundError(f'datafile {path} does not exist')
        with open(path, encoding='utf-8') as f:
            try:
                content = json.load(f)
            except json.JSONDecodeError as err:
                raise ValueError(f'datafile {path} is not valid json: {err}'
                                 ) from err
        if not isinstance(content, dict) or not isinstance(
                content.get('data'), list):
            raise ValueError(f'datafile {path}: expected an object with a '
                             '"data" list of clip entries')
        return content['data']

    def _scan_videos(self, folder: str) -> list:
        entries = []
        for root, _, files in os.walk(folder):
            for name in files:
                if name.lower().endswith(self.video_extensions):
                    entries.append({'video': osp.join(root, name)})
        entries.sort(key=lambda entry: entry['video'])
        return entries

    def _resolve(self, path: str, clip: str, field: str) -> str:
        for placeholder in self.path_placeholders:
            if placeholder in path:
                if not self.data_root:
                    raise ClipError(clip, field,
                                    f'path {path!r} holds the placeholder '
                                    f'{placeholder!r}; set data_root to the '
                                    'folder it stands for')
                path = path.replace(placeholder, self.data_root)
        if self.data_root and not osp.isabs(path):
            path = osp.join(self.data_root, path)
        return path

    def _parse_entry(self, position: int, entry, mid_to_index: dict,
                     has_labels: bool) -> dict:
        if not isinstance(entry, dict):
            raise ClipError(f'#{position}', 'data',
                            f'entry is a {type(entry).__name__}, not an '
                            'object')
        if 'video_id' in entry:
            clip = str(entry['video_id'])
        elif 'video' in entry:
            clip = osp.splitext(osp.basename(str(entry['video'])))[0]
        else:
            raise ClipError(f'#{position}', 'video_id',
                            'missing key (needed unless the entry has '
                            "'video')")
        info = {key: value for key, value in entry.items()
                if key not in STANDARD_KEYS}
        info['video_id'] = clip
        if entry.get('wav'):
            info['audio_path'] = self._resolve(entry['wav'], clip, 'wav')
        if entry.get('video_path'):
            info['frame_dir'] = self._resolve(entry['video_path'], clip,
                                              'video_path')
        if entry.get('video'):
            info['video_file'] = self._resolve(entry['video'], clip, 'video')
        if entry.get('fbank'):  # stored fbank (+ 'fbank_num_frames')
            info['fbank_path'] = self._resolve(entry['fbank'], clip, 'fbank')
        if 'video_file' not in info:
            for key in ('wav', 'video_path'):
                if not entry.get(key):
                    raise ClipError(clip, key,
                                    "missing key (an entry needs 'video', "
                                    "or both 'wav' and 'video_path')")
        if has_labels:
            info.update(self._parse_labels(clip, entry, mid_to_index))
        elif 'labels' in entry:
            info['label_ids'] = self._split_labels(entry['labels'])
        return info

    @staticmethod
    def _split_labels(labels) -> List[str]:
        if isinstance(labels, str):
            labels = labels.split(',')
        return [str(label).strip() for label in labels if str(label).strip()]

    def _parse_labels(self, clip: str, entry: dict,
                      mid_to_index: dict) -> dict:
        if 'labels' not in entry:
            raise ClipError(clip, 'labels',
                            'missing key (label_file is set, so every '
                            'entry needs labels)')
        label_ids = self._split_labels(entry['labels'])
        if not label_ids:
            raise ClipError(clip, 'labels', 'no label ids')
        unknown = [label for label in label_ids if label not in mid_to_index]
        if unknown:
            raise ClipError(clip, 'labels',
                            f'label id(s) {unknown} not in {self.label_file}')
        return dict(label_ids=label_ids,
                    gt_label=[mid_to_index[label] for label in label_ids],
                    num_classes=len(mid_to_index))

    # ----------------------------------------------------------- sampling
    def choose_frames(self) -> List[int]:
        """Frames ``i`` of T for one visit, by ``sampling``."""
        if self.sampling == 'random_frame':
            return [int(np.random.randint(self.num_frames))]
        if self.sampling == 'middle_frame':
            return [self.num_frames // 2]
        return list(range(self.num_frames))

    def prepare_data(self, idx: int):
        results = self.get_data_info(idx)
        results.update(sampling=self.sampling, num_frames=self.num_frames,
                       frame_indices=self.choose_frames())
        return self.pipeline(results)

    def get_cat_ids(self, idx: int) -> List[int]:
        return list(self.get_data_info(idx).get('gt_label', []))

    # ------------------------------------------------------------ skipping
    def _record_skip(self, err: ClipError):
        self.num_skipped += 1
        self._pending_skips.append((err.clip, err.field, err.problem))
        self.skipped_clips[err.clip] = str(err)
        print_log(f'skipped {err} ({self.num_skipped} skips, '
                  f'{len(self.skipped_clips)} distinct clips so far in this '
                  'process)', logger='current', level=logging.WARNING)

    def __getitem__(self, idx: int) -> dict:
        if not self._fully_initialized:
            self.full_init()
        self._pending_skips = []
        for _ in range(self.max_refetch + 1):
            try:
                data = self.prepare_data(idx)
            except ClipError as err:
                if self.on_error == 'raise':
                    raise
                self._record_skip(err)
                data = None
            if data is not None:
                return attach_skips(data, self._pending_skips)
            idx = (idx + 1) % len(self) if self.test_mode \
                else self._rand_another()
        last = self._pending_skips[-1] if self._pending_skips else None
        raise RuntimeError(
            f'no readable clip after {self.max_refetch + 1} tries; '
            f'{self.num_skipped} skips so far in this process'
            + (f"; the last: clip {last[0]}: field '{last[1]}': {last[2]}"
               if last else '') + ' (a wrong data_root?)')


def attach_skips(data, skips: List[tuple]):
    """Note on a served sample the ``(clip, field, problem)`` skips it
    replaces: ``skipped_clips`` in its data sample's metainfo (or the
    results dict, for pipelines that do not pack)."""
    samples = data.get('data_samples') if isinstance(data, dict) else None
    if samples is not None and hasattr(samples, 'set_metainfo'):
        samples.set_metainfo(dict(skipped_clips=list(skips)))
    elif isinstance(data, dict):
        data['skipped_clips'] = list(skips)
    return data
