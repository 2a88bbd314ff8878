"""Zero-shot audio-visual retrieval metric (paper Sec. 3.5.1)."""
from typing import Dict, List, Optional, Sequence, Union

import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger

from cavsync_mm.registry import METRICS
from ..functional.retrieval import (RETRIEVAL_STRATEGIES, rank_summary,
                                    retrieval_ranks)

DIRECTIONS = {
    # name: (query field, candidate field)
    'v2a': ('global_visual', 'global_audio'),
    'a2v': ('global_audio', 'global_visual'),
}


@METRICS.register_module()
class RetrievalMetric(BaseMetric):
    """Recall@k, median and mean rank of cross-modal retrieval.

    Each data sample holds the clip's ``global_visual`` and ``global_audio``
    tokens, ``(T, D)`` (one per frame / frame-aligned audio segment, CAV-MAE
    Sync) or ``(D,)`` (a single token per clip, CAV-MAE). For the query ``q``
    and the candidate ``c`` the ``T x T`` cosine-similarity matrix
    ``S = V_q A_c^T`` (V->A; ``A_q V_c^T`` for A->V) is reduced by each
    ``strategy`` (``diagonal_mean`` = the paper's eq. 5). The correct
    candidate of a query is the same clip's other modality.

    Ties are broken by clip order (the dataset index): a candidate with the
    same score as the ground truth is ranked above it only if it comes
    earlier in the dataset. Results are ordered by ``sample_idx`` (when the
    data samples carry it) after gathering across ranks, so the metric does
    not depend on the number of processes.

    Args:
        strategies: similarity aggregations to report; the first one also
            gives the un-suffixed headline keys.
        directions: ``'v2a'`` (visual query, audio candidates) and/or
            ``'a2v'``.
        recall_ks: the k of R@k (percent).
        normalize: L2-normalise every token (cosine similarity, the paper).
        temporal_pooling: ``None`` keeps all T tokens; ``'mean'`` averages
            them into one token per clip first (single-token retrieval).
        block_bytes: memory bound of one score block (see
            :func:`~cavsync_mm.evaluation.functional.retrieval_ranks`).
        collect_device, prefix, collect_dir: as in
            :class:`mmengine.evaluator.BaseMetric`.

    Keys: ``{direction}_{strategy}_R@{k}``, ``..._MedR``, ``..._MeanR`` and,
    for the first strategy, ``{direction}_R@{k}``, e.g.
    ``retrieval/v2a_R@1``; ``num_clips``: the clips scored (after dropping
    duplicates, e.g. the stand-ins of skipped clips).
    """
    default_prefix = 'retrieval'

    def __init__(self,
                 strategies: Union[str, Sequence[str]] = ('diagonal_mean', ),
                 directions: Sequence[str] = ('v2a', 'a2v'),
                 recall_ks: Sequence[int] = (1, 5, 10),
                 normalize: bool = True,
                 temporal_pooling: Optional[str] = None,
                 block_bytes: int = 256 * 2**20,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 collect_dir: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix,
                         collect_dir=collect_dir)
        if isinstance(strategies, str):
            strategies = (strategies, )
        for strategy in strategies:
            if strategy not in RETRIEVAL_STRATEGIES:
                raise ValueError(f'RetrievalMetric: unknown strategy '
                                 f'{strategy!r}; choose from '
                                 f'{RETRIEVAL_STRATEGIES}')
        for direction in directions:
            if direction not in DIRECTIONS:
                raise ValueError(f'RetrievalMetric: unknown direction '
                                 f'{direction!r}; choose from '
                                 f'{tuple(DIRECTIONS)}')
        if temporal_pooling not in (None, 'mean'):
            raise ValueError("RetrievalMetric: temporal_pooling must be None "
                             f"or 'mean', got {temporal_pooling!r}")
        if not strategies or not directions or not recall_ks:
            raise ValueError('RetrievalMetric needs at least one strategy, '
                             'direction and recall k')
        self.strategies = tuple(strategies)
        self.directions = tuple(directions)
        self.recall_ks = tuple(int(k) for k in recall_ks)
        self.normalize = normalize
        self.temporal_pooling = temporal_pooling
        self.block_bytes = block_bytes

    def _tokens(self, data_sample: dict, field: str) -> torch.Tensor:
        video_id = data_sample.get('video_id', '?')
        if field not in data_sample:
            raise KeyError(f'clip {video_id}: the model wrote no {field!r} '
                           'into its data sample (RetrievalMetric needs '
                           'predict mode of a feature extractor)')
        tokens = torch.as_tensor(data_sample[field]).detach().float().cpu()
        if tokens.dim() == 1:
            tokens = tokens[None]
        if tokens.dim() != 2:
            raise ValueError(f'clip {video_id}: {field} must be (T, D) or '
                             f'(D,), got shape {tuple(tokens.shape)}')
        if not torch.isfinite(tokens).all():
            raise ValueError(f'clip {video_id}: {field} holds NaN or inf')
        if self.temporal_pooling == 'mean':
            tokens = tokens.mean(dim=0, keepdim=True)
        return tokens

    def process(self, data_batch, data_samples: Sequence) -> None:
        for data_sample in data_samples:
            if not isinstance(data_sample, dict):
                data_sample = data_sample.to_dict()
            self.results.append(
                dict(
                    sample_idx=data_sample.get('sample_idx'),
                    video_id=data_sample.get('video_id'),
                    global_visual=self._tokens(data_sample, 'global_visual'),
                    global_audio=self._tokens(data_sample, 'global_audio')))

    def _ordered(self, results: List[dict]) -> List[dict]:
        """Sort by dataset index and drop duplicates, when indices exist."""
        if any(r['sample_idx'] is None for r in results):
            return results
        unique = {}
        for result in results:
            unique.setdefault(int(result['sample_idx']), result)
        return [unique[i] for i in sorted(unique)]

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        results = self._ordered(results)
        shapes = {tuple(r[f].shape) for r in results
                  for f in ('global_visual', 'global_audio')}
        if len(shapes) != 1:
            raise ValueError('RetrievalMetric: every clip must give tokens '
                             f'of the same shape, got {sorted(shapes)}')
        features = {
            field: torch.stack([r[field] for r in results])
            for field in ('global_visual', 'global_audio')
        }
        logger = MMLogger.get_current_instance()
        logger.info(f'Retrieval over {len(results)} clips, tokens '
                    f'{shapes.pop()} per modality')
        metrics = {'num_clips': len(results)}
        for strategy_index, strategy in enumerate(self.strategies):
            for direction in self.directions:
                query_field, candidate_field = DIRECTIONS[direction]
                ranks = retrieval_ranks(
                    features[query_field], features[candidate_field],
                    strategy=strategy, normalize=self.normalize,
                    block_bytes=self.block_bytes)
                for name, value in rank_summary(ranks,
                                                self.recall_ks).items():
                    metrics[f'{direction}_{strategy}_{name}'] = value
                    if strategy_index == 0:
                        metrics[f'{direction}_{name}'] = value
        return metrics
