"""dns01 flows shared by tests and measure_overhead.py: certbot-style hook
calls and checks of what the authoritative servers serve."""

import time

from testbed import NS2, TxtWatcher, acme_value, certbot_env, dig_txt, note, run_dns01


def auth_pair(tb, conf, domain, values, all_domains=None):
    """Two certbot auth calls (REMAINING 1 then 0); returns their stdout lines
    and the monotonic time the last one returned."""
    outs = []
    for remaining, value in zip((1, 0), values):
        rc, out, err, el = run_dns01(['-c', conf, 'auth'],
                                     env=certbot_env(domain, value, remaining, all_domains))
        assert rc == 0, f'auth (REMAINING={remaining}) exited {rc}: {err.strip()[-500:]}'
        lines = out.splitlines()
        assert len(lines) == 1, f'auth must print exactly one line on stdout, got {out!r}'
        outs.append(out.strip())
    return outs, time.monotonic()


def cleanup_pair(tb, conf, domain, values, outs, all_domains=None):
    for remaining, value, out in zip((1, 0), values, outs):
        rc, _, err, _ = run_dns01(['-c', conf, 'cleanup'],
                                  env=certbot_env(domain, value, remaining, all_domains, out))
        assert rc == 0, f'cleanup (REMAINING={remaining}) exited {rc}: {err.strip()[-500:]}'


def expect_txt(server, name, expected, what=''):
    """`server` answers authoritatively with exactly the values `expected`."""
    rcode, aa, values = dig_txt(server, name)
    if not expected:
        assert rcode in ('NXDOMAIN', 'NOERROR') and aa and not values, \
            f'{what}{server} {name}: expected no TXT, got {rcode} aa={aa} {values}'
        return
    assert rcode == 'NOERROR' and aa, f'{what}{server} {name}: {rcode} aa={aa} {values}'
    assert sorted(values) == sorted(expected), \
        f'{what}{server} {name}: expected {sorted(expected)}, got {sorted(values)}'


def expect_txt_soon(server, name, expected, what='', grace=3.0):
    """Like expect_txt, but allow `grace` seconds (noted when used)."""
    t0 = time.monotonic()
    while True:
        try:
            expect_txt(server, name, expected, what)
            if time.monotonic() - t0 > 0.05:
                note(f'{server} {name} reached the expected state '
                     f'{time.monotonic() - t0:.2f}s after dns01 returned')
            return
        except AssertionError:
            if time.monotonic() - t0 > grace:
                raise
            time.sleep(0.05)


def timed_auth_pair(tb, conf, domain, lag):
    """Apex+wildcard-style auth pair with ns2 `lag` s behind, watched by a
    10 ms raw-UDP poller on ns2. Returns a dict: values, outs, start,
    returned (last auth), first_positive/last_negative (ns2), overhead
    (returned - first_positive, seconds)."""
    name = '_acme-challenge.' + domain
    values = [acme_value(), acme_value()]
    tb.set_lag(lag)
    watcher = TxtWatcher(NS2, name, values)
    start = time.monotonic()
    watcher.start()
    try:
        outs, returned = auth_pair(tb, conf, domain, values, f"{domain},{domain}")
        # Keep watching: if dns01 returned early, we still learn when ns2 got it.
        watcher.wait_positive(timeout=(lag or 0) + 5)
    finally:
        watcher.stop()
    r = dict(values=values, outs=outs, start=start, returned=returned,
             first_positive=watcher.first_positive, last_negative=watcher.last_negative,
             queries=watcher.queries)
    r['overhead'] = returned - watcher.first_positive if watcher.first_positive else None
    return r
