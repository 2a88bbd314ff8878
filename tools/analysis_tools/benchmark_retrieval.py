"""Time and memory of zero-shot retrieval ranking (all four strategies).

Three measurements, each in a fresh process so that its peak memory is its
own:

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
"""
import argparse
import json
import multiprocessing
import resource
import sys
import time

STRATEGIES = ('diagonal_mean', 'diagonal_max', 'block_mean', 'block_max')


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--num-clips', type=int, default=1545,
                        help='0 skips the N-clip and loop runs')
    parser.add_argument('--num-tokens', type=int, default=16)
    parser.add_argument('--dim', type=int, default=768)
    parser.add_argument('--brute-force-clips', type=int, default=150)
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
    figures = dict(config=vars(args), vectorised={}, brute_force={},
                   large={})
    header = (f'{"strategy":<14}{"vectorised s":>14}{"peak MiB":>10}'
              f'{"loop s (extrap.)":>18}{"speed-up":>10}')
    rows = []
    for strategy in args.strategies if args.num_clips else ():
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
