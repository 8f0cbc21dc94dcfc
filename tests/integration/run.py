#!/usr/bin/python3
"""Run the dns01 integration tests against real servers.

    /usr/bin/python3 tests/integration/run.py [-v] [--jobs=N] [--exclude=PART ...]
                                              [--only=LISTFILE] [FILTER ...]

Re-executes itself in private namespaces (see testbed.enter_namespace),
starts named x2 and unbound x2 once (pebble when a test asks for it), runs
every test_* function of every test_*.py here whose "module.function" name
contains any FILTER and none of the --exclude parts, and always stops the servers. A test is a function taking
the Testbed; it fails by raising (AssertionError or anything else) and is
skipped by raising testbed.Skip. Binary under test: $DNS01 or <repo>/dns01.
-v prints every dns01 call (argv, exit code, stdout, stderr) also for passing
tests; KEEP_TESTBED=1 keeps the temp dir (configs, logs) after a clean run.
--only=LISTFILE runs only the tests named (module.function, one per line) in
the file, as `make memcheck` does with memcheck.list (memcheck_select.py).
With COVERAGE_DIR set (memcheck_select.py), each test's dns01 processes
write their gcov data under COVERAGE_DIR/<test name>.
--jobs=N splits the tests over N runners that run at once, each in its own
namespaces with its own servers (most of a test's time is spent waiting for
a lagging secondary, a TTL or the CA), prints each runner's output when it
ends, then the total.
"""

import importlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import secretscan  # noqa: E402
import testbed  # noqa: E402
from weights import WEIGHTS  # noqa: E402


def read_list(path):
    """The test names in a list file: one "module.function" per line, '#'
    starts a comment."""
    with open(path) as f:
        return [l.split('#', 1)[0].strip() for l in f if l.split('#', 1)[0].strip()]


def collect(patterns=('',), exclude=()):
    tests = []
    # The testbed's self-checks first: if they fail, suspect the harness.
    paths = sorted(HERE.glob('test_*.py'), key=lambda p: (p.stem != 'test_testbed', p.stem))
    for path in paths:
        mod = importlib.import_module(path.stem)
        for name, fn in vars(mod).items():     # definition order
            full = f'{path.stem}.{name}'
            if name.startswith('test_') and callable(fn) \
                    and any(p in full for p in patterns) \
                    and not any(x in full for x in exclude):
                tests.append((full, fn))
    return tests


DEFAULT_WEIGHT, MEMCHECK_DEFAULT_WEIGHT = 3, 5


def weight(name):
    """Seconds test `name` takes (under valgrind in memcheck mode): weights.py."""
    valgrind = bool(os.environ.get('MEMCHECK_TARGET'))
    w = WEIGHTS.get(name, (None, None))[valgrind]
    return w or (MEMCHECK_DEFAULT_WEIGHT if valgrind else DEFAULT_WEIGHT)


def shard(tests, k, jobs):
    """The tests of runner k of jobs: heaviest first, each to the runner
    with the least work so far; within a runner in their usual order."""
    load = [0] * jobs
    mine = set()
    for name, _ in sorted(tests, key=lambda t: -weight(t[0])):
        r = load.index(min(load))
        load[r] += weight(name)
        if r == k:
            mine.add(name)
    return [t for t in tests if t[0] in mine]


def run_jobs(args, jobs):
    """Run this script `jobs` times at once, runner k with --shard=k/jobs;
    print their outputs in order and the summed counts.  Exit status 1 when
    any runner failed."""
    procs = []
    try:
        for k in range(jobs):
            out = tempfile.TemporaryFile(mode='w+')
            procs.append((subprocess.Popen(
                [sys.executable, str(Path(__file__).resolve()), f'--shard={k}/{jobs}', *args],
                stdout=out, stderr=subprocess.STDOUT), out))
        totals, rc, texts = [0, 0, 0], 0, []
        for k, (p, out) in enumerate(procs):
            rc |= p.wait() != 0
            out.seek(0)
            text = out.read()
            texts.append(text)
            print(f'=== runner {k + 1} of {jobs}')
            print(text, end='', flush=True)
            m = re.search(r'^(\d+) passed, (\d+) failed(?:, (\d+) skipped)?$', text, re.M)
            if m is None:
                rc = 1
                continue
            for i in range(3):
                totals[i] += int(m.group(i + 1) or 0)
    finally:
        for p, _ in procs:
            if p.poll() is None:
                p.terminate()
                p.wait()
    print(f'=== all {jobs} runners')
    scanned = secretscan.add_summaries(texts)
    if scanned:
        print(scanned)
    summary = f'{totals[0]} passed, {totals[1]} failed'
    if totals[2]:
        summary += f', {totals[2]} skipped'
    print(summary)
    return 1 if rc or totals[1] else 0


def indent(text, prefix='    '):
    return '\n'.join(prefix + l for l in text.splitlines())


