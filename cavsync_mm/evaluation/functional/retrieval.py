"""Zero-shot cross-modal retrieval as pure tensor functions (paper Sec. 3.5.1).

Every clip gives ``T`` query tokens and ``T`` candidate tokens (one global
token per frame and per frame-aligned audio segment). The score of a
(query ``q``, candidate ``c``) pair comes from the ``T x T`` cosine-similarity
matrix ``S = Q_q C_c^T``:

- ``diagonal_mean`` (the paper's eq. 5, default): ``mean_t S_tt``
- ``diagonal_max``: ``max_t S_tt``
- ``block_mean``: the mean of all ``T * T`` entries
- ``block_max``: the largest of all ``T * T`` entries

No ``N x N x T x T`` tensor is ever built. With unit-norm tokens the two mean
strategies reduce to one matrix product over all clips:
``diagonal_mean = <flatten(Q_q), flatten(C_c)> / T`` and
``block_mean = <mean_t Q_q, mean_t C_c>``. The two max strategies are
computed on ``(query chunk) x (candidate chunk)`` blocks whose size is bounded
by ``block_bytes``.

Ground truth: query ``i`` belongs to candidate ``i`` (the two modalities of
the same clip). Only the ground-truth score and two counts per query are kept,
so ranking 100,000 clips needs memory for the features plus one block.

Tie rule (deterministic, documented in ``docs/retrieval.md``): candidates are
ordered by descending score and, among equal scores, by ascending clip index
(a stable sort over the dataset order). Hence::

    rank(i) = 1 + #{c : s(i, c) > s(i, i)} + #{c < i : s(i, c) == s(i, i)}
"""
import math
from typing import Dict, Iterator, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F

RETRIEVAL_STRATEGIES = ('diagonal_mean', 'diagonal_max', 'block_mean',
                        'block_max')
MEAN_STRATEGIES = ('diagonal_mean', 'block_mean')
_NORMALIZE_EPS = 1e-12  # F.normalize's default eps


def _check_strategy(strategy: str) -> None:
    if strategy not in RETRIEVAL_STRATEGIES:
        raise ValueError(f'unknown retrieval strategy {strategy!r}; choose '
                         f'one of {RETRIEVAL_STRATEGIES}')


def as_token_sequences(features: torch.Tensor, name: str = 'features'
                       ) -> torch.Tensor:
    """Return ``features`` as ``(N, T, D)``; single tokens ``(N, D)`` become
    ``T = 1`` (CAV-MAE-style single-token retrieval)."""
    if features.dim() == 2:
        return features[:, None, :]
    if features.dim() != 3:
        raise ValueError(f'{name} must be (N, T, D) or (N, D), got shape '
                         f'{tuple(features.shape)}')
    return features


def similarity_matrix(query_tokens: torch.Tensor,
                      candidate_tokens: torch.Tensor) -> torch.Tensor:
    """The paper's ``T x T`` matrix ``S = Q C^T`` of one pair, cosine
    similarities of the tokens (both ``(T, D)``)."""
    return F.normalize(query_tokens.float(), dim=-1) @ F.normalize(
        candidate_tokens.float(), dim=-1).T


def reduce_for_strategy(tokens: torch.Tensor, strategy: str) -> torch.Tensor:
    """Precompute what ``strategy`` needs from unit-norm ``(N, T, D)`` tokens.

    ``diagonal_mean`` -> ``(N, T * D)`` flattened tokens (a view: the dot
    product of two rows divided by ``T`` is the diagonal mean),
    ``block_mean`` -> ``(N, D)`` mean token, max strategies -> the tokens
    themselves.
    """
    _check_strategy(strategy)
    if strategy == 'diagonal_mean':
        return tokens.flatten(1)
    if strategy == 'block_mean':
        return tokens.mean(dim=1)
    return tokens


