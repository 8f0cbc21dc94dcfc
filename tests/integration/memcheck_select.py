#!/usr/bin/python3
"""Choose the tests `make memcheck` runs under valgrind: memcheck.list.

    /usr/bin/python3 tests/integration/memcheck_select.py [--jobs=N] [--coverage=FILE]
                                                          [FILTER ...]

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
   valgrind first (weights.py), while a test adds at least MIN_GAIN_PER_S
   new items per second;
5. writes the chosen names to memcheck.list beside this script, with what
   they cover and the lines left to the tests not picked, and prints a
   summary.

--coverage=FILE keeps each test's coverage in FILE (JSON), and when FILE
exists, chooses again from it without running anything (after the weights
changed).  Run it again after adding tests or C code (CONTRIBUTING: the list is
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
# A test is picked only while it adds at least this many new lines and
# branches per second it takes under valgrind: the last tests of a full
# cover add one or two error-path branches for half a minute each, and
# `make check` must fit in 15 minutes.  What they alone reach is listed at
# the end of memcheck.list (not run under valgrind).
MIN_GAIN_PER_S = 0.5


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
    """Greedy weighted set cover, most new items per second first, while a
    test adds at least MIN_GAIN_PER_S per second: ([(name, gain)] in the
    order picked, the items left uncovered)."""
    left = set().union(*cover.values()) if cover else set()
    picked = []
    while left:
        best = max(cover, key=lambda t: (len(cover[t] & left) / cost(t), t))
        gain = cover[best] & left
        if len(gain) / cost(best) < MIN_GAIN_PER_S:
            break
        picked.append((best, len(gain)))
        left -= gain
    return picked, left


def main():
    jobs = next((a.split('=', 1)[1] for a in sys.argv[1:] if a.startswith('--jobs=')), '4')
    filters = [a for a in sys.argv[1:] if not a.startswith('--')]   # to try it out
    saved = next((a.split('=', 1)[1] for a in sys.argv[1:] if a.startswith('--coverage=')),
                 None)
    if saved and os.path.exists(saved):     # choose again from a measurement
        with open(saved) as f:
            cover = {t: {tuple(i) for i in items} for t, items in json.load(f).items()}
        return write(cover)
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
    if saved:
        with open(saved, 'w') as f:
            json.dump({t: sorted(items, key=str) for t, items in cover.items()}, f)
    return write(cover)


def write(cover):
    """Choose from cover ({test: items}) and write LIST.  0."""
    os.environ['MEMCHECK_TARGET'] = 'weights'      # run.weight(): valgrind's
    picked, left = choose(cover, run.weight)
    total = len(set().union(*cover.values()))
    seconds = sum(run.weight(t) for t, _ in picked)
    all_seconds = sum(run.weight(t) for t in cover)
    share = f'{100 * (total - len(left)) / total:.2f} %'
    lines = sorted({(i[0], i[1]) for i in left})
    with open(LIST, 'w') as f:
        f.write('# The tests `make memcheck` runs under valgrind: together they run\n'
                f'# {share} of the {total} lines and branches of dns01 that the whole\n'
                '# suite runs (gcov), picked by tests/integration/memcheck_select.py\n'
                f'# (`make memcheck-select`) while each adds >= {MIN_GAIN_PER_S} per second.\n'
                '# Run it again after adding tests or C code.  Each line: the test,\n'
                '# # the new lines and branches it covers.\n')
        for t, gain in picked:
            f.write(f'{t}  # {gain}\n')
        f.write(f'# Not run under valgrind ({len(left)} items; only slower tests reach '
                'them), by line:\n')
        for path, ln in lines:
            f.write(f'#   {path}:{ln}\n')
    print(f'{len(picked)} of {len(cover)} tests cover {share} of {total} lines and branches; '
          f'~{seconds:.0f} s of {all_seconds:.0f} s under valgrind; written to {LIST}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
