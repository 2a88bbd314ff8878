"""Mutation testing of the core math with mutmut 3 (not part of the CI run).

mutmut changes one thing at a time in a source file (``<`` -> ``<=``,
``416`` -> ``417``, ``a - b`` -> ``a + b``, ...) and reruns the tests that
call the changed function; a mutant the tests do not notice "survives".
mutmut works on a copy (``mutants/``), and this script makes that copy in a
scratch folder: your checkout is never touched. ``--rev`` takes the sources
and tests of an older commit instead of the working tree (the "before"
score).

Each group mutates only its own files (``only_mutate``) and runs only a
small, fast test subset (the listed files that exist in the copy). Lines that
raise an exception or log a message are not mutated (their wording is not
math; ``do_not_mutate_patterns``); the conditions guarding them are.

Usage (from the repository root; needs ``pip install -e ".[mutation]"``)::

    python tools/analysis_tools/mutation_test.py                 # all groups
    python tools/analysis_tools/mutation_test.py losses segments # some
    python tools/analysis_tools/mutation_test.py --rev c59f8e3   # old tests

It prints one line per group (mutants, killed, survived, no tests, timeouts,
score = killed / mutants) and writes every survivor's diff to
``<out-dir>/<group>_survivors.txt`` (default ``work_dirs/mutation``).
"""

import argparse
import os
import os.path as osp
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

# group -> (files to mutate, test files (fastest first), pytest -k)
GROUPS = {
    'losses': (
        ['cavsync_mm/models/losses/infonce_loss.py',
         'cavsync_mm/models/losses/masked_reconstruction_loss.py',
         'cavsync_mm/models/losses/gather.py'],
        ['tests/models/test_losses_by_hand.py',
         'tests/models/test_cavmae_sync.py',
         'tests/models/test_losses_distributed.py'],
        # no multi-process tests: a mutant killed on timeout would orphan
        # its gloo workers (cross-rank code: tools/analysis_tools/
        # deliberate_bugs.py no_cross_rank_offset)
        'not short_training and not reconstruction_picture and not two_'),
    'segments': (
        ['cavsync_mm/datasets/transforms/segments.py'],
        ['tests/datasets/test_segment_bounds_sweep.py',
         'tests/datasets/test_transforms.py'],
        None),
    'retrieval': (
        ['cavsync_mm/evaluation/functional/retrieval.py'],
        ['tests/evaluation/test_retrieval_by_hand.py',
         'tests/evaluation/test_retrieval_degenerate.py',
         'tests/evaluation/test_retrieval.py'],
        'not tools_test and not demo and not gloo'),
    'fbank': (
        ['cavsync_mm/datasets/transforms/audio.py'],
        ['tests/datasets/test_segment_bounds_sweep.py',
         'tests/datasets/test_fbank_by_hand.py',
         'tests/datasets/test_audio_readers_by_value.py',
         'tests/datasets/test_transforms.py'],
        # the fileio test registers a logging backend, and mmengine caches
        # backend instances: a second run in one process (mutmut's stats,
        # then its clean run) sees the first run's instance and fails
        'not read_through_mmengine_fileio'),
    'masking': (
        ['cavsync_mm/models/layers/masking.py'],
        ['tests/models/test_masking_by_hand.py',
         'tests/models/test_cavmae_sync.py'],
        'not short_training and not reconstruction_picture'),
}
# statements starting on such lines are not mutated: message wording
NOT_MUTATED = [r'^\s*raise \w+\(', r'^\s*print_log\(',
               r'^\s*warnings\.warn\(']


def copy_tree(rev, dest):
    """The working tree (tracked and untracked, not ignored files) or ``rev``."""
    if rev:
        archive = subprocess.run(['git', 'archive', rev], cwd=REPO_ROOT,
                                 check=True, capture_output=True).stdout
        subprocess.run(['tar', '-x', '-C', dest], input=archive, check=True)
        return
    files = subprocess.run(
        ['git', 'ls-files', '-co', '--exclude-standard', '-z'], cwd=REPO_ROOT,
        check=True, capture_output=True).stdout.split(b'\0')
    for name in filter(None, files):
        name = name.decode()
        if osp.isfile(osp.join(REPO_ROOT, name)):
            os.makedirs(osp.dirname(osp.join(dest, name)) or dest,
                        exist_ok=True)
            shutil.copy2(osp.join(REPO_ROOT, name), osp.join(dest, name))


def cfg_list(key, values):
    return f'{key}=\n' + ''.join(f'    {v}\n' for v in values)


def write_config(tree, paths, tests, keyword, timeout_constant):
    pytest_args = ['-p', 'no:cacheprovider', '-x', '-q']
    if keyword:
        pytest_args += ['-k', keyword]
    with open(osp.join(tree, 'setup.cfg'), 'w') as f:
        f.write('[mutmut]\nsource_paths=cavsync_mm/\n' +
                cfg_list('only_mutate', paths) +
                cfg_list('pytest_add_cli_args_test_selection', tests) +
                cfg_list('pytest_add_cli_args', pytest_args) +
                cfg_list('do_not_mutate_patterns', NOT_MUTATED) +
                cfg_list('also_copy', ['pytest.ini']) +
                # a mutant is stopped after (t + constant) x 5 s of wall time
                # (t: its tests' time in the clean run); mutmut's default
                # constant (1 s) stopped harmless mutants on a loaded machine
                f'timeout_constant={float(timeout_constant)}\n'
                'timeout_multiplier=5.0\n')


