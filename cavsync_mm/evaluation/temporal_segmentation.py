"""Intra-clip temporal segmentation from per-frame features (paper Sec. 11).

The T per-frame features of one clip (audio global tokens, visual global
tokens, or both concatenated) are clustered; a *segment* is a contiguous run
of frames with the same cluster label, so one cluster that appears twice in
time makes two segments. The paper adjusts the distance threshold of
agglomerative clustering until the wanted number of segments (5) appears and
falls back to k-means when no threshold gives it.

Threshold search: every clustering that a distance threshold can produce is
reached by a threshold between two successive merge heights of the full
agglomerative tree, so those midpoints are tried from the largest to the
smallest (from few segments to many) and the first one giving exactly
``num_segments`` runs wins. If none does, k-means with
``k = num_segments`` clusters decides the labels and its run count is kept
as is (it may differ from ``num_segments``).
"""
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
import torch

ArrayLike = Union[np.ndarray, torch.Tensor]
FEATURE_KINDS = ('audio', 'visual', 'audio_visual')


@dataclass
class TemporalSegmentation:
    """Result for one clip and one feature kind.

    ``cluster_labels`` (T,) the cluster of each frame; ``segment_ids`` (T,)
    the index of the contiguous run holding each frame (0, 1, ...);
    ``segments`` the runs as ``(start, end, cluster)`` with ``end``
    exclusive; ``method`` ``'agglomerative'`` or ``'kmeans'``;
    ``distance_threshold`` the threshold used (agglomerative only).
    """
    cluster_labels: np.ndarray
    segment_ids: np.ndarray
    segments: List[Tuple[int, int, int]] = field(default_factory=list)
    method: str = 'agglomerative'
    distance_threshold: Optional[float] = None

    @property
    def num_segments(self) -> int:
        return len(self.segments)


def contiguous_runs(labels: Sequence[int]) -> List[Tuple[int, int, int]]:
    """``(start, end, label)`` of each run of equal consecutive labels."""
    labels = np.asarray(labels)
    runs = []
    start = 0
    for t in range(1, len(labels) + 1):
        if t == len(labels) or labels[t] != labels[start]:
            runs.append((start, t, int(labels[start])))
            start = t
    return runs


def run_ids(labels: Sequence[int]) -> np.ndarray:
    """Index of the contiguous run holding each frame."""
    ids = np.zeros(len(labels), dtype=np.int64)
    for index, (start, end, _) in enumerate(contiguous_runs(labels)):
        ids[start:end] = index
    return ids


def _to_numpy(features: ArrayLike) -> np.ndarray:
    if isinstance(features, torch.Tensor):
        features = features.detach().float().cpu().numpy()
    return np.asarray(features, dtype=np.float64)


