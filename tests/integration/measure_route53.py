#!/usr/bin/python3
"""How many Route 53 API calls does a certificate cost?

    /usr/bin/python3 tests/integration/measure_route53.py [LATENCY]

Against the Route 53 emulator (route53_emulator.py), LATENCY seconds added
to every API answer (default 0.1) and changes INSYNC 1 s after they are
made (route53_emulator.INSYNC_DELAY is shorter; the real service "generally
within 60 seconds"):

  2 names   example.test + *.example.test: certbot's auth pair (REMAINING
            1, 0) and cleanup pair
  20 names  20 names in example.test: auth with REMAINING 19..0, then the
            20 cleanups

and prints the API calls by operation (ListHostedZonesByName,
ListResourceRecordSets, ChangeResourceRecordSets, GetChange) and wall time.
"""

import collections
import os
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import testbed  # noqa: E402
from testbed import acme_value, certbot_env, run_dns01  # noqa: E402

OPS = (('zones', 'hostedzonesbyname'), ('list', '/rrset?'), ('change', 'POST'),
       ('getchange', '/change/'))


def _kind(r):
    if r.method == 'POST':
        return 'change'
    if 'hostedzonesbyname' in r.route:
        return 'zones'
    if '/change/' in r.route:
        return 'getchange'
    return 'list'


def _count(reqs):
    c = collections.Counter(_kind(r) for r in reqs)
    return c, ' '.join(f'{k}x{c[k]}' for k, _ in OPS if c[k])


def _run_cert(tb, em, conf, domains, all_domains):
    vals = [acme_value() for _ in domains]
    outs = []
    mark, t0 = len(em.requests), time.monotonic()
    for i, (d, v) in enumerate(zip(domains, vals)):
        rc, out, err, _ = run_dns01(['-c', conf, 'auth'], env=certbot_env(
            d, v, len(domains) - 1 - i, all_domains), timeout=180)
        if rc != 0:
            raise RuntimeError(f'auth {d} exited {rc}: {err[-600:]}')
        outs.append(out.strip())
    auth = (em.requests[mark:], time.monotonic() - t0)
    mark, t0 = len(em.requests), time.monotonic()
    for i, (d, v, o) in enumerate(zip(domains, vals, outs)):
        rc, _, err, _ = run_dns01(['-c', conf, 'cleanup'], env=certbot_env(
            d, v, len(domains) - 1 - i, all_domains, o), timeout=180)
        if rc != 0:
            raise RuntimeError(f'cleanup {d} exited {rc}: {err[-600:]}')
    return auth, (em.requests[mark:], time.monotonic() - t0)


def main():
    latency = float(sys.argv[1]) if len(sys.argv) > 1 else 0.1
    testbed.enter_namespace(Path(__file__).resolve(), sys.argv[1:])
    sys.stdout.reconfigure(line_buffering=True)
    binary = testbed.dns01_binary()
    if not os.access(binary, os.X_OK):
        sys.exit(f'dns01 binary not found/executable at {binary} (run `make`)')
    tb = testbed.Testbed()
    failed = False
    try:
        testbed.setup_namespace(tb.tmp)
        shutil.copy2(binary, tb.tmp / 'dns01')
        os.environ['DNS01'] = str(tb.tmp / 'dns01')
        tb.start()
        from provider_adapters import r53_config, r53_emulator_reset, r53_key
        em = r53_emulator_reset(tb)
        print(f'Route 53 emulator, {latency * 1000:.0f} ms added to every API answer, '
              'INSYNC after 1 s')
        print(f'{"certificate":34} {"wall s":>7} {"calls":>5}  by operation')
        for label, domains in (
                ('2 names (apex + wildcard)', ['example.test', 'example.test']),
                ('20 names', [f'm{i:02d}.example.test' for i in range(20)])):
            tb.reset()
            em = r53_emulator_reset(tb)
            em.latency, em.insync_delay = latency, 1.0
            conf = r53_config(tb, em, r53_key(em), main={'timeout': '120'})
            all_domains = ','.join(domains)
            try:
                for what, (reqs, wall) in zip(('auth', 'cleanup'),
                                              _run_cert(tb, em, conf, domains, all_domains)):
                    _, by = _count(reqs)
                    print(f'  {label + ", " + what:32} {wall:7.2f} {len(reqs):5d}  {by}')
            except RuntimeError as e:
                failed = True
                print(f'  {label}: FAILED: {e}')
                print(em.log_text(40))
    finally:
        tb.stop()
        if failed:
            print(f'logs and configs kept in {tb.tmp}')
        else:
            shutil.rmtree(tb.tmp, ignore_errors=True)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
