"""Rank a folder of clips for a query clip (what ``demo/retrieve.py`` and
notebooks call).

Features come from the model's ``predict`` mode on ``all_frames`` samples:
``global_visual`` / ``global_audio`` ``(T, D)`` per clip (docs/interfaces.md).
Scores use the same strategies as :class:`~cavsync_mm.evaluation.metrics.
RetrievalMetric` (:func:`~cavsync_mm.evaluation.functional.score_matrix`).
"""
import copy
import json
import os
import os.path as osp
import tempfile
from dataclasses import dataclass, field
from typing import Dict, List, Sequence

import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate

from cavsync_mm.datasets.layout import VIDEO_EXTENSIONS
from cavsync_mm.evaluation.functional import score_matrix
from cavsync_mm.registry import DATASETS

DIRECTIONS = {
    # direction: (query modality, candidate modality)
    'v2a': ('global_visual', 'global_audio'),
    'a2v': ('global_audio', 'global_visual'),
}


@dataclass
class ClipFeatures:
    """Features of clips in one order: ``video_ids``, ``paths``,
    ``global_visual`` / ``global_audio`` ``(N, T, D)``, ``middle_frames``
    uint8 ``(N, 3, H, W)`` (for pictures) and ``data_samples`` (the model's
    outputs, e.g. with ``gt_frame_labels``)."""
    video_ids: List[str]
    paths: List[str]
    global_visual: torch.Tensor
    global_audio: torch.Tensor
    middle_frames: torch.Tensor
    frames: List[torch.Tensor] = field(default_factory=list)
    data_samples: list = field(default_factory=list)


def list_videos(folder: str,
                extensions: Sequence[str] = VIDEO_EXTENSIONS) -> List[str]:
    """Sorted video files under ``folder`` (recursively)."""
    if not osp.isdir(folder):
        raise FileNotFoundError(f'folder {folder} does not exist')
    videos = sorted(
        osp.join(root, name) for root, _, names in os.walk(folder)
        for name in names if name.lower().endswith(tuple(extensions)))
    if not videos:
        raise ValueError(f'folder {folder} holds no video '
                         f'({", ".join(extensions)})')
    return videos


def _video_ids(paths: Sequence[str]) -> List[str]:
    """File stems, made unique with the parent folder where they clash."""
    stems = [osp.splitext(osp.basename(p))[0] for p in paths]
    return [
        stem if stems.count(stem) == 1 else
        f'{osp.basename(osp.dirname(p))}/{stem}'
        for stem, p in zip(stems, paths)
    ]


def build_clip_dataset(cfg: Config, datafile: str, data_root: str = ''):
    """The config's test dataset, re-pointed at ``datafile`` with all
    frames per sample (and no labels)."""
    dataset_cfg = copy.deepcopy(cfg.test_dataloader.dataset)
    dataset_cfg.update(ann_file=datafile, data_root=data_root,
                       label_file=None, sampling='all_frames',
                       path_placeholder=None)
    return DATASETS.build(dataset_cfg)


@torch.no_grad()
def extract_clip_features(model,
                          dataset,
                          progress: bool = True,
                          keep_frames: bool = False) -> ClipFeatures:
    """Run ``model.test_step`` on every sample of ``dataset`` (one clip at a
    time) and stack the global tokens."""
    from tqdm import tqdm
    model.eval()
    visual, audio, middle, frames, samples, ids, paths = ([] for _ in
                                                          range(7))
    indices = range(len(dataset))
    for index in tqdm(indices, desc='extracting features', unit='clip',
                      disable=not progress):
        data = dataset[index]
        clip_frames = data['inputs']['frames']
        (output, ) = model.test_step(pseudo_collate([data]))
        video_id = output.metainfo.get('video_id', str(index))
        for key in ('global_visual', 'global_audio'):
            if key not in output:
                raise KeyError(f'clip {video_id}: the model wrote no {key!r} '
                               'in predict mode')
        visual.append(output.global_visual.detach().float().cpu())
        audio.append(output.global_audio.detach().float().cpu())
        middle.append(clip_frames[len(clip_frames) // 2])
        if keep_frames:
            frames.append(clip_frames)
        samples.append(output.cpu())
        ids.append(video_id)
        paths.append(dataset.get_data_info(index).get('video_file', ''))
    return ClipFeatures(ids, paths, torch.stack(visual), torch.stack(audio),
                        torch.stack(middle), frames, samples)


def extract_video_features(model, cfg: Config, paths: Sequence[str],
                           progress: bool = True,
                           keep_frames: bool = False) -> ClipFeatures:
    """Features of video files (raw-video layout, decoded by the config's
    test pipeline)."""
    ids = _video_ids(paths)
    entries = [dict(video=osp.abspath(p), video_id=i)
               for p, i in zip(paths, ids)]
    with tempfile.TemporaryDirectory() as tmp:
        datafile = osp.join(tmp, 'clips.json')
        with open(datafile, 'w') as f:
            json.dump(dict(data=entries), f)
        dataset = build_clip_dataset(cfg, datafile)
        features = extract_clip_features(model, dataset, progress,
                                         keep_frames)
    features.paths = [osp.abspath(p) for p in paths]
    return features


def rank_clips(features: ClipFeatures,
               query_index: int,
               direction: str = 'v2a',
               strategy: str = 'diagonal_mean',
               normalize: bool = True) -> List[Dict]:
    """Clips of ``features`` ordered by score for the clip ``query_index``.

    ``v2a`` ranks the clips' audio for the query's frames, ``a2v`` their
    frames for the query's audio. Ties keep the clips' order (stable sort,
    the metric's rule). Returns ``[{'rank', 'index', 'video_id', 'score'}]``.
    """
    if direction not in DIRECTIONS:
        raise ValueError(f'direction must be one of {tuple(DIRECTIONS)}, '
                         f'got {direction!r}')
    query_key, candidate_key = DIRECTIONS[direction]
    query = getattr(features, query_key)[query_index:query_index + 1]
    candidates = getattr(features, candidate_key)
    scores = score_matrix(query, candidates, strategy, normalize)[0]
    order = torch.sort(-scores, stable=True).indices
    return [
        dict(rank=rank + 1, index=int(i), video_id=features.video_ids[i],
             score=float(scores[i])) for rank, i in enumerate(order)
    ]


def retrieve(model,
             cfg: Config,
             query_clip: str,
             folder: str,
             directions: Sequence[str] = ('v2a', 'a2v'),
             strategy: str = 'diagonal_mean',
             progress: bool = True):
    """Rank every video of ``folder`` for ``query_clip`` in each direction.

    The query is ranked among the folder's clips (added to them when it is
    not inside the folder). Returns ``(features, query_index,
    {direction: ranking})`` with rankings as in :func:`rank_clips`.
    """
    if not osp.isfile(query_clip):
        raise FileNotFoundError(f'query clip {query_clip} does not exist')
    paths = list_videos(folder)
    query_path = osp.abspath(query_clip)
    absolute = [osp.abspath(p) for p in paths]
    if query_path in absolute:
        query_index = absolute.index(query_path)
    else:
        absolute.insert(0, query_path)
        query_index = 0
    features = extract_video_features(model, cfg, absolute, progress)
    rankings = {
        direction: rank_clips(features, query_index, direction, strategy)
        for direction in directions
    }
    return features, query_index, rankings
