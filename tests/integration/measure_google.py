#!/usr/bin/python3
"""How many Google Cloud DNS API calls does a certificate cost?

    /usr/bin/python3 tests/integration/measure_google.py [LATENCY]

Against the Google Cloud DNS emulator (google_emulator.py) with LATENCY
seconds added to every answer (default 0.1) and changes done (and
published) google_emulator.CHANGE_DELAY seconds after they are made:

  2 names   certbot's auth pair for example.test and *.example.test
            (CERTBOT_REMAINING_CHALLENGES 1, 0), then the cleanup pair
  20 names  certbot's 20 auth calls (REMAINING 19..0) for 20 names in
            example.test, then the 20 cleanups

and prints, per phase, the calls by kind: token (POST to the token
endpoint), zones (managedZones.list), read (resourceRecordSets.list),
change (changes.create) and poll (changes.get).
"""

import collections
import os
import re
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import testbed  # noqa: E402
import google_emulator  # noqa: E402
from providers_common import write_private  # noqa: E402
from testbed import RES_CLIENT, acme_value, certbot_env, run_dns01  # noqa: E402

KINDS = (('token', 'POST', '/token'), ('zones', 'GET', '/managedZones$'),
         ('read', 'GET', '/rrsets'), ('change', 'POST', '/changes$'),
         ('poll', 'GET', '/changes/'))


def _conf(tb, em, key):
    text = (f'[dns01]\nresolvers = {RES_CLIENT}\nstate_dir = {tb.tmp / "state"}\n'
            f'timeout = 120\n\n[provider gcloud]\ntype = google\n'
            f'zones = example.test acme.test\nkey_file = {key}\n'
            f'api_url = {em.api_url}\nca_file = {em.ca_file}\n')
    return write_private(tb.tmp / 'measure-google.conf', text)


def _count(em, mark):
    reqs = em.requests[mark:]
    c = collections.Counter()
    for r in reqs:
        for kind, method, route in KINDS:
            if r.method == method and re.search(route, r.route):
                c[kind] += 1
    return len(reqs), c


def _run_cert(tb, em, conf, domains, rows, what):
    vals = [acme_value() for _ in domains]
    all_domains = ','.join(domains)
    outs = []
    for phase in ('auth', 'cleanup'):
        mark, t0 = len(em.requests), time.monotonic()
        for i, (d, v) in enumerate(zip(domains, vals)):
            remaining = len(domains) - 1 - i
            env = certbot_env(d.lstrip('*.'), v, remaining, all_domains,
                              outs[i] if phase == 'cleanup' else None)
            rc, out, err, _ = run_dns01(['-c', conf, phase], env=env, timeout=180)
            if rc != 0:
                raise RuntimeError(f'{phase} {d} exited {rc}: {err.strip()[-600:]}')
            if phase == 'auth':
                outs.append(out.strip())
        n, c = _count(em, mark)
        rows.append((f'{what}: {phase}', time.monotonic() - t0, n, c))


def main():
    latency = float(sys.argv[1]) if len(sys.argv) > 1 else 0.1
    testbed.enter_namespace(Path(__file__).resolve(), sys.argv[1:])
    sys.stdout.reconfigure(line_buffering=True)
    binary = testbed.dns01_binary()
    tb = testbed.Testbed()
    rows = []
    try:
        testbed.setup_namespace(tb.tmp)
        shutil.copy2(binary, tb.tmp / 'dns01')
        os.environ['DNS01'] = str(tb.tmp / 'dns01')
        tb.start()
        em = tb.google()
        em.reset()
        em.on_secret = testbed.SECRETS.add
        em.latency = latency
        em.change_delay = em.publish_delay = google_emulator.CHANGE_DELAY
        key, _ = google_emulator.make_key(tb.tmp, em)
        conf = _conf(tb, em, key)
        _run_cert(tb, em, conf, ['example.test', '*.example.test'], rows, '2 names')
        _run_cert(tb, em, conf, [f'm{i:02d}.example.test' for i in range(20)], rows,
                  '20 names')
    finally:
        tb.stop()
        shutil.rmtree(tb.tmp, ignore_errors=True)
    print(f'\nGoogle Cloud DNS emulator, {latency * 1000:.0f} ms added to every answer, '
          f'changes done after {google_emulator.CHANGE_DELAY} s')
    print(f'{"run":24} {"wall s":>7} {"calls":>5}  ' + ' '.join(f'{k:>6}' for k, _, _ in KINDS))
    for what, t, n, c in rows:
        print(f'{what:24} {t:7.2f} {n:5d}  ' + ' '.join(f'{c[k]:6d}' for k, _, _ in KINDS))
    return 0


if __name__ == '__main__':
    sys.exit(main())
