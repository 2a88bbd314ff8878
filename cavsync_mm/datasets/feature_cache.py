"""Frozen backbone features computed once and cached on disk, for fast probing.

Linear probing trains only the head, so the frozen backbone's per-frame
tokens of every clip can be computed once (:func:`build_feature_cache`,
``tools/analysis_tools/build_feature_cache.py``) and read back by
:class:`CachedFeatureDataset`. A cache folder holds::

    index.json            metainfo (classes, num_classes, num_frames, tokens,
                          embed_dims, source) and one entry per clip:
                          {"video_id", "features": "<stem>.npz", "gt_label": [...]}
    <stem>.npz            (stem = the video id made safe as a file name by
                          cavsync_mm.datasets.layout.safe_video_id)
                          for each token type t in ('global', 'register', 'patch'):
                          t_audio, t_visual  (T, D)

Mixup mixes waveforms and frames, so it cannot act on cached features: a
cached probe trains without mixup (configs/cavsync/benchmarks/vit-toy_cached-temporal-probe_toy.py).
"""
import json
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.dataset import BaseDataset
from tqdm import tqdm

from cavsync_mm.registry import DATASETS
from cavsync_mm.models.classifiers.probe_tokens import (TOKEN_TYPES,
                                                        check_probe_choice)
from cavsync_mm.structures import AVDataSample
from .layout import safe_video_id

INDEX_FILE = 'index.json'


def _clip_tokens(model, audio: torch.Tensor, frames: torch.Tensor,
                 tokens: Sequence[str], feature_source: str = 'encoder'
                 ) -> Dict[str, torch.Tensor]:
    """``{f'{token}_{modality}': (N, T, D)}`` for all-frames inputs."""
    from cavsync_mm.models.classifiers import probe_tokens
    batch, num_frames = audio.shape[:2]
    features = model.backbone(audio.flatten(0, 1), frames.flatten(0, 1))
    out = {}
    for token in tokens:
        audio_tokens, visual_tokens = probe_tokens(features, token,
                                                   feature_source)
        out[f'{token}_audio'] = audio_tokens.reshape(batch, num_frames, -1)
        out[f'{token}_visual'] = visual_tokens.reshape(batch, num_frames, -1)
    return out


def with_checkpoint(model_cfg: dict, checkpoint: str) -> dict:
    """A probing classifier config whose encoder loads ``checkpoint`` (a
    pretraining checkpoint: ``backbone.`` keys unless the config's
    ``init_cfg`` names another prefix)."""
    backbone = dict(model_cfg['backbone'])
    init_cfg = dict(backbone.get('init_cfg') or {})
    init_cfg.setdefault('prefix', 'backbone.')
    init_cfg.update(type='Pretrained', checkpoint=str(checkpoint))
    return dict(model_cfg, backbone=dict(backbone, init_cfg=init_cfg))


@torch.no_grad()
def build_feature_cache(model, dataloader, out_dir: str,
                        tokens: Sequence[str] = ('global', 'patch'),
                        dtype: str = 'float32', overwrite: bool = False,
                        source: Optional[dict] = None,
                        feature_source: str = 'encoder') -> str:
    """Run ``model``'s encoder over ``dataloader`` and cache the tokens.

    ``model`` has a ``data_preprocessor`` and an ``AudioVisualEncoder`` as
    ``backbone``: a probing ``AudioVisualClassifier`` (as the tool builds
    it) or a ``CAVMAESync``.

    The dataloader must serve all-frames samples (``sampling='all_frames'``).
    Writes ``out_dir/index.json`` and one npz per clip; returns the index
    path. An existing index is never overwritten unless ``overwrite``.

    Args:
        tokens: token types to store (``'register'`` needs registers).
        dtype: ``'float32'`` or ``'float16'`` (halves the disk size).
        source: free-form provenance stored in the index (config, checkpoint).
        feature_source: ``'encoder'`` (release: the modality encoders'
            outputs) or ``'joint'`` (after the joint block), as the
            classifier's ``feature_source``.
    """
    unknown = set(tokens) - set(TOKEN_TYPES)
    if unknown:
        raise ValueError(f'unknown token types {sorted(unknown)}; choose '
                         f'from {TOKEN_TYPES}')
    index_path = osp.join(out_dir, INDEX_FILE)
    if osp.exists(index_path) and not overwrite:
        raise FileExistsError(f'{index_path} exists; pass overwrite=True '
                              '(--overwrite) to rebuild the cache')
    os.makedirs(out_dir, exist_ok=True)
    model.eval()
    entries, seen, stems = [], set(), {}
    dataset = dataloader.dataset
    metainfo = dict(getattr(dataset, 'metainfo', {}) or {})
    num_frames = embed_dims = None
    for batch in tqdm(dataloader, desc=f'caching features -> {out_dir}',
                      unit='batch'):
        data = model.data_preprocessor(batch, False)
        audio, frames = data['inputs']['audio'], data['inputs']['frames']
        if audio.dim() != 4:
            raise ValueError("the feature cache needs all-frames samples "
                             "(dataset sampling='all_frames'); got audio "
                             f'{tuple(audio.shape)}')
        features = _clip_tokens(model, audio, frames, tokens, feature_source)
        num_frames = audio.shape[1]
        embed_dims = features[f'{tokens[0]}_audio'].shape[-1]
        for k, sample in enumerate(data['data_samples']):
            video_id = str(sample.metainfo.get('video_id', len(entries)))
            if video_id in seen:
                raise ValueError(f'clip {video_id}: video_id appears twice '
                                 'in the dataset; cache files are named by it')
            seen.add(video_id)
            stem = safe_video_id(video_id)
            if stem in stems:
                raise ValueError(
                    f'clips {stems[stem]!r} and {video_id!r}: both video ids '
                    f'become the cache file name {stem}.npz; rename one')
            stems[stem] = video_id
            file_name = f'{stem}.npz'
            arrays = {key: value[k].cpu().numpy().astype(dtype)
                      for key, value in features.items()}
            np.savez(osp.join(out_dir, file_name), **arrays)
            label = sample.gt_label.tolist() if 'gt_label' in sample else []
            entries.append(dict(video_id=video_id, features=file_name,
                                gt_label=label))
    metainfo.update(num_frames=num_frames, embed_dims=embed_dims,
                    tokens=list(tokens), source=source or {},
                    feature_source=feature_source)
    with open(index_path, 'w') as f:
        json.dump(dict(metainfo=_json_safe(metainfo), data_list=entries), f,
                  indent=1)
    return index_path