def score_block(queries: torch.Tensor, candidates: torch.Tensor,
                strategy: str, num_tokens: int) -> torch.Tensor:
    """Scores ``(Nq, Nc)`` of a block of queries against a block of
    candidates, both already passed through :func:`reduce_for_strategy`
    (``num_tokens`` = T of the original features)."""
    if strategy == 'diagonal_mean':
        return (queries @ candidates.T) / num_tokens
    if strategy == 'block_mean':
        return queries @ candidates.T
    if strategy == 'diagonal_max':
        # (T, Nq, D) @ (T, D, Nc) -> (T, Nq, Nc): S_tt for every pair
        diagonal = torch.bmm(queries.transpose(0, 1),
                             candidates.permute(1, 2, 0))
        return diagonal.amax(dim=0)
    if strategy == 'block_max':
        num_q, num_tokens, _ = queries.shape
        num_c = candidates.shape[0]
        full = queries.flatten(0, 1) @ candidates.flatten(0, 1).T
        # max over the query tokens first: a contiguous reduction, then the
        # candidate tokens (several times faster than amax(dim=(1, 3)))
        return full.view(num_q, num_tokens, num_c,
                         num_tokens).amax(dim=1).amax(dim=2)
    _check_strategy(strategy)
    raise AssertionError('unreachable')


def score_matrix(queries: torch.Tensor, candidates: torch.Tensor,
                 strategy: str = 'diagonal_mean',
                 normalize: bool = True) -> torch.Tensor:
    """All ``(Nq, Nc)`` scores at once (small sets only: used by the demo)."""
    queries = as_token_sequences(queries, 'queries').float()
    candidates = as_token_sequences(candidates, 'candidates').float()
    if normalize:
        queries = F.normalize(queries, dim=-1)
        candidates = F.normalize(candidates, dim=-1)
    return score_block(reduce_for_strategy(queries, strategy),
                       reduce_for_strategy(candidates, strategy), strategy,
                       queries.shape[1])


def block_elements(strategy: str, num_tokens: int) -> int:
    """Floats held per (query, candidate) pair while a block is scored."""
    if strategy == 'diagonal_max':
        return num_tokens + 1
    if strategy == 'block_max':
        return num_tokens * num_tokens + 1
    return 2  # the score plus the comparison masks


def chunk_size_for(strategy: str, num_tokens: int, block_bytes: int,
                   element_size: int = 4) -> int:
    """Side length of a square (query x candidate) block that fits
    ``block_bytes``."""
    pairs = block_bytes // (element_size * block_elements(strategy,
                                                          num_tokens))
    return max(1, int(math.isqrt(max(pairs, 1))))


def _reduce_in_chunks(tokens: torch.Tensor, strategy: str, normalize: bool,
                      chunk: int, dtype: torch.dtype,
                      check_name: Optional[str] = None) -> torch.Tensor:
    """Normalise and reduce ``tokens`` chunk by chunk, computing in ``dtype``
    and storing in the features' own dtype (float16 features stay float16).
    Without normalisation the diagonal and max strategies need no copy.

    With ``check_name`` the tokens are also refused if any clip holds NaN or
    inf (:func:`_raise_if_not_finite`, the message names ``check_name``).
    The check reads what the pass computes anyway: the per-token L2 norms of
    the normalisation (without normalisation, per-token sums), which are
    non-finite whenever a token holds NaN or inf.
    """
    copy = normalize or strategy == 'block_mean'
    if not copy and check_name is None:
        return reduce_for_strategy(tokens, strategy)
    parts, finite = [], []
    for start, end in _chunks(tokens.shape[0], chunk):
        part = tokens[start:end]
        if copy:
            part = part.to(dtype)
        if normalize:
            # F.normalize(part, dim=-1), the same operations bit for bit,
            # keeping the norms for the finiteness check
            norms = part.norm(2, -1, keepdim=True)
            part = part / norms.clamp_min(_NORMALIZE_EPS).expand_as(part)
            summary = norms
        else:
            summary = part.sum(dim=-1)
        if check_name is not None:
            finite.append(torch.isfinite(summary).flatten(1).all(dim=1))
        if copy:
            parts.append(reduce_for_strategy(part, strategy).to(tokens.dtype))
    if check_name is not None and finite:
        _raise_if_not_finite(tokens, check_name, torch.cat(finite), chunk)
    if not copy:
        return reduce_for_strategy(tokens, strategy)
    if not parts:  # no clips
        return reduce_for_strategy(tokens.to(dtype), strategy).to(tokens.dtype)
    return torch.cat(parts) if len(parts) > 1 else parts[0]