def _l2_normalize(features: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(features, axis=-1, keepdims=True)
    return features / np.maximum(norms, 1e-12)


def frame_features(audio: Optional[ArrayLike] = None,
                   visual: Optional[ArrayLike] = None,
                   kind: str = 'audio_visual') -> np.ndarray:
    """Per-frame ``(T, D)`` features of ``kind``: ``'audio'``, ``'visual'``
    or ``'audio_visual'`` (each modality L2-normalised, then concatenated and
    normalised again, so both weigh the same)."""
    if kind not in FEATURE_KINDS:
        raise ValueError(f'unknown feature kind {kind!r}; choose from '
                         f'{FEATURE_KINDS}')
    if kind in ('audio', 'audio_visual') and audio is None:
        raise ValueError(f'{kind} segmentation needs audio features')
    if kind in ('visual', 'audio_visual') and visual is None:
        raise ValueError(f'{kind} segmentation needs visual features')
    if kind == 'audio':
        return _l2_normalize(_to_numpy(audio))
    if kind == 'visual':
        return _l2_normalize(_to_numpy(visual))
    audio, visual = _to_numpy(audio), _to_numpy(visual)
    if audio.shape[0] != visual.shape[0]:
        raise ValueError(f'audio has {audio.shape[0]} frames but visual has '
                         f'{visual.shape[0]}')
    return _l2_normalize(
        np.concatenate([_l2_normalize(audio), _l2_normalize(visual)], -1))


def _candidate_thresholds(features: np.ndarray, linkage: str) -> np.ndarray:
    """Midpoints between successive merge heights of the full tree, largest
    first (few clusters first)."""
    from sklearn.cluster import AgglomerativeClustering
    tree = AgglomerativeClustering(n_clusters=1, linkage=linkage,
                                   compute_distances=True).fit(features)
    heights = np.unique(tree.distances_)
    if len(heights) == 0:
        return np.zeros(0)
    bounds = np.concatenate([[0.0], heights, [heights[-1] * 2 + 1.0]])
    return ((bounds[1:] + bounds[:-1]) / 2)[::-1]


def segment_frames(features: ArrayLike,
                   num_segments: int = 5,
                   linkage: str = 'ward',
                   normalize: bool = True,
                   seed: int = 0) -> TemporalSegmentation:
    """Split one clip's ``(T, D)`` per-frame features into contiguous
    segments (see the module docstring for the search and the fallback).

    Args:
        features: ``(T, D)`` per-frame features (e.g. from
            :func:`frame_features`).
        num_segments: the wanted number of contiguous segments (paper: 5).
        linkage: ``AgglomerativeClustering`` linkage (``'ward'``,
            ``'average'``, ``'complete'``, ``'single'``).
        normalize: L2-normalise each frame's feature first.
        seed: k-means seed of the fallback.
    """
    from sklearn.cluster import AgglomerativeClustering, KMeans
    features = _to_numpy(features)
    if features.ndim != 2:
        raise ValueError('features must be (T, D), got shape '
                         f'{features.shape}')
    num_frames = features.shape[0]
    if not 1 <= num_segments <= num_frames:
        raise ValueError(f'num_segments must be in 1..{num_frames} (the '
                         f'number of frames), got {num_segments}')
    if not np.isfinite(features).all():
        raise ValueError('features hold NaN or inf')
    if normalize:
        features = _l2_normalize(features)

    if num_frames >= 2:
        for threshold in _candidate_thresholds(features, linkage):
            labels = AgglomerativeClustering(
                n_clusters=None, distance_threshold=float(threshold),
                linkage=linkage).fit_predict(features)
            runs = contiguous_runs(labels)
            if len(runs) == num_segments:
                return TemporalSegmentation(labels, run_ids(labels), runs,
                                            'agglomerative', float(threshold))
    distinct = len(np.unique(features, axis=0))
    labels = KMeans(n_clusters=min(num_segments, distinct), n_init=10,
                    random_state=seed).fit_predict(features)
    return TemporalSegmentation(labels, run_ids(labels),
                                contiguous_runs(labels), 'kmeans', None)


def segment_agreement(predicted_labels: Sequence[int],
                      frame_labels: Sequence[int]) -> float:
    """Frame-level adjusted Rand index between the predicted segments and
    the ground-truth segments (both as contiguous runs: a class sounding
    twice makes two ground-truth segments; silent frames, label -1, form
    their own runs). 1 = the same partition of the T frames."""
    predicted_labels = np.asarray(predicted_labels)
    frame_labels = np.asarray(frame_labels)
    if predicted_labels.shape != frame_labels.shape:
        raise ValueError(f'{len(predicted_labels)} predicted frames vs '
                         f'{len(frame_labels)} ground-truth frames')
    from sklearn.metrics import adjusted_rand_score
    return float(
        adjusted_rand_score(run_ids(frame_labels), run_ids(predicted_labels)))


def segment_clip(audio: Optional[ArrayLike],
                 visual: Optional[ArrayLike],
                 num_segments: int = 5,
                 kinds: Sequence[str] = FEATURE_KINDS,
                 linkage: str = 'ward',
                 seed: int = 0) -> dict:
    """Segment one clip with each feature ``kind``; returns
    ``{kind: TemporalSegmentation}``."""
    return {
        kind: segment_frames(frame_features(audio, visual, kind),
                             num_segments=num_segments, linkage=linkage,
                             seed=seed)
        for kind in kinds
    }
