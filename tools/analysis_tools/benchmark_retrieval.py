"""Time and memory of zero-shot retrieval ranking (all four strategies).

Four measurements, each in a fresh process so that its peak memory is its
own:

0. ``retrieval_ranks`` against its floor, one direction (visual queries,
   audio candidates), ``--num-clips`` clips: the floor is what any ranking
   of these features has to do, normalising every token (``F.normalize``)
   and the strategy's matrix products, in the same block shape as
   ``retrieval_ranks`` (``diagonal_mean``: one product of the flattened
   tokens; ``block_mean``: the mean tokens' product, mean included;
   ``diagonal_max``: the T per-token products; ``block_max``: the
   all-tokens product), without the max reductions and the ranking. The two
   are timed alternately ``--floor-repeats`` times after one untimed run of
   each; the table gives the median seconds of each and the median of the
   per-repeat ratios. ``--baseline-file`` times the ``retrieval_ranks`` of
   another copy of ``retrieval.py`` (e.g. an earlier revision) in the same
   rotation and adds its columns.
1. ``--num-clips`` clips (default 1,545 = the VGGSound 5-per-class subset),
   T = 16 tokens of D = 768 per modality: every strategy, both directions,
   with :func:`cavsync_mm.evaluation.functional.retrieval_ranks`.
2. The same sizes with a per-pair Python loop (one ``T x T`` similarity
   matrix per (query, candidate) pair, as a direct reading of eq. 5 does it),
   timed on ``--brute-force-clips`` clips and extrapolated to ``--num-clips``
   by the number of pairs (N^2).
3. ``--large-clips`` clips (default 100,000), features stored as float16 and
   unit-normalised: each strategy ranks the first ``--large-queries`` queries
   (mean strategies) or ``--large-max-queries`` queries (max strategies)
   against all candidates (``block_max``: ``--large-max-queries // T``, it
   does T times the work of ``diagonal_max``); a one-query run gives the
   fixed cost, and the time is extrapolated as fixed + per-query cost x N;
   the peak memory is measured.

Example::

    python tools/analysis_tools/benchmark_retrieval.py --threads 1
    # only the floor table, beside an earlier revision's retrieval_ranks
    git show HEAD~1:cavsync_mm/evaluation/functional/retrieval.py > /tmp/old.py
    python tools/analysis_tools/benchmark_retrieval.py --threads 1 \
        --brute-force-clips 0 --large-clips 0 --baseline-file /tmp/old.py
"""
import argparse
import json
import multiprocessing
import resource
import statistics
import sys
import time

STRATEGIES = ('diagonal_mean', 'diagonal_max', 'block_mean', 'block_max')


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--num-clips', type=int, default=1545,
                        help='0 skips the N-clip and loop runs')
    parser.add_argument('--num-tokens', type=int, default=16)
    parser.add_argument('--dim', type=int, default=768)
    parser.add_argument('--brute-force-clips', type=int, default=150,
                        help='0 skips the both-directions and loop runs')
    parser.add_argument('--floor-repeats', type=int, default=3,
                        help='timed repeats of retrieval_ranks against the '
                        'floor (normalise + matmul); 0 skips them')
    parser.add_argument('--baseline-file',
                        help='a retrieval.py whose retrieval_ranks is timed '
                        'beside the current one against the same floor')
    parser.add_argument('--large-clips', type=int, default=100_000,
                        help='0 skips the large run')
    parser.add_argument('--large-queries', type=int, default=1000)
    parser.add_argument('--large-max-queries', type=int, default=64)
    parser.add_argument('--block-mb', type=int, default=256,
                        help='memory bound of one score block')
    parser.add_argument('--threads', type=int, default=1,
                        help='torch CPU threads (1 = comparable numbers '
                        'on a shared machine)')
    parser.add_argument('--strategies', nargs='+', default=list(STRATEGIES))
    parser.add_argument('--json-out', help='also write the figures here')
    return parser.parse_args()


def _rss_mib():
    with open('/proc/self/status') as status:
        for line in status:
            if line.startswith('VmRSS:'):
                return int(line.split()[1]) / 1024
    return float('nan')


def _peak_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_features(num_clips, num_tokens, dim, dtype, seed=0, chunk=4096):
    """Unit-norm visual and correlated audio tokens, built chunk by chunk."""
    import torch
    import torch.nn.functional as F
    generator = torch.Generator().manual_seed(seed)
    visual = torch.empty(num_clips, num_tokens, dim, dtype=dtype)
    audio = torch.empty(num_clips, num_tokens, dim, dtype=dtype)
    for start in range(0, num_clips, chunk):
        end = min(start + chunk, num_clips)
        v = torch.randn(end - start, num_tokens, dim, generator=generator)
        a = v + 3.0 * torch.randn(v.shape, generator=generator)
        visual[start:end] = F.normalize(v, dim=-1).to(dtype)
        audio[start:end] = F.normalize(a, dim=-1).to(dtype)
    return visual, audio


