#!/usr/bin/python3
"""How long after the last nameserver serves the record does the hook return?

    /usr/bin/python3 tests/integration/measure_overhead.py [N]

For secondary lags of 0, 2 and 5 s, runs the certbot apex+wildcard auth pair
(CERTBOT_REMAINING_CHALLENGES 1 then 0) N times (default 3) against the
testbed, with ns2 watched every 10 ms, and prints min/median/max of
(last auth returned - ns2 first served both values) in ms.
"""

import os
import shutil
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import testbed  # noqa: E402
from flows import cleanup_pair, timed_auth_pair  # noqa: E402

LAGS = (0, 2, 5)
DOMAIN = 'example.test'


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    testbed.enter_namespace(Path(__file__).resolve(), sys.argv[1:])
    sys.stdout.reconfigure(line_buffering=True)
    binary = testbed.dns01_binary()
    if not os.access(binary, os.X_OK):
        sys.exit(f'dns01 binary not found/executable at {binary} (run `make`, or set $DNS01)')
    tb = testbed.Testbed()
    rows, failed = [], False
    try:
        testbed.setup_namespace(tb.tmp)
        shutil.copy2(binary, tb.tmp / 'dns01')       # one build throughout
        os.environ['DNS01'] = str(tb.tmp / 'dns01')
        tb.start()
        conf = tb.write_config()
        for lag in LAGS:
            overheads = []
            for i in range(n):
                tb.reset(keep_arrivals=True)     # as a host renewing again and again
                testbed.TRANSCRIPT.clear()
                try:
                    r = timed_auth_pair(tb, conf, DOMAIN, lag)
                except AssertionError as e:
                    print(f'lag {lag} run {i + 1}: FAILED: {e}\n' + testbed.format_transcript())
                    failed = True
                    continue
                if r['first_positive'] is None:
                    print(f'lag {lag} run {i + 1}: ns2 never served both values')
                    failed = True
                else:
                    early = r['returned'] < (r['last_negative'] or 0)
                    overheads.append(r['overhead'] * 1000)
                    print(f'lag {lag} run {i + 1}: {overheads[-1]:7.1f} ms'
                          + ('  (RETURNED BEFORE ns2 SERVED THE VALUES)' if early else ''))
                tb.set_lag(0)
                cleanup_pair(tb, conf, DOMAIN, r['values'], r['outs'], f'{DOMAIN},{DOMAIN}')
            rows.append((lag, overheads))
    except KeyboardInterrupt:
        print('interrupted')
        return 130
    finally:
        tb.stop()
        if failed:
            print(f'logs and configs kept in {tb.tmp}')
        else:
            shutil.rmtree(tb.tmp, ignore_errors=True)

    print(f'\nhook return - ns2 first served both values (ms), N={n} per lag')
    print('(ns2 is polled every 10 ms: a small negative value means dns01 saw it first)')
    print(f'{"lag (s)":>8} {"runs":>5} {"min":>8} {"median":>8} {"max":>8}')
    for lag, ms in rows:
        if ms:
            print(f'{lag:>8} {len(ms):>5} {min(ms):8.1f} {statistics.median(ms):8.1f} {max(ms):8.1f}')
        else:
            print(f'{lag:>8} {0:>5} {"-":>8} {"-":>8} {"-":>8}')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
