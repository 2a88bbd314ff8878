"""RetrievalMetric and the retrieval functions against an independent
per-pair loop, hand-built ranks, chunking and real 2-process gathering."""
import os
import socket

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from cavsync_mm.evaluation.functional import (RETRIEVAL_STRATEGIES,
                                              rank_summary, retrieval_ranks)
from cavsync_mm.evaluation.metrics import RetrievalMetric
from cavsync_mm.registry import METRICS
from cavsync_mm.structures import AVDataSample
from tool_loader import load_script


def brute_force_ranks(queries, candidates, strategy):
    """Authors'-style loop: one T x T matrix per (query, candidate) pair,
    float64, then a stable descending sort of each query's scores."""
    queries = queries.double() / queries.double().norm(dim=-1, keepdim=True)
    candidates = candidates.double() / candidates.double().norm(
        dim=-1, keepdim=True)
    ranks = []
    for q in range(len(queries)):
        scores = []
        for c in range(len(candidates)):
            matrix = queries[q] @ candidates[c].T
            scores.append({
                'diagonal_mean': matrix.diagonal().mean(),
                'diagonal_max': matrix.diagonal().max(),
                'block_mean': matrix.mean(),
                'block_max': matrix.max(),
            }[strategy].item())
        order = sorted(range(len(scores)), key=lambda c: -scores[c])
        ranks.append(order.index(q) + 1)
    return torch.tensor(ranks)


def random_pairs(num_clips=50, num_tokens=4, dim=16, seed=0):
    generator = torch.Generator().manual_seed(seed)
    visual = torch.randn(num_clips, num_tokens, dim, generator=generator)
    # audio correlated with visual so that ranks spread over 1..N
    audio = visual + 4.0 * torch.randn(num_clips, num_tokens, dim,
                                       generator=generator)
    return visual, audio


def samples_for(visual, audio, indices=None):
    indices = range(len(visual)) if indices is None else indices
    return [
        dict(sample_idx=i, video_id=f'clip{i}', global_visual=visual[i],
             global_audio=audio[i]) for i in indices
    ]


@pytest.mark.parametrize('strategy', RETRIEVAL_STRATEGIES)
def test_ranks_match_brute_force_both_directions(strategy):
    visual, audio = random_pairs()
    for queries, candidates in ((visual, audio), (audio, visual)):
        expected = brute_force_ranks(queries, candidates, strategy)
        ranks = retrieval_ranks(queries, candidates, strategy)
        assert torch.equal(ranks, expected)
    assert expected.max() > 10  # the check covers deep ranks too


@pytest.mark.parametrize('strategy', RETRIEVAL_STRATEGIES)
def test_chunked_equals_unchunked(strategy):
    visual, audio = random_pairs(num_clips=47, seed=3)
    whole = retrieval_ranks(visual, audio, strategy,
                            query_chunk_size=1000, candidate_chunk_size=1000)
    for q_chunk, c_chunk in ((7, 5), (5, 7), (1, 47), (16, 3)):
        chunked = retrieval_ranks(visual, audio, strategy,
                                  query_chunk_size=q_chunk,
                                  candidate_chunk_size=c_chunk)
        assert torch.equal(chunked, whole)
    # a tiny memory bound gives tiny blocks and the same ranks
    assert torch.equal(
        retrieval_ranks(visual, audio, strategy, block_bytes=2048), whole)
    # ranking only the first queries gives their ranks against all clips
    assert torch.equal(
        retrieval_ranks(visual, audio, strategy, num_queries=9), whole[:9])


def test_known_ranks_with_documented_tie_rule():
    """Identity-like tokens: exact scores, so the ranks are known."""
    eye = torch.eye(4)
    # clip 0 and clip 1 have identical audio; clip 2's visual matches clip
    # 3's audio better than its own; clip 3 is perfect.
    visual = torch.stack([eye[0], eye[0], eye[2], eye[3]])[:, None]
    audio = torch.stack([eye[0], eye[0], eye[1], eye[2] + eye[3]])[:, None]
    ranks = retrieval_ranks(visual, audio, 'diagonal_mean')
    # clip 0: ties with clip 1 (later index) -> rank 1
    # clip 1: ties with clip 0 (earlier index) -> rank 2
    # clip 2: own score 0, candidate 3 scores 0.707 (higher), clips 0, 1
    #         tie at 0 with a lower index -> 1 + 1 + 2 = 4
    # clip 3: own 0.707, nothing higher -> 1
    assert ranks.tolist() == [1, 2, 4, 1]
    summary = rank_summary(ranks, recall_ks=(1, 2))
    assert summary == {'R@1': 50.0, 'R@2': 75.0, 'MedR': 1.5, 'MeanR': 2.0}


