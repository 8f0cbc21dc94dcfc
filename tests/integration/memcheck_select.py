#!/usr/bin/python3
"""Choose the tests `make memcheck` runs under valgrind: memcheck.list.

    /usr/bin/python3 tests/integration/memcheck_select.py [--jobs=N] [FILTER ...]

Under valgrind every dns01 call costs ~0.7 s more, an HTTPS one several
seconds, and the whole integration suite would not fit in CI's 15 minutes.
What valgrind needs is every path of the C code run once, not every test.
So this script

1. copies the tracked sources (git ls-files) to a temporary directory and
   builds dns01 and the test tools there with gcc --coverage;
2. runs the integration suite of that copy (run.py --jobs=N, the tests
   valgrind cannot run excluded: NEVER below), each test's dns01 processes
   writing their gcov data apart (run.py's COVERAGE_DIR);
3. reads each test's covered lines and taken branches (gcov --json-format);
4. picks tests greedily, the most new lines and branches per second under
   valgrind first (run.py's weights), until they cover everything the
   whole suite covers; a test that covers nothing new is never picked;
5. writes the chosen names to memcheck.list beside this script, with what
   they cover, and prints a summary.

Run it again after adding tests or C code (CONTRIBUTING: the list is
committed; a test added since is simply not yet run under valgrind).
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))
import run  # noqa: E402

LIST = HERE / 'memcheck.list'
# Tests valgrind cannot run: emulator self-checks (no dns01), the ACME
# clients against pebble (their own timeouts), and the timing-dependent
# races between processes and hosts.
NEVER = ('_emulator_', 'pebble', 'concurrent', 'two_hosts', 'test_testbed.')
GCOV_DIRS = ('bin', 'core', 'core/hooks', 'providers')


def build(tree):
    """The tracked sources copied to tree, built with coverage."""
    files = subprocess.run(['git', '-C', str(REPO), 'ls-files', '-z'], check=True,
                           capture_output=True).stdout.decode().split('\0')
    for f in filter(None, files):
        dst = tree / f
        dst.parent.mkdir(parents=True, exist_ok=True)
        if (REPO / f).is_file():
            shutil.copy2(REPO / f, dst)
    subprocess.run(['make', '-C', str(tree), '-j2', 'dns01', 'tests/tools/http_probe',
                    'OPT=-O0 -g --coverage', 'LDFLAGS=--coverage'], check=True,
                   stdout=subprocess.DEVNULL)


def covered(tree, prefix):
    """{(file, line) or (file, line, branch)} a test's gcov data says ran."""
    items = set()
    for d in GCOV_DIRS:
        data = prefix / str(tree).lstrip('/') / d
        gcda = sorted(data.glob('*.gcda')) if data.is_dir() else []
        if not gcda:
            continue
        for g in gcda:
            shutil.copy2(tree / d / (g.stem + '.gcno'), data)
        out = subprocess.run(['gcov', '--json-format', '--stdout', '--branch-probabilities',
                              '--object-directory', str(data),
                              *(str(tree / d / (g.stem + '.c')) for g in gcda)],
                             cwd=tree, check=True, capture_output=True, text=True).stdout
        for doc in filter(None, out.splitlines()):
            for f in json.loads(doc)['files']:
                if not f['file'].endswith('.c'):
                    continue
                for ln in f['lines']:
                    if ln['count'] > 0:
                        items.add((f['file'], ln['line_number']))
                    for i, b in enumerate(ln['branches']):
                        if b['count'] > 0:
                            items.add((f['file'], ln['line_number'], i))
    return items


def choose(cover, cost):
    """Greedy weighted set cover: names in the order picked."""
    left = set().union(*cover.values()) if cover else set()
    picked = []
    while left:
        best = max(cover, key=lambda t: (len(cover[t] & left) / cost(t), t))
        gain = cover[best] & left
        if not gain:
            break
        picked.append((best, len(gain)))
        left -= gain
    return picked


def main():
    jobs = next((a.split('=', 1)[1] for a in sys.argv[1:] if a.startswith('--jobs=')), '4')
    filters = [a for a in sys.argv[1:] if not a.startswith('--')]   # to try it out
    with tempfile.TemporaryDirectory(prefix='dns01-cov-') as tmp:
        tree, gcov = Path(tmp) / 'src', Path(tmp) / 'gcda'
        build(tree)
        env = dict(os.environ, COVERAGE_DIR=str(gcov), GCOV_PREFIX_STRIP='0')
        env.pop('MEMCHECK_TARGET', None)
        env.pop('DNS01', None)
        p = subprocess.run(['/usr/bin/python3', str(tree / 'tests/integration/run.py'),
                            f'--jobs={jobs}', *(f'--exclude={x}' for x in NEVER), *filters],
                           env=env)
        if p.returncode != 0:
            print('the suite failed with the coverage build: no list written')
            return 1
        cover = {t.name: covered(tree, t) for t in sorted(gcov.iterdir())}
    os.environ['MEMCHECK_TARGET'] = 'weights'      # run.weight(): valgrind's
    picked = choose(cover, run.weight)
    total = len(set().union(*cover.values()))
    seconds = sum(run.weight(t) for t, _ in picked)
    all_seconds = sum(run.weight(t) for t in cover)
    with open(LIST, 'w') as f:
        f.write('# The tests `make memcheck` runs under valgrind: together they run every\n'
                f'# line and branch of dns01 that the whole suite runs ({total} items).\n'
                '# Written by tests/integration/memcheck_select.py; run it again after\n'
                '# adding tests or C code.  Each line: the test, # new items it covers.\n')
        for t, gain in picked:
            f.write(f'{t}  # {gain}\n')
    print(f'{len(picked)} of {len(cover)} tests cover all {total} lines and branches; '
          f'~{seconds:.0f} s of {all_seconds:.0f} s under valgrind; written to {LIST}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