def _json_safe(value):
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


@DATASETS.register_module()
class CachedFeatureDataset(BaseDataset):
    """Per-clip ``(T, C)`` token sequences read from a feature cache.

    A sample is ``{'inputs': {'features': (T, C)}, 'data_samples':
    AVDataSample}`` with ``gt_label`` / ``gt_score``; use it with
    ``collate_fn=dict(type='default_collate')`` and a plain
    ``BaseDataPreprocessor``.

    Args:
        ann_file: the cache's ``index.json``.
        modality: ``'audio_visual'`` (``[audio ; visual]``, 2 D wide),
            ``'audio'`` or ``'visual'``.
        token: ``'global'``, ``'register'`` or ``'patch'``.
        modality_order: ``'audio_first'`` (release) or ``'visual_first'``.
    """

    def __init__(self, ann_file: str, modality: str = 'audio_visual',
                 token: str = 'global', modality_order: str = 'audio_first',
                 **kwargs):
        check_probe_choice(modality, token, order=modality_order)
        self.modality = modality
        self.token = token
        self.modality_order = modality_order
        super().__init__(ann_file=ann_file, **kwargs)

    def load_data_list(self) -> List[dict]:
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(
                f'feature cache index {self.ann_file} not found; build it '
                'with tools/analysis_tools/build_feature_cache.py')
        with open(self.ann_file) as f:
            index = json.load(f)
        metainfo = index.get('metainfo', {})
        if self.token not in metainfo.get('tokens', []):
            raise ValueError(f'{self.ann_file}: token {self.token!r} is not '
                             f'cached (cached: {metainfo.get("tokens")})')
        self._metainfo.update(metainfo)
        folder = osp.dirname(self.ann_file)
        for entry in index['data_list']:
            stem, extension = osp.splitext(str(entry['features']))
            if extension != '.npz' or safe_video_id(stem) != stem:
                raise ValueError(
                    f"{self.ann_file}: clip {entry.get('video_id')}: field "
                    f"'features' is {entry['features']!r}, not a plain file "
                    'name inside the cache folder; rebuild the cache with '
                    'tools/analysis_tools/build_feature_cache.py')
        return [dict(entry, features=osp.join(folder, entry['features']))
                for entry in index['data_list']]

    def get_cat_ids(self, idx: int) -> List[int]:
        return list(self.get_data_info(idx)['gt_label'])

    def prepare_data(self, idx: int) -> dict:
        from cavsync_mm.models.classifiers import combine_modalities
        info = self.get_data_info(idx)
        try:
            with np.load(info['features']) as arrays:
                audio = torch.from_numpy(arrays[f'{self.token}_audio'])
                visual = torch.from_numpy(arrays[f'{self.token}_visual'])
        except (OSError, KeyError, ValueError) as err:
            raise ValueError(f"clip {info['video_id']}: field 'features': "
                             f"cannot read {info['features']}: {err}") from err
        features = combine_modalities(audio.float(), visual.float(),
                                      self.modality, self.modality_order)
        sample = AVDataSample(metainfo=dict(
            video_id=info['video_id'],
            num_frames=features.shape[0],
            num_classes=self.metainfo.get('num_classes')))
        sample.set_gt_label(info['gt_label'])
        return dict(inputs=dict(features=features), data_samples=sample)
