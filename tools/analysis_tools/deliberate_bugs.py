"""Plant each deliberate bug of issue 13 and check that the tests catch it.

For every bug: copy the working tree to a scratch folder (your checkout is
never touched), make the one-line change, run the named tests there and
report whether at least one failed or errored (it must). Prints one table row per bug.

    python tools/analysis_tools/deliberate_bugs.py            # all bugs
    python tools/analysis_tools/deliberate_bugs.py --list
    python tools/analysis_tools/deliberate_bugs.py tau_0.07 masked_mean
"""
import argparse
import os
import os.path as osp
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from mutation_test import REPO_ROOT, copy_tree  # noqa: E402

LOSS = 'cavsync_mm/models/losses/infonce_loss.py'
RECON = 'cavsync_mm/models/losses/masked_reconstruction_loss.py'
SEGMENTS = 'cavsync_mm/datasets/transforms/segments.py'
CACHE = 'cavsync_mm/datasets/feature_cache.py'
PRETRAINER = 'cavsync_mm/models/pretrainers/cavmae_sync.py'
GATHER = 'cavsync_mm/models/losses/gather.py'
LOSS_TESTS = ['tests/models/test_losses_by_hand.py']
RANK_TESTS = LOSS_TESTS + ['-k', 'two_ranks']
PROBE_TESTS = ['tests/models/test_probe.py', '-k', 'raw_clip_probe']

# name -> (file, original text, buggy text, test arguments)
BUGS = {
    'tau_0.07': (
        LOSS, 'temperature: float = 0.05', 'temperature: float = 0.07',
        LOSS_TESTS),
    'audio_not_normalised': (
        LOSS, 'audio = F.normalize(audio.float(), dim=-1)',
        'audio = audio.float()', LOSS_TESTS),
    'candidates_flipped': (
        LOSS, 'visual_to_audio = visual @ all_audio.t()',
        'visual_to_audio = visual @ all_audio.flip(0).t()', LOSS_TESTS),
    'no_cross_rank_offset': (
        LOSS, 'offset = rank * audio.shape[0]', 'offset = 0', LOSS_TESTS),
    # cross-rank code that single-process mutation runs cannot reach
    'offset_from_feature_dim': (
        LOSS, 'offset = rank * audio.shape[0]',
        'offset = rank * audio.shape[1]', RANK_TESTS),
    'labels_minus_offset': (
        LOSS, 'device=audio.device) + offset', 'device=audio.device) - offset',
        RANK_TESTS),
    'negatives_not_gathered': (
        LOSS, 'self.gather_across_ranks = gather_across_ranks',
        'self.gather_across_ranks = None', RANK_TESTS),
    'gather_along_features': (
        GATHER, 'all_gather(features.contiguous()), dim=0)',
        'all_gather(features.contiguous()), dim=1)', RANK_TESTS),
    'masked_mean_over_all_patches': (
        RECON, 'loss = (per_patch * mask).sum() / mask.sum()',
        'loss = per_patch.mean()', LOSS_TESTS),
    'global_and_local_ignores_local': (
        PRETRAINER, 'loss = (loss + local_loss) / 2', 'loss = loss',
        LOSS_TESTS),
    'round_half_up': (
        SEGMENTS, 'center = int(round(i * spec_length / num_frames))',
        'center = int(i * spec_length / num_frames + 0.5)',
        ['tests/datasets/test_segment_bounds_sweep.py']),
    'cache_swaps_audio_visual': (
        CACHE, "out[f'{token}_audio'] = audio_tokens.reshape(",
        "out[f'{token}_audio'] = visual_tokens.reshape(", PROBE_TESTS),
    'cache_scrambles_clip_frame_order': (
        CACHE,
        "out[f'{token}_audio'] = audio_tokens.reshape(batch, num_frames, -1)\n"
        "        out[f'{token}_visual'] = visual_tokens.reshape(batch, num_frames, -1)",
        "out[f'{token}_audio'] = audio_tokens.reshape(num_frames, batch, -1)"
        '.transpose(0, 1)\n'
        "        out[f'{token}_visual'] = visual_tokens.reshape(num_frames, batch, -1)"
        '.transpose(0, 1)', PROBE_TESTS),
}


def plant(tree, name):
    path, original, buggy, _ = BUGS[name]
    with open(osp.join(tree, path)) as f:
        source = f.read()
    if source.count(original) != 1:
        raise SystemExit(f'{name}: expected exactly one {original!r} in '
                         f'{path}; update BUGS to the current source')
    with open(osp.join(tree, path), 'w') as f:
        f.write(source.replace(original, buggy))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('bugs', nargs='*', help='default: all')
    parser.add_argument('--list', action='store_true')
    args = parser.parse_args(argv)
    if args.list:
        for name, (path, original, buggy, tests) in BUGS.items():
            print(f'{name}: {path}: {original!r} -> {buggy!r}; '
                  f'tests: {" ".join(tests)}')
        return 0
    names = args.bugs or list(BUGS)
    unknown = set(names) - set(BUGS)
    if unknown:
        parser.error(f'unknown bugs {sorted(unknown)}')
    print('| bug | file | tests run | failed tests | caught |\n'
          '|---|---|---|---|---|')
    missed = []
    for name in names:
        with tempfile.TemporaryDirectory(prefix='bug_') as scratch:
            # <scratch>/repo beside <scratch>/shared, as the checkout sits
            # beside shared/: the real-clip tests find ../shared/data/real
            tree = osp.join(scratch, 'repo')
            os.makedirs(tree)
            shared = osp.join(osp.dirname(REPO_ROOT), 'shared')
            if osp.isdir(shared):
                os.symlink(shared, osp.join(scratch, 'shared'))
            copy_tree(None, tree)
            plant(tree, name)
            start = time.time()
            result = subprocess.run(
                [sys.executable, '-m', 'pytest', '-x', '-q', '-p',
                 'no:cacheprovider', '-o', 'addopts=', *BUGS[name][3]],
                cwd=tree, env=dict(os.environ, PYTHONPATH=tree),
                capture_output=True, text=True)
        summary = (result.stdout.strip().splitlines() or [''])[-1]
        # a failed test or an error in a test's fixture (a rank that
        # crashes) both count; collection or usage errors (exit 2-4) do not
        caught = result.returncode == 1 and ('failed' in summary
                                             or 'error' in summary)
        if not caught:
            missed.append(name)
        print(f'| {name} | {BUGS[name][0]} | {" ".join(BUGS[name][3])} | '
              f'{summary} ({time.time() - start:.0f} s) | '
              f'{"yes" if caught else "**NO**"} |', flush=True)
    return 1 if missed else 0


if __name__ == '__main__':
    sys.exit(main())