def test_diagonal_and_block_strategies_differ_on_shifted_tokens():
    """A candidate whose tokens are the query's shifted in time matches in
    block strategies but not on the diagonal."""
    eye = torch.eye(3)
    visual = torch.stack([eye, eye])  # clip 0 and 1 visual: tokens e0,e1,e2
    audio = torch.stack([eye[[1, 2, 0]], eye])  # clip 0 audio: shifted
    # V->A for clip 0: diagonal of S is all 0 versus clip 1's 1 -> rank 2
    assert retrieval_ranks(visual, audio, 'diagonal_mean')[0] == 2
    assert retrieval_ranks(visual, audio, 'diagonal_max')[0] == 2
    # block mean / max: both candidates score 1/3 resp. 1 -> tie, lower index
    assert retrieval_ranks(visual, audio, 'block_mean')[0] == 1
    assert retrieval_ranks(visual, audio, 'block_max')[0] == 1


def test_metric_keys_values_and_single_tokens():
    visual, audio = random_pairs(num_clips=30, seed=1)
    metric = METRICS.build(
        dict(type='RetrievalMetric', strategies=list(RETRIEVAL_STRATEGIES)))
    metric.process(None, samples_for(visual, audio))
    results = metric.compute_metrics(metric.results)
    for strategy in RETRIEVAL_STRATEGIES:
        ranks = brute_force_ranks(visual, audio, strategy)
        assert results[f'v2a_{strategy}_R@1'] == pytest.approx(
            (ranks <= 1).double().mean().item() * 100)
        assert results[f'v2a_{strategy}_MedR'] == float(np.median(ranks))
        ranks = brute_force_ranks(audio, visual, strategy)
        assert results[f'a2v_{strategy}_R@10'] == pytest.approx(
            (ranks <= 10).double().mean().item() * 100)
    assert results['v2a_R@5'] == results['v2a_diagonal_mean_R@5']

    # (D,) tokens (CAV-MAE) and temporal mean pooling give T = 1 retrieval
    pooled = METRICS.build(
        dict(type='cavsync_mm.RetrievalMetric', temporal_pooling='mean'))
    pooled.process(None, samples_for(visual, audio))
    single = RetrievalMetric()
    single.process(None, samples_for(visual.mean(1), audio.mean(1)))
    assert pooled.compute_metrics(pooled.results) == \
        single.compute_metrics(single.results)


def test_metric_reads_av_data_samples_and_reports_bad_input():
    visual, audio = random_pairs(num_clips=3)
    metric = RetrievalMetric()
    sample = AVDataSample(metainfo=dict(video_id='abc'))
    sample.global_visual = visual[0]
    with pytest.raises(KeyError, match="clip abc.*'global_audio'"):
        metric.process(None, [sample])
    sample.global_audio = torch.full_like(audio[0], float('nan'))
    with pytest.raises(ValueError, match='clip abc: global_audio holds NaN'):
        metric.process(None, [sample])
    with pytest.raises(ValueError, match='unknown strategy'):
        RetrievalMetric(strategies=['diagonal_median'])


def _free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _distributed_worker(rank, world_size, port, queue):
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group('gloo', rank=rank, world_size=world_size)
    from mmengine.dataset import DefaultSampler
    visual, audio = random_pairs(num_clips=51, seed=5)
    # DefaultSampler pads 51 clips to 52 and strides them over the ranks
    indices = list(DefaultSampler(list(range(51)), shuffle=False))
    results = {}
    for collect_device in ('cpu', 'gpu'):  # 'gpu' = all_gather over gloo
        metric = RetrievalMetric(strategies=['diagonal_mean', 'block_max'],
                                 collect_device=collect_device)
        for start in range(0, len(indices), 4):  # batches of 4
            metric.process(None, samples_for(visual, audio,
                                             indices[start:start + 4]))
        results[collect_device] = metric.evaluate(size=51)
    queue.put((rank, results))
    dist.destroy_process_group()


def test_gathering_over_two_gloo_processes():
    visual, audio = random_pairs(num_clips=51, seed=5)
    single = RetrievalMetric(strategies=['diagonal_mean', 'block_max'])
    single.process(None, samples_for(visual, audio))
    expected = single.evaluate(size=51)

    context = mp.get_context('spawn')
    queue = context.SimpleQueue()
    mp.start_processes(_distributed_worker,
                       args=(2, _free_port(), queue),
                       nprocs=2, join=True, start_method='spawn')
    results = dict(queue.get() for _ in range(2))
    for rank in (0, 1):
        assert results[rank] == dict(cpu=expected, gpu=expected)


# ---------------------------------------------------------------- end to end
# tools/test.py on the retrieval configs with a tiny randomly initialised
# checkpoint, on real synthetic clips (wav + jpg, and mp4 for the demo).
REPO = __import__('pathlib').Path(__file__).resolve().parents[2]


@pytest.fixture(scope='module')
def toy_clips(tmp_path_factory):
    from cavsync_mm.datasets.synthetic import make_toy_dataset
    root = tmp_path_factory.mktemp('toy')
    make_toy_dataset(str(root), num_clips=0, val_clips=4, seg_per_class=0,
                     frame_size=32, workers=1, progress=False)
    return root


