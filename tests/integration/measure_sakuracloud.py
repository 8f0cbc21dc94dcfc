#!/usr/bin/python3
"""How many PUTs does a Sakura Cloud certificate cost, and do concurrent
dns01 processes lose updates?

    /usr/bin/python3 tests/integration/measure_sakuracloud.py [--reps N]
        [--latency SECONDS] [--mode hash|nohash|both]

Against the Sakura Cloud emulator (sakura_emulator.py), with LATENCY seconds
added to every API answer (default 0.1, a realistic round trip):

  certbot  a 10-name certificate in example.test through the hooks: auth
           with CERTBOT_REMAINING_CHALLENGES 9..0 and CERTBOT_ALL_DOMAINS
           listing the 10 names, then the 10 cleanups; PUTs (and all API
           calls) to add and to remove, and whether the zone's other records
           (A, MX, a TXT at _acme-challenge) came out exactly as they were.
  concurrency  the scenario of test_provider_sakuracloud.test_sk_concurrent_processes
           N times (default 5): 20 `dns01 set` at 20 names at once, 20 at
           one name at once, then the 20 + 20 unsets; per repetition whether
           every value landed (set, ns1, ns2), the pre-existing records
           survived, the unsets restored the set exactly, with timings, PUTs
           and 409s. --mode hash: the server checks the settings hash
           (default: both, i.e. each repetition once with and once without).
"""

import os
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import testbed  # noqa: E402
from testbed import acme_value, certbot_env, run_dns01  # noqa: E402

N_NAMES = 10


def _check(rc, err, what):
    if rc != 0:
        raise RuntimeError(f'{what} exited {rc}: {err.strip()[-600:]}')


def measure_certbot(tb, em, latency):
    import test_provider_sakuracloud as T
    em.reset()
    em.publish_delay = 0        # what is measured is the API traffic, not publication
    em.latency = latency
    conf = T.sk_config(tb, em, T.sk_key(em), main={'timeout': '60'})
    pre, other = T._preexisting(tb, em)
    h0 = em.settings_hash(T.ZONE)
    domains = [f'm{i:02d}.{T.ZONE}' for i in range(N_NAMES)]
    vals = {d: acme_value() for d in domains}
    all_domains = ','.join(domains)
    rows = []
    outs = {}
    mark = len(em.requests)
    t0 = time.monotonic()
    for i, d in enumerate(domains):
        remaining = N_NAMES - 1 - i
        rc, out, err, el = run_dns01(['-c', conf, 'auth'],
                                     env=certbot_env(d, vals[d], remaining, all_domains),
                                     timeout=120)
        _check(rc, err, f'auth {d} (REMAINING={remaining})')
        outs[d] = out.strip()
        last = el
    rows.append(('auth x 10 (REMAINING 9..0)', time.monotonic() - t0, last,
                 em.puts(since=mark), len(em.requests) - mark))
    recs = em.records(T.ZONE)
    landed = all(any(r['Name'] == T.sk_rel('_acme-challenge.' + d) and r['RData'] == vals[d]
                     for r in recs) for d in domains)
    mark = len(em.requests)
    t0 = time.monotonic()
    for i, d in enumerate(domains):
        remaining = N_NAMES - 1 - i
        rc, _, err, el = run_dns01(['-c', conf, 'cleanup'],
                                   env=certbot_env(d, vals[d], remaining, all_domains, outs[d]),
                                   timeout=120)
        _check(rc, err, f'cleanup {d}')
        last = el
    rows.append(('cleanup x 10', time.monotonic() - t0, last, em.puts(since=mark),
                 len(em.requests) - mark))
    exact = em.records(T.ZONE) == pre and em.settings_hash(T.ZONE) == h0
    em.latency = 0
    return rows, landed, exact


def measure_concurrency(tb, em, optimistic, latency):
    import test_provider_sakuracloud as T
    em.reset()
    em.publish_delay = 0        # what is measured is the API traffic, not publication
    em.latency = latency
    conf = T.sk_config(tb, em, T.sk_key(em), main={'timeout': '60'})
    t0 = time.monotonic()
    res = T._concurrency(tb, em, conf, optimistic, check=False)
    res['total_s'] = time.monotonic() - t0
    em.latency = 0
    return res