def run_one(tb, name, fn, verbose=False, scanner=None):
    """Returns 'PASS', 'FAIL' or 'SKIP'; prints the result line(s).  With a
    secretscan.Scanner, a test whose dns01 processes wrote a secret fails."""
    testbed.TRANSCRIPT.clear()
    testbed.NOTES.clear()
    sizes = tb.log_sizes()
    t0 = time.monotonic()
    status, reason = 'PASS', ''
    try:
        tb.reset()
        fn(tb)
        dead = tb.dead_servers()
        if dead:
            raise AssertionError(f'server(s) died during the test: {", ".join(dead)}')
    except testbed.Skip as e:
        status, reason = 'SKIP', str(e)
    except AssertionError as e:
        where = traceback.extract_tb(e.__traceback__)[-1]
        at = f'  [{Path(where.filename).name}:{where.lineno}]'
        status, reason = 'FAIL', (str(e) or traceback.format_exc()) + '\n' + at
    except Exception:
        status, reason = 'FAIL', traceback.format_exc()
    leaks = scanner.check() if scanner else []
    if leaks:
        what = 'dns01 wrote a secret (or 16 characters of one) to: ' + '; '.join(leaks)
        status, reason = 'FAIL', what + ('\n' + reason if reason else '')
    dt = time.monotonic() - t0
    if status == 'PASS':
        print(f'PASS {name} ({dt:.1f}s)')
    else:
        print(f'{status} {name} ({dt:.1f}s): {reason.splitlines()[0] if reason else ""}')
        rest = reason.splitlines()[1:]
        if rest:
            print(indent('\n'.join(rest)))
    for n in testbed.NOTES:
        print(indent(n))
    if status == 'FAIL' or verbose:
        if testbed.TRANSCRIPT:
            print('  dns01 calls:')
            print(testbed.format_transcript())
    if status == 'FAIL':
        print('  server logs during the test:')
        print(indent(tb.logs_since(sizes)))
    sys.stdout.flush()
    return status


def main():
    args = sys.argv[1:]
    if any(a in ('-h', '--help') for a in args):
        print(__doc__)
        return 0
    jobs = [a.split('=', 1)[1] for a in args if a.startswith('--jobs=')]
    args = [a for a in args if not a.startswith('--jobs=')]
    if jobs and int(jobs[-1]) > 1:
        return run_jobs(args, int(jobs[-1]))
    testbed.enter_namespace(Path(__file__).resolve(), args)
    sys.stdout.reconfigure(line_buffering=True)

    # We are PID 1 of a PID namespace: without handlers SIGTERM is ignored.
    def on_signal(signum, frame):
        raise KeyboardInterrupt(f'signal {signum}')
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    verbose = '-v' in args
    exclude = [a.split('=', 1)[1] for a in args if a.startswith('--exclude=')]
    shards = [a.split('=', 1)[1] for a in args if a.startswith('--shard=')]
    only = [a for a in args if a.startswith('--only=')]
    args = [a for a in args if a != '-v' and not a.startswith(('--exclude=', '--shard=',
                                                              '--only='))]
    tests = collect(args or [''], exclude)
    for path in (a.split('=', 1)[1] for a in only):
        names = set(read_list(path))
        tests = [t for t in tests if t[0] in names]
    if shards:
        k, n = (int(x) for x in shards[-1].split('/'))
        tests = shard(tests, k, n)
    if not tests:
        print(f'no test matches {args!r}')
        return 1
    counts = {'PASS': 0, 'FAIL': 0, 'SKIP': 0}
    interrupted = False
    tb = testbed.Testbed()
    scanner = None
    t_start = time.monotonic()
    try:
        testbed.setup_namespace(tb.tmp)
        # Test one build throughout, even if someone rebuilds ./dns01 meanwhile.
        binary = testbed.dns01_binary()
        if os.path.isfile(binary):
            shutil.copy2(binary, tb.tmp / 'dns01')
            os.environ['DNS01'] = str(tb.tmp / 'dns01')
        print(f'dns01: {binary} (copied to {tb.tmp}/dns01)   testbed: {tb.tmp}')
        scanner = secretscan.Scanner(tb)
        scanner.install()
        testbed.SCANNER = scanner
        try:
            tb.start()
        except Exception:
            print('FAIL testbed did not start:')
            print(indent(traceback.format_exc()))
            print(indent(tb.logs_since(None)))
            counts['FAIL'] = len(tests)
            return 1
        print(f'testbed up in {time.monotonic() - t_start:.1f}s')
        coverage = os.environ.get('COVERAGE_DIR')
        for name, fn in tests:
            if coverage:    # memcheck_select.py: each test's coverage apart
                os.environ['GCOV_PREFIX'] = os.path.join(coverage, name)
            counts[run_one(tb, name, fn, verbose, scanner)] += 1
    except KeyboardInterrupt as e:
        print(f'\ninterrupted ({str(e) or "Ctrl-C"})')
        interrupted = True
    finally:
        tb.stop()
        ok = not counts['FAIL'] and not interrupted
        if ok and not os.environ.get('KEEP_TESTBED'):
            shutil.rmtree(tb.tmp, ignore_errors=True)
            where = ''
        else:
            where = f'; logs and configs kept in {tb.tmp}'
        print(f'(total {time.monotonic() - t_start:.1f}s{where})')
        if scanner:
            print(scanner.summary())
        summary = f'{counts["PASS"]} passed, {counts["FAIL"]} failed'
        if counts['SKIP']:
            summary += f', {counts["SKIP"]} skipped'
        print(summary)
        sys.stdout.flush()
    if interrupted:
        return 130
    return 1 if counts['FAIL'] else 0


if __name__ == '__main__':
    sys.exit(main())