def _vectorised(args, strategy, queue):
    import torch
    from cavsync_mm.evaluation.functional import rank_summary, retrieval_ranks
    torch.set_num_threads(args.threads)
    visual, audio = make_features(args.num_clips, args.num_tokens, args.dim,
                                  torch.float32)
    rss_features = _rss_mib()
    start = time.perf_counter()
    ranks_v2a = retrieval_ranks(visual, audio, strategy,
                                block_bytes=args.block_mb * 2**20)
    ranks_a2v = retrieval_ranks(audio, visual, strategy,
                                block_bytes=args.block_mb * 2**20)
    seconds = time.perf_counter() - start
    queue.put(dict(seconds=seconds, peak_mib=_peak_mib(),
                   features_mib=rss_features,
                   v2a_R1=rank_summary(ranks_v2a)['R@1'],
                   a2v_R1=rank_summary(ranks_a2v)['R@1']))


def floor_scores(queries, candidates, strategy, chunk):
    """The floor of ranking ``queries`` against ``candidates``: normalise
    every token, reduce for the strategy and compute the strategy's matrix
    products in ``chunk x chunk`` blocks (no max reduction, no ranking).
    Returns the last block's products."""
    import torch
    import torch.nn.functional as F
    from cavsync_mm.evaluation.functional.retrieval import \
        reduce_for_strategy
    queries = reduce_for_strategy(F.normalize(queries, dim=-1), strategy)
    candidates = reduce_for_strategy(F.normalize(candidates, dim=-1),
                                     strategy)
    products = None
    for q_start in range(0, len(queries), chunk):
        block_queries = queries[q_start:q_start + chunk]
        for c_start in range(0, len(candidates), chunk):
            block = candidates[c_start:c_start + chunk]
            if strategy in ('diagonal_mean', 'block_mean'):
                products = block_queries @ block.T
            elif strategy == 'diagonal_max':
                products = torch.bmm(block_queries.transpose(0, 1),
                                     block.permute(1, 2, 0))
            else:
                products = (block_queries.flatten(0, 1)
                            @ block.flatten(0, 1).T)
    return products


def _floor_ratio(args, strategy, queue):
    import torch
    from cavsync_mm.evaluation.functional import retrieval_ranks
    from cavsync_mm.evaluation.functional.retrieval import chunk_size_for
    torch.set_num_threads(args.threads)
    visual, audio = make_features(args.num_clips, args.num_tokens, args.dim,
                                  torch.float32)
    block_bytes = args.block_mb * 2**20
    chunk = chunk_size_for(strategy, args.num_tokens, block_bytes)

    runs = dict(
        ranks=lambda: retrieval_ranks(visual, audio, strategy,
                                      block_bytes=block_bytes),
        floor=lambda: floor_scores(visual, audio, strategy, chunk))
    if args.baseline_file:
        import importlib.util
        spec = importlib.util.spec_from_file_location(
            'baseline_retrieval', args.baseline_file)
        baseline = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(baseline)
        runs['baseline'] = lambda: baseline.retrieval_ranks(
            visual, audio, strategy, block_bytes=block_bytes)

    def timed(run):
        start = time.perf_counter()
        run()
        return time.perf_counter() - start

    for run in runs.values():  # untimed: first-call costs
        run()
    seconds = {name: [] for name in runs}
    for repeat in range(args.floor_repeats):
        # alternate the order so that none always runs first or last
        order = list(runs) if repeat % 2 == 0 else list(runs)[::-1]
        for name in order:
            seconds[name].append(timed(runs[name]))
    result = dict(chunk=chunk)
    for name, values in seconds.items():
        result[f'{name}_seconds'] = values
        result[f'median_{name}_seconds'] = statistics.median(values)
        if name != 'floor':
            ratios = [r / f for r, f in zip(values, seconds['floor'])]
            prefix = '' if name == 'ranks' else 'baseline_'
            result[f'{prefix}ratios'] = ratios
            result[f'{prefix}median_ratio'] = statistics.median(ratios)
    queue.put(result)


def _brute_force(args, strategy, queue):
    import torch
    torch.set_num_threads(args.threads)
    n = args.brute_force_clips
    visual, audio = make_features(n, args.num_tokens, args.dim,
                                  torch.float32)
    reduce = {
        'diagonal_mean': lambda s: s.diagonal().mean(),
        'diagonal_max': lambda s: s.diagonal().max(),
        'block_mean': lambda s: s.mean(),
        'block_max': lambda s: s.max(),
    }[strategy]
    start = time.perf_counter()
    for queries, candidates in ((visual, audio), (audio, visual)):
        for q in range(n):
            scores = torch.empty(n)
            for c in range(n):
                scores[c] = reduce(queries[q] @ candidates[c].T)
            int((scores > scores[q]).sum())
    seconds = time.perf_counter() - start
    scale = (args.num_clips / n)**2
    queue.put(dict(measured_clips=n, measured_seconds=seconds,
                   seconds=seconds * scale, peak_mib=_peak_mib()))


