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
import testbed  # noqa: E402


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


# Rough seconds a test takes, by a part of its name (first match wins):
# (part, seconds, seconds under valgrind), None for the default, as
# measured in a run of the whole suite (run.py --jobs=4; under valgrind
# --jobs=3 with the Makefile's MEMCHECK_EXCLUDE): for dealing tests out to
# runners so that they end together.  Under valgrind (make memcheck sets
# MEMCHECK_TARGET) other tests are the slow ones, and every dns01 call costs
# more (an HTTPS provider's most: libcurl and TLS under valgrind).
WEIGHTS = (('pebble_cache_clients_lego_five_times', 198, None),
           ('pebble_cache_clients_ttl_120', 137, None),
           ('pebble_cache_clients_uacme_five_times', 137, None),
           ('test_input.test_bad_input', None, 79), ('test_clients.test_pebble_lego', 36, None),
           ('test_clients.test_pebble_dehydrated', 36, None),
           ('cf_global_key_and_credentials_file', None, 33), ('sk_empty_zone', None, 32),
           ('cf_duplicate_is_success', None, 32), ('sk_other_zone_and_cname', None, 28),
           ('cf_certbot_hooks_by_id', None, 28), ('cf_zone_id_without_zone_read', None, 27),
           ('pebble_certbot_renew', 26, None),
           ('pebble_cache_clients_certbot_right_after_cleanup', 25, None),
           ('cache_wait_after_hook_cleanup', 12, 22), ('pebble_dehydrated_hook_chain', 21, None),
           ('sk_endpoints', None, 21), ('test_dialects.test_uacme', 8, 20),
           ('pebble_uacme', 19, None), ('sk_busy_within_timeout', 9, 19),
           ('doctor_check_cert', None, 19), ('sk_concurrent_processes', 18, None),
           ('doctor_cache', 12, 18), ('cf_token_scoped_to_other_zone', None, 18),
           ('cache_wait_after_removal', 13, 17), ('cache_wait_replaced_rrset', 12, 17),
           ('cf_same_zone_name_in_two_accounts', None, 17),
           ('cf_wrong_credential_forms', None, 17), ('sk_certbot_hooks_one_put', None, 15),
           ('tsig_algorithms', None, 15), ('cf_permanent_500_is_bounded', 8, 14),
           ('cf_cleanup_when_already_gone', None, 14),
           ('contract_cloudflare_no_secret_in_output', None, 14),
           ('cf_txt_content_quoted', None, 14), ('cf_exists_in_either_form', None, 14),
           ('name_limits_accepted', None, 14), ('http_retry_after_past_deadline', None, 14),
           ('killed_run_recovered_certbot', None, 14),
           ('contract_sakuracloud_doctor_credentials', None, 14), ('http_aws_sigv4', None, 14),
           ('sk_busy_beyond_timeout', None, 13), ('doctor_secondary_behind', 12, 8),
           ('pebble_lego_raw', 12, None), ('one_update_many_names', None, 12),
           ('doctor_cloudflare_token', None, 12), ('arrival_learned', None, 12),
           ('contract_sakuracloud_malformed', None, 12),
           ('ledger_damaged_lines_ignored', None, 12),
           ('contract_sakuracloud_no_secret_in_output', None, 12),
           ('dehydrated_other_operations', None, 12), ('sk_settings_sent_back_as_read', None, 12),
           ('cf_unset_looks_up_by_content', None, 12), ('http_raw_body_and_answer', None, 12),
           ('contract_cloudflare_certbot_pebble', 11, None), ('lego_exec_raw', None, 11),
           ('resolver_never_asked_challenge_name', None, 11), ('cf_rejected_token', None, 11),
           ('fifo_and_hard_link_in_state_dir', None, 11),
           ('contract_sakuracloud_certbot_pebble', 10, None),
           ('sk_transient_errors_then_success', 10, None), ('dehydrated_single', None, 10),
           ('contract_cloudflare_malformed', None, 10), ('secondary_lag', None, 10),
           ('cache_wait_timeout', None, 10), ('apex_set_list_wait_unset', None, 10),
           ('cf_untrusted_certificate', None, 10), ('other_runs_values_survive', None, 10),
           ('apex_certbot_pebble', 9, None), ('pebble_certbot_five_names', 9, None),
           ('www_own_zone_certbot_pebble', 9, None), ('100_values_at_one_name', None, 9),
           ('certbot_new_run_deletes_what_earlier_run_left', None, 9),
           ('cf_rate_limit_block_waited', None, 9), ('cli_help_version_usage', None, 9),
           ('contract_cloudflare_doctor_credentials', None, 9),
           ('config_typos_never_print_secret', None, 9), ('sk_credentials_file', None, 8),
           ('secondary_never_updated', None, 8), ('killed_run_recovered_uacme', None, 8),
           ('stale_state_from_killed_run', None, 8),
           ('interleaved_runs_for_two_certificates', None, 8),
           ('delete_says_what_was_there', None, 8), ('contract_rfc2136_certbot_pebble', 7, None),
           ('lag_controller', 7, None), ('cf_propagation_waits_for_the_edge', 7, None),
           ('r53_credential_chain', None, 21), ('r53_zone_lookup', 4, 28),
           ('r53_certbot_pair_batches', 9, 25), ('r53_retries', 5, 16), ('r53_errors', None, 18),
           ('contract_route53_concurrent_writers', 20, None),
           ('contract_route53_certbot_pebble', 19, None), ('r53_insync_before_wait', 4, 12),
           ('contract_route53_additive_add', 5, 22), ('contract_route53_malformed', None, 14),
           ('contract_route53_no_secret', None, 15), ('contract_route53_doctor', None, 18),
           ('contract_route53_bad_cred', None, 6), ('contract_route53_foreign', None, 16),
           ('contract_route53_exact', 5, 22),
           ('contract_sakuracloud_concurrent_writers', 6, None), ('pebble', 10, None),
           ('concurrent', 6, None))
