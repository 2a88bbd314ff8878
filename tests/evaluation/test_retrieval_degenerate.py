"""Degenerate inputs to ``retrieval_ranks`` fail loudly (issue 12, item 7):
an empty set, a single clip, and NaN / inf features used to give an
IndexError or a silent R@1 = 100 %."""
import pytest
import torch

from cavsync_mm.evaluation.functional import (RETRIEVAL_STRATEGIES,
                                              retrieval_ranks)


def pairs(num_clips, num_tokens=3, dim=8):
    generator = torch.Generator().manual_seed(0)
    return (torch.randn(num_clips, num_tokens, dim, generator=generator),
            torch.randn(num_clips, num_tokens, dim, generator=generator))


@pytest.mark.parametrize('num_clips', [0, 1])
def test_empty_set_and_single_clip_are_refused(num_clips):
    visual, audio = pairs(num_clips)
    with pytest.raises(ValueError, match=f'at least 2 clips, got {num_clips}'):
        retrieval_ranks(visual, audio)


@pytest.mark.parametrize('bad', [float('nan'), float('inf'), -float('inf')])
@pytest.mark.parametrize('strategy', RETRIEVAL_STRATEGIES)
def test_non_finite_features_name_the_clips(bad, strategy):
    visual, audio = pairs(12)
    # before the check, a NaN query ranked its own clip first (R@1 = 100 %)
    visual[7, 1, 2] = bad
    with pytest.raises(ValueError, match=r'queries: 1 of 12 clips hold NaN '
                       r'or inf features \(clip indices \[7\]\)'):
        retrieval_ranks(visual, audio, strategy)
    visual[7, 1, 2] = 0.
    audio[[2, 9]] = bad
    with pytest.raises(ValueError, match=r'candidates: 2 of 12 clips .* '
                       r'\[2, 9\]'):
        retrieval_ranks(visual, audio, strategy, block_bytes=64)


def test_two_clips_still_rank():
    eye = torch.eye(2)[:, None, :]
    assert retrieval_ranks(eye, eye).tolist() == [1, 1]
    assert retrieval_ranks(eye, eye.flip(0)).tolist() == [2, 2]


def test_many_non_finite_clips_are_counted_and_the_first_five_named():
    """Counted over every chunk (block_bytes=64: chunks of 2 clips), the
    first five indices named, then '...'."""
    visual, audio = pairs(12)
    audio[[0, 1, 2, 3, 4, 5, 6, 9]] = float('nan')
    with pytest.raises(ValueError, match=r'candidates: 8 of 12 clips hold NaN '
                       r'or inf features \(clip indices \[0, 1, 2, 3, 4\], '
                       r'\.\.\.\); '):
        retrieval_ranks(visual, audio, block_bytes=64)
    audio = pairs(12)[1]
    audio[[3, 5, 6, 9, 11]] = float('inf')
    with pytest.raises(ValueError, match=r'5 of 12 clips .*\[3, 5, 6, 9, 11\]'
                       r'\); '):
        retrieval_ranks(visual, audio, block_bytes=64)


@pytest.mark.parametrize('strategy', RETRIEVAL_STRATEGIES)
@pytest.mark.parametrize('normalize', [True, False])
def test_non_finite_found_without_normalisation_and_in_float16(
        strategy, normalize):
    """The check reads the per-token norms (normalising) or sums (not
    normalising): -inf in a max strategy, where a score could stay finite,
    and inf in float16 storage are refused all the same."""
    visual, audio = pairs(12)
    visual[4, 0, 1] = -float('inf')
    with pytest.raises(ValueError, match=r'queries: 1 of 12 clips .*\[4\]\)'):
        retrieval_ranks(visual, audio, strategy, normalize=normalize)
    visual[4, 0, 1] = 0.
    half = audio.half()
    half[[1, 10], 2, 7] = float('inf')
    with pytest.raises(ValueError, match=r'candidates: 2 of 12 .*\[1, 10\]'):
        retrieval_ranks(visual.half(), half, strategy, normalize=normalize,
                        block_bytes=64)


@pytest.mark.parametrize('normalize', [True, False])
def test_finite_tokens_whose_norm_overflows_are_not_refused(normalize):
    """Finite but huge tokens (norm or sum overflow float32) are finite
    features: ranked, as a per-element check would, not refused."""
    visual, audio = pairs(6)
    visual[2] = 3e38
    ranks = retrieval_ranks(visual, audio, normalize=normalize)
    assert ranks.shape == (6, )
    visual[3, 0, 0] = float('nan')  # a real NaN beside them is still named
    with pytest.raises(ValueError, match=r'queries: 1 of 6 clips .*\[3\]\)'):
        retrieval_ranks(visual, audio, normalize=normalize)


def test_only_the_ranked_queries_are_checked():
    visual, audio = pairs(12)
    visual[10] = float('nan')
    assert retrieval_ranks(visual, audio, num_queries=5).shape == (5, )
    with pytest.raises(ValueError, match=r'queries: 1 of 11 clips .*\[10\]'):
        retrieval_ranks(visual, audio, num_queries=11)