def _raise_if_not_finite(tokens: torch.Tensor, name: str,
                         summary_finite: torch.Tensor, chunk: int) -> None:
    """Refuse NaN / inf tokens, naming the first offending clip indices.

    A NaN score compares False with everything, so a NaN clip would be
    ranked first and R@1 would silently read 100 %. ``summary_finite``
    ``(N,)`` is False for every clip whose per-token norms or sums are not
    finite (always the case for a clip holding NaN or inf); only those clips
    are then checked element by element (finite tokens whose norm or sum
    overflows are not refused), chunk by chunk to keep the copy small.
    """
    suspects = (~summary_finite).nonzero().flatten()
    if not len(suspects):
        return
    bad = []
    for start, end in _chunks(len(suspects), chunk):
        clips = suspects[start:end]
        finite = torch.isfinite(tokens[clips]).flatten(1).all(dim=1)
        bad.append(clips[~finite])
    bad = torch.cat(bad)
    total = len(bad)
    if total:
        named = bad[:5].tolist()
        raise ValueError(
            f'retrieval {name}: {total} of {tokens.shape[0]} clips hold NaN '
            f'or inf features (clip indices {named}'
            f'{", ..." if total > len(named) else ""}); the model diverged or '
            'a clip decoded to garbage, and ranks would be meaningless')


def _chunks(total: int, size: int) -> Iterator[Tuple[int, int]]:
    for start in range(0, total, size):
        yield start, min(start + size, total)