# Google Cloud DNS (test_provider_google.py, its contract cases), first: they
# go before the generic 'concurrent' and 'pebble' parts above
WEIGHTS = (('contract_google_concurrent_writers', 20, None),
           ('contract_google_certbot_pebble', 25, None),
           ('contract_google_no_secret_in_output', 6, 46),
           ('contract_google_malformed', None, 39), ('contract_google_doctor', None, 35),
           ('gg_credential_sources', 9, 37), ('gg_private_zone_and_pages', None, 16),
           ('contract_google_bad_credentials', None, 15), ('gg_change_done', 6, 14),
           ('gg_foreign_kept_and_race', None, 13), ('gg_token_once_per_run', 7, None),
           ('contract_google_additive_add', 8, None), ('contract_google_exact_delete', 7, None),
           ('contract_google_retry_5xx', 6, None)) + WEIGHTS
DEFAULT_WEIGHT, MEMCHECK_DEFAULT_WEIGHT = 3, 5


def weight(name):
    valgrind = bool(os.environ.get('MEMCHECK_TARGET'))
    return next((w[valgrind] for part, *w in WEIGHTS if part in name and w[valgrind]),
                MEMCHECK_DEFAULT_WEIGHT if valgrind else DEFAULT_WEIGHT)


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
        totals, rc = [0, 0, 0], 0
        for k, (p, out) in enumerate(procs):
            rc |= p.wait() != 0
            out.seek(0)
            text = out.read()
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
    summary = f'{totals[0]} passed, {totals[1]} failed'
    if totals[2]:
        summary += f', {totals[2]} skipped'
    print(summary)
    return 1 if rc or totals[1] else 0


def indent(text, prefix='    '):
    return '\n'.join(prefix + l for l in text.splitlines())


def run_one(tb, name, fn, verbose=False):
    """Returns 'PASS', 'FAIL' or 'SKIP'; prints the result line(s)."""
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
    t_start = time.monotonic()
    try:
        testbed.setup_namespace(tb.tmp)
        # Test one build throughout, even if someone rebuilds ./dns01 meanwhile.
        binary = testbed.dns01_binary()
        if os.path.isfile(binary):
            shutil.copy2(binary, tb.tmp / 'dns01')
            os.environ['DNS01'] = str(tb.tmp / 'dns01')
        print(f'dns01: {binary} (copied to {tb.tmp}/dns01)   testbed: {tb.tmp}')
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
            counts[run_one(tb, name, fn, verbose)] += 1
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