def main():
    args = sys.argv[1:]
    reps, latency, mode = 5, 0.1, 'both'
    try:
        while args:
            a = args.pop(0)
            if a == '--reps':
                reps = int(args.pop(0))
            elif a == '--latency':
                latency = float(args.pop(0))
            elif a == '--mode':
                mode = args.pop(0)
                assert mode in ('hash', 'nohash', 'both')
            else:
                raise ValueError(a)
    except (ValueError, IndexError, AssertionError):
        sys.exit(__doc__)
    testbed.enter_namespace(Path(__file__).resolve(), sys.argv[1:])
    sys.stdout.reconfigure(line_buffering=True)
    binary = testbed.dns01_binary()
    if not os.access(binary, os.X_OK):
        sys.exit(f'dns01 binary not found/executable at {binary} (run `make`, or set $DNS01)')
    tb = testbed.Testbed()
    failed = False
    try:
        testbed.setup_namespace(tb.tmp)
        shutil.copy2(binary, tb.tmp / 'dns01')       # one build throughout
        os.environ['DNS01'] = str(tb.tmp / 'dns01')
        tb.start()
        em = tb.sakura()
        print(f'Sakura Cloud emulator, {latency * 1000:.0f} ms added to every API answer\n')
        tb.reset()
        testbed.TRANSCRIPT.clear()
        try:
            rows, landed, exact = measure_certbot(tb, em, latency)
            print(f'certbot, {N_NAMES} names in example.test through the hooks')
            print(f'  {"run":30} {"wall s":>7} {"last s":>7} {"PUTs":>5} {"calls":>6}')
            for what, wall, last, puts, calls in rows:
                print(f'  {what:30} {wall:7.2f} {last:7.2f} {puts:5d} {calls:6d}')
            print(f'  all {N_NAMES} values in the zone after the last auth: '
                  f'{"yes" if landed else "NO"}; set restored exactly after the cleanups: '
                  f'{"yes" if exact else "NO"}\n')
            failed |= not (landed and exact)
        except (RuntimeError, AssertionError) as e:
            failed = True
            print(f'certbot: FAILED: {e}\n' + testbed.format_transcript(1500))
            print(em.log_text(40))
        modes = {'hash': [True], 'nohash': [False], 'both': [True, False]}[mode]
        print(f'concurrency: 20 set at 20 names, 20 set at one name, then 20 + 20 unset '
              f'(ns2 0.5 s behind), {reps} repetitions')
        print(f'  {"rep":>3} {"server":>12} {"landed":>6} {"kept":>5} {"exact":>5} {"exits":>5} '
              f'{"set s":>6} {"same s":>6} {"unset s":>7} {"PUTs":>11} {"409s":>5} '
              f'{"total s":>7}')
        for rep in range(1, reps + 1):
            for optimistic in modes:
                tb.reset()
                testbed.TRANSCRIPT.clear()
                try:
                    r = measure_concurrency(tb, em, optimistic, latency)
                except (RuntimeError, AssertionError) as e:
                    failed = True
                    print(f'  {rep:3d} FAILED: {e}')
                    continue
                yn = {True: 'yes', False: 'NO'}
                puts = (f'{r["set_names_puts"]}+{r["set_same_puts"]}/'
                        f'{r["unset_names_puts"]}+{r["unset_same_puts"]}')
                print(f'  {rep:3d} {"hash checked" if optimistic else "hash ignored":>12} '
                      f'{yn[r["landed"]]:>6} {yn[r["survived"]]:>5} {yn[r["exact"]]:>5} '
                      f'{yn[r["exits_ok"]]:>5} {r["set_names_s"]:6.1f} {r["set_same_s"]:6.1f} '
                      f'{r["unset_names_s"] + r["unset_same_s"]:7.1f} {puts:>11} '
                      f'{r["set_names_409"] + r["set_same_409"]:5d} {r["total_s"]:7.1f}')
                for p in r['problems']:
                    print(f'      {p}')
                if r['problems']:
                    failed = True
        print('\nlanded: every value in the set and on ns1 and ns2 when all 20 had exited; '
              'kept: the A, MX and\nTXT that were there before survived; exact: after the '
              'unsets the set (and its hash) is the original;\nexits: every dns01 exited 0; '
              'set s / same s / unset s: wall time of the 20 (20+20) processes;\n'
              'PUTs: set (names+same) / unset (names+same)')
    except KeyboardInterrupt:
        print('interrupted')
        return 130
    finally:
        tb.stop()
        if failed:
            print(f'logs and configs kept in {tb.tmp}')
        else:
            shutil.rmtree(tb.tmp, ignore_errors=True)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
