"""dns01 flows shared by tests and measure_overhead.py: certbot-style hook
calls and checks of what the authoritative servers serve."""

import shlex
import subprocess
import tempfile
import time
from pathlib import Path

from testbed import (NS2, SECRETS, TxtWatcher, acme_value, certbot_env, clean_env, dig_txt,
                     dns01_binary, note, run_dns01)


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


def expect_txt_soon(server, name, expected, what='', grace=30.0):
    """Like expect_txt, but allow the testbed `grace` seconds to get there (a
    secondary's transfer after a change dns01 does not wait for; noted when
    it took a while).  Not a bound on dns01: the machine may be busy."""
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


def certbot_pebble(tb, conf, prefix='certbot-'):
    """certbot certonly for example.test + *.example.test against pebble with
    dns01 (config conf) as the manual hooks, while ns2 lags 3 s behind.

    Checks that certbot succeeded, that the certificate names both, and that
    the last auth hook returned only after ns2 served both values; returns
    the certificate path."""
    return certbot_pebble_run(tb, conf, ('example.test', '*.example.test'),
                              [(NS2, '_acme-challenge.example.test', 2)], prefix=prefix)


def certbot_pebble_run(tb, conf, domains, watch, prefix='certbot-', lag=3):
    """certbot certonly for `domains` against pebble with dns01 (config conf)
    as the manual hooks, while ns2 lags `lag` s behind.

    watch: [(server, name, count)]: `server` must serve (authoritatively) at
    least `count` TXT values at `name` - the values of this run, as nothing
    may be there before - by the time the last auth hook returns; each is
    polled every 10 ms.  Checks that certbot succeeded, that every auth and
    cleanup hook exited 0, that the certificate names every domain and that
    the last auth hook returned only after every watched server served its
    values; returns the certificate path."""
    dir_url, ca = tb.pebble()
    tb.restart_ca_resolver()
    work = Path(tempfile.mkdtemp(prefix=prefix, dir=tb.tmp))
    dns01 = f'{shlex.quote(dns01_binary())} -c {shlex.quote(conf)}'
    # certbot runs hooks through a shell: note (wall clock) when each auth
    # hook returned, to compare with when the servers served the values,
    # and every hook's exit status (certbot ignores the cleanup hook's).
    stamps, cleanups = work / 'auth-returned', work / 'cleanup-returned'
    auth_hook = (f'{dns01} auth; r=$?; echo "$(date +%s.%N) $r" >> '
                 f'{shlex.quote(str(stamps))}; exit $r')
    cleanup_hook = (f'{dns01} cleanup; r=$?; echo "$(date +%s.%N) $r" >> '
                    f'{shlex.quote(str(cleanups))}; exit $r')
    tb.set_lag(lag)
    for server, name, _ in watch:
        expect_txt(server, name, [], 'before certbot: ')
    watchers = [TxtWatcher(server, name, min_count=count, clock=time.time)
                for server, name, count in watch]
    for w in watchers:
        w.start()
    argv = ['certbot', 'certonly', '--manual', '--preferred-challenges', 'dns',
            '--manual-auth-hook', auth_hook, '--manual-cleanup-hook', cleanup_hook]
    for d in domains:
        argv += ['-d', d]
    argv += ['--server', dir_url, '--non-interactive', '--agree-tos',
             '--register-unsafely-without-email',
             '--config-dir', str(work / 'config'), '--work-dir', str(work / 'work'),
             '--logs-dir', str(work / 'logs')]
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=300,
                           env=clean_env({'REQUESTS_CA_BUNDLE': ca}))
    finally:
        for w in watchers:
            w.stop()

    # certbot passes on what the hooks print (its log keeps their stderr):
    # no secret may be there either (run_dns01 checks dns01's own output).
    log = work / 'logs' / 'letsencrypt.log'
    said = p.stdout + p.stderr + (log.read_text(errors='replace') if log.exists() else '')
    leaked = [s for s in SECRETS if s in said]
    assert not leaked, f'a secret is in certbot\'s output or log (see {work})'

    def read(path):
        return [line.split() for line in path.read_text().splitlines()] \
            if path.exists() else []
    auths, cleans = read(stamps), read(cleanups)
    returned = [float(t) for t, _ in auths]
    late = [w for w in watchers if returned and w.last_negative
            and returned[-1] <= w.last_negative]
    certs = sorted((work / 'config' / 'live').glob('*/cert.pem'))
    if p.returncode != 0 or not certs:
        tail = '\n'.join(log.read_text().splitlines()[-80:]) if log.exists() else ''
        failed = [r for _, r in auths if r != '0']
        why = f' - an auth hook failed (exit codes {[r for _, r in auths]})' if failed else \
            ''.join(f' - probably because the last auth hook returned '
                    f'{w.last_negative - returned[-1]:.3f}s before {w.server} served '
                    f'{w.min_count} value(s) at {w.name}' for w in late)
        raise AssertionError(f'certbot exited {p.returncode}, certificates: {certs}{why}\n'
                             f'stdout:\n{p.stdout}\nstderr:\n{p.stderr}\n'
                             f'--- certbot log (tail):\n{tail}')
    text = subprocess.run(['openssl', 'x509', '-noout', '-text', '-in', str(certs[0])],
                          capture_output=True, text=True, check=True).stdout
    for san in (f'DNS:{d}' for d in domains):
        assert san in text, f'{san} missing from {certs[0]}:\n{text}'
    assert len(returned) == len(domains), \
        f'expected {len(domains)} auth hook calls, saw {len(returned)}'
    assert all(r == '0' for _, r in auths), \
        f'an auth hook failed, exit codes {[r for _, r in auths]} (see the certbot log in {work})'
    assert len(cleans) == len(domains) and all(r == '0' for _, r in cleans), \
        f'expected {len(domains)} cleanup hook calls exiting 0, saw exit codes ' \
        f'{[r for _, r in cleans]} (see the certbot log in {work})'
    for w in late:
        raise AssertionError(f'the last auth hook returned {w.last_negative - returned[-1]:.3f}s '
                             f'before {w.server} was last seen without {w.min_count} '
                             f'value(s) at {w.name}')
    for w in watchers:
        assert w.first_positive, f'{w.server} was never seen serving {w.min_count} ' \
                                 f'value(s) at {w.name}'
        note(f'last auth hook returned {(returned[-1] - w.first_positive) * 1000:.0f} ms '
             f'after {w.server} served {w.min_count} value(s) at {w.name}')
    return certs[0]