def mutant_statuses(mutmut, tree):
    listing = subprocess.run([mutmut, 'results', '--all', 'true'], cwd=tree,
                             capture_output=True, text=True).stdout
    return dict(re.findall(r'^\s*(\S+__mutmut_\d+): (.+)$', listing,
                           re.MULTILINE))


def run_mutmut(mutmut, tree, children, log_path, mode):
    """``mutmut run`` (logged to ``log_path``), then every mutant's status."""
    with open(log_path, mode) as log:
        subprocess.run([mutmut, 'run', '--max-children', str(children)],
                       cwd=tree, stdout=log, stderr=subprocess.STDOUT)
    return mutant_statuses(mutmut, tree)


def run_group(name, tree, out_dir, mutmut, children, timeout_constant):
    paths, tests, keyword = GROUPS[name]
    tests = [t for t in tests if osp.isfile(osp.join(tree, t))]
    write_config(tree, paths, tests, keyword, timeout_constant)
    shutil.rmtree(osp.join(tree, 'mutants'), ignore_errors=True)
    print(f'[{name}] mutating {", ".join(paths)}\n[{name}] tests: '
          f'{" ".join(tests)}' + (f' -k "{keyword}"' if keyword else ''),
          flush=True)
    log_path = osp.join(out_dir, f'{name}_mutmut.log')
    statuses = run_mutmut(mutmut, tree, children, log_path, 'w')
    retried = sum(s.strip() == 'timeout' for s in statuses.values())
    if retried:
        # on a loaded machine a slow run is not a hang: mutmut re-tests only
        # the timeouts when the timeout setting changes
        write_config(tree, paths, tests, keyword, 6 * timeout_constant)
        statuses = run_mutmut(mutmut, tree, children, log_path, 'a')
        print(f'[{name}] {retried} timeouts re-tested with a '
              f'{6 * timeout_constant:g} s constant', flush=True)
    survivors = [m for m, s in statuses.items() if s.strip() != 'killed']
    with open(osp.join(out_dir, f'{name}_survivors.txt'), 'w') as f:
        for mutant in survivors:
            shown = subprocess.run([mutmut, 'show', mutant], cwd=tree,
                                   capture_output=True, text=True).stdout
            f.write(f'# {mutant}: {statuses[mutant].strip()}\n{shown}\n')
    return Counter(s.strip() for s in statuses.values())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('groups', nargs='*',
                        help=f'default: all of {", ".join(GROUPS)}')
    parser.add_argument('--rev', help='mutate and test this git revision '
                        'instead of the working tree')
    parser.add_argument('--out-dir', default=osp.join(REPO_ROOT, 'work_dirs',
                                                      'mutation'))
    parser.add_argument('--max-children', type=int, default=1,
                        help='mutants tested at once (CPU cores to use)')
    parser.add_argument('--timeout-constant', type=float, default=10.0,
                        help='seconds added to a mutant\'s expected test '
                        'time before the x5 wall-clock limit (raise it on a '
                        'loaded machine: a "timeout" should mean a hang)')
    args = parser.parse_args(argv)
    groups = args.groups or list(GROUPS)
    unknown = set(groups) - set(GROUPS)
    if unknown:
        parser.error(f'unknown groups {sorted(unknown)}; choose from '
                     f'{", ".join(GROUPS)}')
    mutmut = shutil.which('mutmut', path=osp.dirname(sys.executable)) or \
        shutil.which('mutmut')
    if mutmut is None:
        sys.exit('mutmut is not installed: pip install -e ".[mutation]"')
    os.makedirs(args.out_dir, exist_ok=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix='mutation_') as tree:
        copy_tree(args.rev, tree)
        for name in groups:
            counts = run_group(name, tree, args.out_dir, mutmut,
                               args.max_children, args.timeout_constant)
            print(f'[{name}] ' + ', '.join(f'{k}={v}' for k, v in
                                          sorted(counts.items())), flush=True)
            rows.append((name, counts))
    print('\n| group | mutants | killed | survived | no tests | timeout '
          '| score |\n|---|---|---|---|---|---|---|')
    for name, counts in rows:
        total = sum(counts.values())
        killed = counts.get('killed', 0)
        score = 100.0 * killed / total if total else float('nan')
        print(f'| {name} | {total} | {killed} | {counts.get("survived", 0)} '
              f'| {counts.get("no tests", 0)} | {counts.get("timeout", 0)} '
              f'| {score:.1f} % |')
    print(f'survivors: {args.out_dir}/<group>_survivors.txt')
    return 0


if __name__ == '__main__':
    sys.exit(main())