def retrieval_ranks(queries: torch.Tensor,
                    candidates: torch.Tensor,
                    strategy: str = 'diagonal_mean',
                    normalize: bool = True,
                    num_queries: Optional[int] = None,
                    query_chunk_size: Optional[int] = None,
                    candidate_chunk_size: Optional[int] = None,
                    block_bytes: int = 256 * 2**20,
                    compute_dtype: torch.dtype = torch.float32,
                    progress: bool = False) -> torch.Tensor:
    """1-based rank of the ground-truth candidate ``i`` for each query ``i``.

    Args:
        queries, candidates: ``(N, T, D)`` (or ``(N, D)``) tokens of the same
            ``N`` clips in the same order, e.g. visual and audio global tokens
            for V->A. Any float dtype; blocks are computed in
            ``compute_dtype``.
        strategy: one of :data:`RETRIEVAL_STRATEGIES`.
        normalize: L2-normalise every token first (cosine similarities).
            Pass ``False`` only for features that are already unit norm.
        num_queries: rank only the first ``num_queries`` queries (still
            against all ``N`` candidates); used to time very large sets.
        query_chunk_size, candidate_chunk_size: block shape; by default a
            square block that fits ``block_bytes``.
        progress: show a progress bar over query chunks.

    Returns:
        LongTensor ``(num_queries or N,)`` of ranks (1 = retrieved first),
        ties broken by ascending candidate index (see module docstring).

    Raises:
        ValueError: fewer than 2 clips, mismatched shapes, or NaN / inf in
            the ranked queries or in the candidates (the message counts the
            clips and names the first five).
    """
    _check_strategy(strategy)
    queries = as_token_sequences(queries, 'queries')
    candidates = as_token_sequences(candidates, 'candidates')
    if queries.shape != candidates.shape:
        raise ValueError('queries and candidates must hold the same clips '
                         f'with the same token shape, got '
                         f'{tuple(queries.shape)} and '
                         f'{tuple(candidates.shape)}')
    num_clips, num_tokens, _ = queries.shape
    if num_clips < 2:
        raise ValueError(
            f'retrieval needs at least 2 clips, got {num_clips}: with '
            f'{"no candidate" if num_clips == 0 else "a single candidate"} '
            'every rank is trivially 1 and R@k would read 100 %. Check the '
            "evaluation set (ann_file, data_root) and the dataloader's "
            'skipped clips')
    num_queries = num_clips if num_queries is None else min(
        num_queries, num_clips)
    default_chunk = chunk_size_for(strategy, num_tokens, block_bytes)
    query_chunk = query_chunk_size or default_chunk
    candidate_chunk = candidate_chunk_size or default_chunk

    # NaN / inf features are refused with the clips named, queries first,
    # checked on the norms (or sums) the reduction computes anyway
    reduced_queries = _reduce_in_chunks(queries[:num_queries], strategy,
                                        normalize, candidate_chunk,
                                        compute_dtype, 'queries')
    reduced_candidates = _reduce_in_chunks(candidates, strategy, normalize,
                                           candidate_chunk, compute_dtype,
                                           'candidates')
    candidate_blocks = list(_chunks(num_clips, candidate_chunk))
    ranks = torch.empty(num_queries, dtype=torch.long)

    query_blocks = list(_chunks(num_queries, query_chunk))
    if progress:
        from tqdm import tqdm
        query_blocks = tqdm(query_blocks, desc=f'ranking ({strategy})',
                            unit='chunk')
    for q_start, q_end in query_blocks:
        block_queries = reduced_queries[q_start:q_end].to(compute_dtype)
        query_index = torch.arange(q_start, q_end)[:, None]
        # Blocks holding the ground truth are scored first, so that the
        # ground-truth score is taken from exactly the same computation as
        # the scores it is compared with.
        holds_truth = [(s, e) for s, e in candidate_blocks
                       if s < q_end and e > q_start]
        others = [(s, e) for s, e in candidate_blocks
                  if not (s < q_end and e > q_start)]
        truth_scores = torch.empty(q_end - q_start, dtype=compute_dtype)
        held = []
        for c_start, c_end in holds_truth:
            scores = score_block(
                block_queries,
                reduced_candidates[c_start:c_end].to(compute_dtype),
                strategy, num_tokens)
            first, last = max(q_start, c_start), min(q_end, c_end)
            rows = torch.arange(first, last)
            truth_scores[rows - q_start] = scores[rows - q_start,
                                                  rows - c_start]
            held.append((c_start, c_end, scores))
        higher = torch.zeros(q_end - q_start, dtype=torch.long)
        tied_before = torch.zeros(q_end - q_start, dtype=torch.long)

        def count(c_start, c_end, scores):
            truth = truth_scores[:, None]
            higher.add_((scores > truth).sum(dim=1))
            candidate_index = torch.arange(c_start, c_end)[None, :]
            tied_before.add_(((scores == truth)
                              & (candidate_index < query_index)).sum(dim=1))

        for c_start, c_end, scores in held:
            count(c_start, c_end, scores)
        del held
        for c_start, c_end in others:
            count(c_start, c_end, score_block(
                block_queries,
                reduced_candidates[c_start:c_end].to(compute_dtype),
                strategy, num_tokens))
        ranks[q_start:q_end] = 1 + higher + tied_before
    return ranks


def rank_summary(ranks: torch.Tensor,
                 recall_ks: Sequence[int] = (1, 5, 10)) -> Dict[str, float]:
    """R@k in percent, median rank (the mean of the two middle ranks for an
    even count, as ``numpy.median``) and mean rank of 1-based ``ranks``."""
    ranks = ranks.double()
    summary = {
        f'R@{k}': float((ranks <= k).double().mean() * 100)
        for k in recall_ks
    }
    summary['MedR'] = float(np.median(ranks.numpy()))
    summary['MeanR'] = float(ranks.mean())
    return summary
