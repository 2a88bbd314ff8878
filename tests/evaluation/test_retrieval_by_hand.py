"""Retrieval ranking (paper Sec. 3.5.1, eq. 5 and the three other
aggregations) against a per-pair numpy computation written from the paper,
with exact ties, unnormalised features, chunk sizes and summaries."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from paper_math import recall_at, retrieval_rank

from cavsync_mm.evaluation.functional import (RETRIEVAL_STRATEGIES,
                                              rank_summary, retrieval_ranks)
from cavsync_mm.evaluation.functional.retrieval import (
    _reduce_in_chunks, as_token_sequences, block_elements, chunk_size_for,
    score_matrix, similarity_matrix)

AGGREGATE = {
    'diagonal_mean': lambda m: np.mean(np.diag(m)),
    'diagonal_max': lambda m: np.max(np.diag(m)),
    'block_mean': np.mean,
    'block_max': np.max,
}


def pair_scores(queries, candidates, strategy, normalize=True):
    """scores[q, c] = aggregate of the T x T matrix S = Q_q C_c^T."""
    q, c = np.asarray(queries, np.float64), np.asarray(candidates, np.float64)
    if normalize:
        q = q / np.linalg.norm(q, axis=-1, keepdims=True)
        c = c / np.linalg.norm(c, axis=-1, keepdims=True)
    return np.array([[AGGREGATE[strategy](q[i] @ c[j].T)
                      for j in range(len(c))] for i in range(len(q))])


def integer_tokens(n=9, t=3, d=4, seed=0):
    """Small integer tokens: many exactly equal scores (ties) in float32."""
    rng = np.random.default_rng(seed)
    visual = rng.integers(0, 2, (n, t, d)).astype(np.float32)
    audio = rng.integers(0, 2, (n, t, d)).astype(np.float32)
    audio[3] = audio[1]            # two identical candidates
    visual[visual.sum(-1) == 0] = 1  # no zero tokens (cosine defined)
    audio[audio.sum(-1) == 0] = 1
    return torch.from_numpy(visual), torch.from_numpy(audio)


@pytest.mark.parametrize('strategy', RETRIEVAL_STRATEGIES)
@pytest.mark.parametrize('normalize', [True, False])
def test_scores_and_ranks_equal_the_per_pair_computation(strategy, normalize):
    generator = torch.Generator().manual_seed(4)
    visual = torch.randn(7, 3, 5, generator=generator) * torch.linspace(
        0.3, 4, 7)[:, None, None]
    audio = visual + 2 * torch.randn(7, 3, 5, generator=generator)
    expected = pair_scores(visual, audio, strategy, normalize)
    scores = score_matrix(visual, audio, strategy, normalize=normalize)
    np.testing.assert_allclose(scores.numpy(), expected, rtol=1e-5, atol=1e-5)
    ranks = retrieval_ranks(visual, audio, strategy, normalize=normalize,
                            query_chunk_size=3, candidate_chunk_size=2)
    assert ranks.tolist() == [retrieval_rank(expected[i], i) for i in range(7)]


@pytest.mark.parametrize('strategy', RETRIEVAL_STRATEGIES)
def test_exact_ties_rank_by_ascending_index_across_chunks(strategy):
    visual, audio = integer_tokens()
    expected_scores = pair_scores(visual, audio, strategy)
    expected = [retrieval_rank(expected_scores[i], i) for i in range(9)]
    ties = sum(int((np.isclose(row, row[i])).sum() > 1)
               for i, row in enumerate(expected_scores))
    assert ties >= 2  # the data do tie
    for q_chunk, c_chunk in ((9, 9), (2, 3), (4, 1), (1, 4), (9, 5)):
        ranks = retrieval_ranks(visual, audio, strategy,
                                query_chunk_size=q_chunk,
                                candidate_chunk_size=c_chunk)
        assert ranks.tolist() == expected, (q_chunk, c_chunk)
    # float16 storage, float32 compute: the ranks of the float16 values
    # (query blocks of 3: blocks with and without the ground truth)
    half = retrieval_ranks(visual.half(), audio.half(), strategy,
                           query_chunk_size=3, candidate_chunk_size=4)
    assert half.tolist() == expected
    # float64 compute: the ground-truth score is a float64 too (a float32
    # copy of it would break the exact ties of clips 1 and 3)
    double = retrieval_ranks(visual, audio, strategy, query_chunk_size=3,
                             candidate_chunk_size=4,
                             compute_dtype=torch.float64)
    assert double.tolist() == expected


def test_single_tokens_num_queries_and_bad_input():
    visual, audio = integer_tokens()
    flat_v, flat_a = visual[:, 0], audio[:, 0]
    assert as_token_sequences(flat_v).shape == (9, 1, 4)
    scores = pair_scores(flat_v[:, None], flat_a[:, None], 'diagonal_mean')
    expected = [retrieval_rank(scores[i], i) for i in range(9)]
    assert retrieval_ranks(flat_v, flat_a).tolist() == expected
    assert retrieval_ranks(flat_v, flat_a, num_queries=4).tolist() == expected[:4]
    assert retrieval_ranks(flat_v, flat_a, num_queries=50).tolist() == expected
    q, c = visual[0].double().numpy(), audio[2].double().numpy()
    cosines = (q @ c.T) / np.outer(np.linalg.norm(q, axis=1),
                                   np.linalg.norm(c, axis=1))
    np.testing.assert_allclose(similarity_matrix(visual[0], audio[2]).numpy(),
                               cosines, rtol=1e-6)
    with pytest.raises(ValueError, match=r'\(N, T, D\) or \(N, D\)'):
        as_token_sequences(torch.zeros(2, 3, 4, 5))
    with pytest.raises(ValueError, match='same clips'):
        retrieval_ranks(visual, audio[:5])
    with pytest.raises(ValueError, match='unknown retrieval strategy'):
        retrieval_ranks(visual, audio, 'diagonal_median')


@pytest.mark.parametrize('strategy', RETRIEVAL_STRATEGIES)
@pytest.mark.parametrize('tokens', [1, 16])
def test_block_size_fits_the_memory_bound(strategy, tokens):
    """The square block side s is the largest with s^2 pairs x (floats per
    pair) x 4 bytes <= block_bytes (floats per pair: the T diagonal entries
    or T x T block entries for the max strategies, plus the score)."""
    per_pair = {'diagonal_max': tokens + 1, 'block_max': tokens * tokens + 1}.get(
        strategy, 2)
    assert block_elements(strategy, tokens) == per_pair
    for block_bytes in (256 * 2**20, 10_000, 8):
        side = chunk_size_for(strategy, tokens, block_bytes)
        if block_bytes >= 4 * per_pair:
            assert side * side * per_pair * 4 <= block_bytes
            assert (side + 1) ** 2 * per_pair * 4 > block_bytes
        else:
            assert side == 1


def test_rank_summary_by_hand():
    ranks = torch.tensor([1, 3, 2, 7, 1, 12])
    summary = rank_summary(ranks, recall_ks=(1, 2, 5))
    plain = ranks.tolist()
    assert summary == pytest.approx({
        'R@1': recall_at(plain, 1), 'R@2': recall_at(plain, 2),
        'R@5': recall_at(plain, 5), 'MedR': 2.5, 'MeanR': 26 / 6})
    assert summary['R@1'] == pytest.approx(100 * 2 / 6)
    odd = rank_summary(torch.tensor([4, 1, 9]))
    assert (odd['MedR'], odd['R@1'], odd['R@5'], odd['R@10']) == \
        (4.0, pytest.approx(100 / 3), pytest.approx(200 / 3), 100.0)


def test_defaults_dtype_progress_and_messages(capsys):
    visual, audio = integer_tokens()
    scores = pair_scores(visual, audio, 'diagonal_mean')
    # score_matrix: eq. 5 on cosine similarities unless told otherwise
    np.testing.assert_allclose(score_matrix(visual, audio).numpy(), scores,
                               rtol=1e-5, atol=1e-6)
    ranks = retrieval_ranks(visual, audio)
    assert ranks.dtype == torch.long
    assert capsys.readouterr().err == ''  # no progress bar by default
    shown = retrieval_ranks(visual, audio, 'block_max', progress=True,
                            query_chunk_size=4)
    assert shown.tolist() == retrieval_ranks(visual, audio, 'block_max').tolist()
    assert 'ranking (block_max)' in capsys.readouterr().err
    bad = torch.zeros(2, 3, 4, 5)
    for call, name in ((lambda: as_token_sequences(bad), 'features'),
                       (lambda: score_matrix(bad, bad), 'queries'),
                       (lambda: score_matrix(visual, bad), 'candidates'),
                       (lambda: retrieval_ranks(bad, bad), 'queries'),
                       (lambda: retrieval_ranks(visual, bad), 'candidates')):
        with pytest.raises(ValueError, match=f'^{name} must be '):
            call()
    from cavsync_mm.evaluation.functional.retrieval import score_block
    with pytest.raises(ValueError, match="'diagonal_median'"):
        score_block(visual, audio, 'diagonal_median', 3)


def test_reduce_computes_in_compute_dtype_and_stores_in_feature_dtype():
    """float16 features are normalised in float32 and kept as float16."""
    visual, _ = integer_tokens()
    half = (visual * torch.linspace(0.5, 7, 4)).half()
    for strategy in RETRIEVAL_STRATEGIES:
        out = _reduce_in_chunks(half, strategy, True, 4, torch.float32)
        unit = F.normalize(half.float(), dim=-1)
        expected = {'diagonal_mean': unit.flatten(1),
                    'block_mean': unit.mean(dim=1)}.get(strategy, unit)
        assert out.dtype == torch.float16
        assert torch.equal(out, expected.half()), strategy
    # float16 arithmetic rounds differently: the test can tell
    assert not torch.equal(F.normalize(half, dim=-1).flatten(1),
                           F.normalize(half.float(), dim=-1).half().flatten(1))


def test_default_blocks_follow_block_bytes_and_strategy(capsys):
    """The progress bar counts the query blocks: block_max with T = 3 holds
    T * T + 1 = 10 floats a pair, so 160 bytes fit 2 x 2 pairs and 9 queries
    take 5 blocks; diagonal_max (T + 1 = 4 floats) 3 of 3, the mean
    strategies (2 floats a pair) 3 of 4."""
    visual, audio = integer_tokens()
    for strategy, blocks in (('block_max', 5), ('diagonal_max', 3),
                             ('diagonal_mean', 3)):
        ranks = retrieval_ranks(visual, audio, strategy, block_bytes=160,
                                progress=True)
        assert ranks.tolist() == retrieval_ranks(visual, audio,
                                                 strategy).tolist()
        shown = capsys.readouterr().err
        assert f'ranking ({strategy}): 100%' in shown
        assert f' {blocks}/{blocks} ' in shown and 'chunk/s' in shown, shown


def direct_ranks(queries, candidates, strategy, normalize=True):
    """The straightforward computation in float32: normalise every token
    (``F.normalize``; block_mean: then the mean token), kept in the
    features' dtype, all N x N scores as one product, then the documented
    rank formula with ties broken by ascending index."""
    q, c = queries.float(), candidates.float()
    if normalize:
        q, c = F.normalize(q, dim=-1), F.normalize(c, dim=-1)
    num, tokens, _ = q.shape
    if strategy == 'block_mean':
        q, c = q.mean(dim=1), c.mean(dim=1)
    # stored as the features are (float16 stays float16), computed in float32
    q, c = q.to(queries.dtype).float(), c.to(candidates.dtype).float()
    if strategy == 'diagonal_mean':
        scores = (q.flatten(1) @ c.flatten(1).T) / tokens
    elif strategy == 'block_mean':
        scores = q @ c.T
    elif strategy == 'diagonal_max':
        scores = torch.bmm(q.transpose(0, 1), c.permute(1, 2, 0)).amax(dim=0)
    else:
        scores = (q.flatten(0, 1) @ c.flatten(0, 1).T).view(
            num, tokens, num, tokens).amax(dim=(1, 3))
    truth = scores.diagonal()[:, None]
    index = torch.arange(num)
    return 1 + (scores > truth).sum(dim=1) + (
        (scores == truth) & (index[None, :] < index[:, None])).sum(dim=1)


@pytest.mark.parametrize('strategy', RETRIEVAL_STRATEGIES)
@pytest.mark.parametrize('normalize', [True, False])
def test_ranks_are_bit_identical_to_the_direct_computation(strategy,
                                                           normalize):
    """Default blocks (one block for these sizes): exactly the ranks of the
    direct computation, for spread-out ranks, exact ties and float16
    storage, in both directions."""
    generator = torch.Generator().manual_seed(7)
    visual = torch.randn(300, 8, 64, generator=generator) * torch.linspace(
        0.2, 5, 300)[:, None, None]
    audio = visual + 6 * torch.randn(visual.shape, generator=generator)
    tied = integer_tokens()
    for queries, candidates in ((visual, audio), (audio, visual), tied,
                                (visual.half(), audio.half())):
        expected = direct_ranks(queries, candidates, strategy, normalize)
        ranks = retrieval_ranks(queries, candidates, strategy,
                                normalize=normalize)
        assert torch.equal(ranks, expected), strategy
    assert direct_ranks(visual, audio, strategy, normalize).float().std() > 10
