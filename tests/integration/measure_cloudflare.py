#!/usr/bin/python3
"""How many Cloudflare API calls, and how much time, do batches cost?

    /usr/bin/python3 tests/integration/measure_cloudflare.py [LATENCY ...]

Against the Cloudflare emulator (cf_emulator.py) with LATENCY seconds added
to every API answer (default 0.1, a realistic round trip to the real API):

  set    one name, 20 values:  dns01 set NAME v1..v20 --no-wait  (20 POSTs)
  unset  the same 20 values:   dns01 unset NAME v1..v20 --no-wait
  certbot 20 names in one run: auth with CERTBOT_REMAINING_CHALLENGES 19..0
         (the last call writes all 20 and waits for ns1 and ns2), then the
         20 cleanups with CERTBOT_AUTH_OUTPUT

and prints wall time, API calls (by method), calls per challenge, and the
TLS connections dns01 opened.
"""

import collections
import os
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import testbed  # noqa: E402
import cf_emulator  # noqa: E402
from testbed import RES_CLIENT, acme_value, certbot_env, run_dns01  # noqa: E402

N = 20


def _write_conf(tb, em, token):
    text = (f'[dns01]\nresolvers = {RES_CLIENT}\nstate_dir = {tb.tmp / "state"}\n'
            f'timeout = 60\n\n[provider cf]\ntype = cloudflare\n'
            f'zones = example.test acme.test\napi_token = {token}\n'
            f'api_url = {em.api_url}\nca_file = {em.ca_file}\n')
    path = tb.tmp / 'measure-cf.conf'
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, 'w') as f:
        f.write(text)
    return str(path)


def _calls(reqs):
    c = collections.Counter(r.method for r in reqs)
    return ' '.join(f'{m}x{c[m]}' for m in ('GET', 'POST', 'DELETE') if c[m]) or '-'


def _check(rc, err, what):
    if rc != 0:
        raise RuntimeError(f'{what} exited {rc}: {err.strip()[-600:]}')


def measure(tb, em, latency):
    em.reset()
    token = cf_emulator.new_token()
    testbed.SECRETS.add(token)
    em.add_token(token)
    em.latency = latency
    conf = _write_conf(tb, em, token)
    rows = []

    def row(what, challenges, t, mark, conns0):
        reqs = em.requests[mark:]
        span = (reqs[-1].time - reqs[0].time + latency) if reqs else 0.0
        rows.append((what, challenges, t, span, len(reqs), _calls(reqs),
                     len(reqs) / challenges, em.connections - conns0))

    # 1. one name, 20 values, no wait
    name = '_acme-challenge.bulk.example.test'
    values = [acme_value() for _ in range(N)]
    for cmd in ('set', 'unset'):
        mark, conns = len(em.requests), em.connections
        rc, _, err, el = run_dns01(['-c', conf, cmd, name, *values, '--no-wait'], timeout=120)
        _check(rc, err, f'{cmd} of {N} values')
        row(f'{cmd} 1 name x {N} values --no-wait', N, el, mark, conns)
    em.wait_published()
    tb.sync()

    # 2. certbot: 20 names in one run
    domains = [f'm{i:02d}.example.test' for i in range(N)]
    vals = {d: acme_value() for d in domains}
    all_domains = ','.join(domains)
    outs = {}
    mark, conns = len(em.requests), em.connections
    t0 = time.monotonic()
    last_el = 0.0
    for i, d in enumerate(domains):
        remaining = N - 1 - i
        rc, out, err, el = run_dns01(['-c', conf, 'auth'],
                                     env=certbot_env(d, vals[d], remaining, all_domains),
                                     timeout=120)
        _check(rc, err, f'auth {d} (REMAINING={remaining})')
        outs[d] = out.strip()
        last_el = el
    total = time.monotonic() - t0
    row(f'certbot auth x {N} (REMAINING {N - 1}..0)', N, total, mark, conns)
    rows.append(('  of which the last auth (write + wait)', N, last_el, None, None, '', None,
                 None))
    mark, conns = len(em.requests), em.connections
    t0 = time.monotonic()
    for i, d in enumerate(domains):
        remaining = N - 1 - i
        rc, _, err, _ = run_dns01(['-c', conf, 'cleanup'],
                                  env=certbot_env(d, vals[d], remaining, all_domains, outs[d]),
                                  timeout=120)
        _check(rc, err, f'cleanup {d}')
    row(f'certbot cleanup x {N}', N, time.monotonic() - t0, mark, conns)
    left = [r for r in em.records('example.test')]
    if left:
        raise RuntimeError(f'{len(left)} records left after the cleanups')
    return rows


def main():
    latencies = [float(a) for a in sys.argv[1:]] or [0.1]
    testbed.enter_namespace(Path(__file__).resolve(), sys.argv[1:])
    sys.stdout.reconfigure(line_buffering=True)
    binary = testbed.dns01_binary()
    if not os.access(binary, os.X_OK):
        sys.exit(f'dns01 binary not found/executable at {binary} (run `make`, or set $DNS01)')
    tb = testbed.Testbed()
    failed = False
    results = []
    try:
        testbed.setup_namespace(tb.tmp)
        shutil.copy2(binary, tb.tmp / 'dns01')       # one build throughout
        os.environ['DNS01'] = str(tb.tmp / 'dns01')
        tb.start()
        em = tb.cloudflare()
        for lat in latencies:
            tb.reset()
            testbed.TRANSCRIPT.clear()
            try:
                results.append((lat, measure(tb, em, lat)))
            except (RuntimeError, AssertionError) as e:
                failed = True
                print(f'latency {lat}: FAILED: {e}\n' + testbed.format_transcript(1500))
                print(em.log_text(40))
    except KeyboardInterrupt:
        print('interrupted')
        return 130
    finally:
        tb.stop()
        if failed:
            print(f'logs and configs kept in {tb.tmp}')
        else:
            shutil.rmtree(tb.tmp, ignore_errors=True)

    for lat, rows in results:
        print(f'\nCloudflare emulator, {lat * 1000:.0f} ms added to every API answer')
        print(f'{"run":44} {"wall s":>7} {"API s":>6} {"calls":>5} {"by method":>18} '
              f'{"per chal.":>9} {"conns":>5}')
        for what, n, t, span, calls, by, per, conns in rows:
            if span is None:
                print(f'{what:44} {t:7.2f}')
                continue
            print(f'{what:44} {t:7.2f} {span:6.2f} {calls:5d} {by:>18} {per:9.2f} {conns:5d}')
    print('\nwall s: dns01 wall time (all calls of the row); API s: first request to last '
          'answer;\nconns: TLS connections dns01 opened to the emulator')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