def _large(args, strategy, queue):
    import torch
    from cavsync_mm.evaluation.functional import retrieval_ranks
    torch.set_num_threads(args.threads)
    visual, audio = make_features(args.large_clips, args.num_tokens,
                                  args.dim, torch.float16)
    rss_features = _rss_mib()
    num_queries = {
        'diagonal_mean': args.large_queries,
        'block_mean': args.large_queries,
        'diagonal_max': args.large_max_queries,
        'block_max': max(2, args.large_max_queries // args.num_tokens),
    }[strategy]

    def timed(queries):
        start = time.perf_counter()
        retrieval_ranks(visual, audio, strategy, normalize=False,
                        num_queries=queries,
                        block_bytes=args.block_mb * 2**20)
        return time.perf_counter() - start

    # one query = the fixed cost (reducing all candidates); the rest grows
    # with the number of queries
    fixed = timed(1)
    seconds = timed(num_queries)
    per_query = max(seconds - fixed, 0.0) / (num_queries - 1)
    queue.put(dict(measured_queries=num_queries, measured_seconds=seconds,
                   fixed_seconds=fixed,
                   seconds_one_direction=fixed + per_query *
                   args.large_clips, peak_mib=_peak_mib(),
                   features_mib=rss_features))


def run_isolated(target, args, strategy):
    context = multiprocessing.get_context('spawn')
    queue = context.SimpleQueue()
    process = context.Process(target=target, args=(args, strategy, queue))
    process.start()
    process.join()
    if process.exitcode != 0:
        raise RuntimeError(f'{target.__name__}({strategy}) failed with exit '
                           f'code {process.exitcode}')
    return queue.get()


def main():
    args = parse_args()
    print(f'command: {" ".join(sys.argv)}')
    print(f'N={args.num_clips} T={args.num_tokens} D={args.dim} '
          f'threads={args.threads} block={args.block_mb} MiB')
    figures = dict(config=vars(args), floor={}, vectorised={},
                   brute_force={}, large={})
    if args.num_clips and args.floor_repeats:
        print(f'\nretrieval_ranks against the floor (normalise + matmul), '
              f'{args.num_clips} clips, one direction, median of '
              f'{args.floor_repeats} repeats')
        baseline = ('' if not args.baseline_file else
                    f'{"baseline s":>12}{"ratio":>8}')
        print(f'{"strategy":<14}{"ranks s":>10}{"floor s":>10}'
              f'{"ratio":>8}{"ratios":>24}{baseline}')
        for strategy in args.strategies:
            floor = run_isolated(_floor_ratio, args, strategy)
            figures['floor'][strategy] = floor
            ratios = ' '.join(f'{r:.2f}' for r in floor['ratios'])
            if args.baseline_file:
                baseline = (f'{floor["median_baseline_seconds"]:>12.3f}'
                            f'{floor["baseline_median_ratio"]:>7.2f}x')
            print(f'{strategy:<14}{floor["median_ranks_seconds"]:>10.3f}'
                  f'{floor["median_floor_seconds"]:>10.3f}'
                  f'{floor["median_ratio"]:>7.2f}x{ratios:>24}{baseline}',
                  flush=True)
    header = (f'{"strategy":<14}{"vectorised s":>14}{"peak MiB":>10}'
              f'{"loop s (extrap.)":>18}{"speed-up":>10}')
    rows = []
    loop = args.num_clips and args.brute_force_clips
    for strategy in args.strategies if loop else ():
        fast = run_isolated(_vectorised, args, strategy)
        slow = run_isolated(_brute_force, args, strategy)
        figures['vectorised'][strategy] = fast
        figures['brute_force'][strategy] = slow
        rows.append(f'{strategy:<14}{fast["seconds"]:>14.2f}'
                    f'{fast["peak_mib"]:>10.0f}{slow["seconds"]:>18.1f}'
                    f'{slow["seconds"] / fast["seconds"]:>10.0f}x')
        print(rows[-1], flush=True)
    if rows:
        print(f'\nboth directions, {args.num_clips} clips '
              f'(loop timed on {args.brute_force_clips} clips, x N^2)')
        print(header)
        print('\n'.join(rows))

    if args.large_clips:
        print(f'\n{args.large_clips} clips, float16 features, one direction')
        print(f'{"strategy":<14}{"queries":>9}{"measured s":>12}'
              f'{"fixed s":>9}{"all queries s":>15}{"features MiB":>14}'
              f'{"peak MiB":>10}')
        for strategy in args.strategies:
            large = run_isolated(_large, args, strategy)
            figures['large'][strategy] = large
            print(f'{strategy:<14}{large["measured_queries"]:>9}'
                  f'{large["measured_seconds"]:>12.1f}'
                  f'{large["fixed_seconds"]:>9.1f}'
                  f'{large["seconds_one_direction"]:>15.0f}'
                  f'{large["features_mib"]:>14.0f}'
                  f'{large["peak_mib"]:>10.0f}', flush=True)
    if args.json_out:
        with open(args.json_out, 'w') as out:
            json.dump(figures, out, indent=2)


if __name__ == '__main__':
    main()