def _tiny_checkpoint(config, path):
    from mmengine.config import Config
    from cavsync_mm.registry import MODELS
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(config).model)
    torch.save(dict(state_dict=model.state_dict(), meta={}), path)
    return path


@pytest.mark.parametrize('config', [
    'configs/cavsync/benchmarks/vit-toy_retrieval_toy.py',
    'configs/cavmae/benchmarks/vit-toy_retrieval_toy.py'])  # whole paths (renamable)
def test_tools_test_runs_retrieval_configs(config, toy_clips, tmp_path):
    """tools/test.py's metrics equal ranks recomputed from the features it
    dumped: per (query, candidate) T x T matrices in float64 and a stable
    sort (``brute_force_ranks``), then R@k / median / mean rank by hand."""
    import pickle
    config = str(REPO / config)
    checkpoint = _tiny_checkpoint(config, tmp_path / 'tiny.pth')
    dump = tmp_path / 'predictions.pkl'
    metrics = load_script('tools/test.py').main([
        config,
        str(checkpoint), '--work-dir',
        str(tmp_path / 'work'), '--out',
        str(dump), '--cfg-options',
        f'test_dataloader.dataset.data_root={toy_clips}'
    ])
    with open(dump, 'rb') as f:
        predictions = pickle.load(f)
    assert len(predictions) == 4
    features = {
        field: torch.stack([torch.as_tensor(p[field] if isinstance(p, dict)
                                            else p.get(field))
                            for p in predictions])
        for field in ('global_visual', 'global_audio')}
    tokens = 16 if 'cavsync' in config else 1
    assert features['global_visual'].shape[:2] == (4, tokens) or (
        tokens == 1 and features['global_visual'].dim() == 2)
    directions = dict(v2a=('global_visual', 'global_audio'),
                      a2v=('global_audio', 'global_visual'))
    deepest = 1
    for direction, (query, candidate) in directions.items():
        for strategy in RETRIEVAL_STRATEGIES:
            ranks = brute_force_ranks(
                as_tokens(features[query]), as_tokens(features[candidate]),
                strategy).tolist()
            deepest = max(deepest, max(ranks))
            key = f'retrieval/{direction}_{strategy}_'
            for k in (1, 5, 10):
                assert metrics[key + f'R@{k}'] == pytest.approx(
                    100 * sum(r <= k for r in ranks) / 4), (key, k, ranks)
            assert metrics[key + 'MedR'] == pytest.approx(
                float(np.median(ranks)))
            assert metrics[key + 'MeanR'] == pytest.approx(sum(ranks) / 4)
    assert deepest > 1  # not every clip retrieved first: R@1 is informative


def as_tokens(features):
    return features[:, None] if features.dim() == 2 else features


def test_retrieve_demo_ranks_a_folder_and_writes_the_strip(
        toy_clips, tmp_path, capsys):
    config = str(REPO / 'configs/cavsync/benchmarks/vit-toy_retrieval_toy.py')
    checkpoint = _tiny_checkpoint(config, tmp_path / 'tiny.pth')
    videos = sorted((toy_clips / 'videos').glob('*.mp4'))
    out_dir = tmp_path / 'strip'
    argv = [config, str(checkpoint), str(videos[1]),
            str(toy_clips / 'videos'), '--top', '3', '--out-dir',
            str(out_dir)]
    demo = load_script('demo/retrieve.py')
    import sys
    old_argv, sys.argv = sys.argv, ['retrieve.py'] + argv
    try:
        demo.main()
    finally:
        sys.argv = old_argv
    printed = capsys.readouterr().out
    assert 'V->A' in printed and 'A->V' in printed
    assert 'the query clip itself ranks' in printed
    from PIL import Image
    strip = out_dir / f'{videos[1].stem}_diagonal_mean.png'
    assert Image.open(strip).format == 'PNG'
    # an existing picture is never replaced without --overwrite
    sys.argv = ['retrieve.py'] + argv
    try:
        with pytest.raises(SystemExit, match='exists'):
            demo.main()
    finally:
        sys.argv = old_argv


def test_rank_clips_orders_by_score_with_stable_ties():
    from cavsync_mm.apis.retrieval import ClipFeatures, rank_clips
    eye = torch.eye(3)
    features = ClipFeatures(
        video_ids=['a', 'b', 'c'], paths=['', '', ''],
        global_visual=torch.stack([eye[0], eye[1], eye[2]])[:, None],
        global_audio=torch.stack([eye[1], eye[0], eye[0]])[:, None],
        middle_frames=torch.zeros(3, 3, 4, 4, dtype=torch.uint8))
    ranking = rank_clips(features, 0, 'v2a')
    assert [r['video_id'] for r in ranking] == ['b', 'c', 'a']
    assert [r['rank'] for r in ranking] == [1, 2, 3]
    ranking = rank_clips(features, 1, 'a2v')  # audio e0 -> frames
    assert ranking[0]['video_id'] == 'a'
