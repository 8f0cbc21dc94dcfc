"""The provider contract: every provider passes the same cases.

rfc2136 runs against the testbed's BIND (TSIG), cloudflare and sakuracloud
against their API emulators, which publish what they hold into that BIND, so
every wait meets real DNS. Each provider comes in through its adapter
(provider_adapters.py: config, credentials good and bad, emulator, faults,
what the provider side holds). The cases are the functions marked @case
below; for each adapter and case this module defines
test_contract_<provider>_<case>, which run.py collects like any other test
(`run.py test_contract_cloudflare` runs one provider, `run.py _retry_429`
one case for all). A case that cannot apply to a provider is skipped with
the adapter's reason. What is specific to one provider's API is tested
beside this, in test_provider_<provider>.py.

Every case makes its credentials through the adapter, which registers them
with testbed.SECRETS: any dns01 output (and certbot's, in certbot_pebble)
that contains one fails the case.

The real_account cases talk to a real account, when its credentials are in
the environment (DNS01_TEST_CLOUDFLARE_TOKEN and DNS01_TEST_CLOUDFLARE_ZONE;
DNS01_TEST_SAKURA_TOKEN, DNS01_TEST_SAKURA_SECRET and DNS01_TEST_SAKURA_ZONE),
and only outside the runner's private network namespace:

    DNS01_TEST_CLOUDFLARE_TOKEN=... DNS01_TEST_CLOUDFLARE_ZONE=example.com \\
        /usr/bin/python3 tests/integration/test_contract.py real
"""

import sys

import flows
import providers_common
from flows import auth_pair, cleanup_pair, expect_txt, expect_txt_soon
from provider_adapters import ADAPTERS, ZONE
from providers_common import (dns01_set, dns01_unset, have_outside_route, need_provider,
                              real_account_flow, run_parallel, summary, under_valgrind)
from testbed import (NS1, NS2, SECRETS, Skip, acme_value, certbot_env, note, run_dns01,
                     soa_serial)

CASES = []


def case(fn):
    CASES.append(fn)
    return fn


def _name(a, label):
    """A challenge name of this case and provider: providers share the
    testbed's BIND, where what rfc2136's cases put stays."""
    return f'_acme-challenge.{label}.{a.name}.{ZONE}'


def _txt(a, name):
    """The TXT values the provider side holds at name, sorted."""
    return sorted(v for t, v, _ in a.records(name) if t == 'TXT')


def _served(name, values, what):
    """ns1 and ns2 both serve exactly `values` at name."""
    for server in (NS1, NS2):
        expect_txt(server, name, values, what)


def _gone(a, name, values, what):
    """Once the provider side has published what it holds: ns1 serves
    exactly `values`, ns2 soon (a removal does not wait for the
    secondaries)."""
    assert a.wait_published()
    expect_txt(NS1, name, values, what)
    expect_txt_soon(NS2, name, values, what)


# --------------------------------------------------------------------------
# The cases
# --------------------------------------------------------------------------

@case
def additive_add(a, tb):
    """certbot's auth hook pair for add.<provider>.example.test and its
    wildcard (two values at one name, ns2 1 s behind): when the last auth
    returns, ns1 and ns2 serve both values beside a TXT value that was there
    before, and the provider holds all three; the cleanup pair removes
    exactly the two."""
    conf = a.start()
    name = _name(a, 'add')
    domain = name.split('.', 1)[1]
    unrelated = 'unrelated-' + acme_value()[:16]
    a.preset(name, [('TXT', unrelated, 60)])
    values = [acme_value(), acme_value()]
    tb.set_lag(1)
    outs, _ = auth_pair(tb, conf, domain, values, f'{domain},{domain}')
    _served(name, values + [unrelated], 'when the last auth returned: ')
    assert _txt(a, name) == sorted(values + [unrelated]), a.records(name)
    cleanup_pair(tb, conf, domain, values, outs, f'{domain},{domain}')
    assert _txt(a, name) == [unrelated], a.records(name)
    _gone(a, name, [unrelated], 'after the cleanups: ')


@case
def exact_delete(a, tb):
    """`set` of two values, `unset` of one: the other stays (provider side,
    ns1, ns2); `unset` of the other leaves nothing."""
    conf = a.start()
    name, v1, v2 = _name(a, 'del'), acme_value(), acme_value()
    rc, _, err, _ = dns01_set(conf, name, v1, v2)
    assert rc == 0, f'set exited {rc}: {err[-500:]}'
    _served(name, [v1, v2], 'after set: ')
    rc, _, err, _ = dns01_unset(conf, name, v1)
    assert rc == 0, f'unset of one value exited {rc}: {err[-500:]}'
    assert _txt(a, name) == [v2], a.records(name)
    _gone(a, name, [v2], 'after the unset of one value: ')
    rc, _, err, _ = dns01_unset(conf, name, v2)
    assert rc == 0, f'unset of the other exited {rc}: {err[-500:]}'
    assert a.records(name) == [], a.records(name)
    _gone(a, name, [], 'after the unset of the other: ')


@case
def foreign_untouched(a, tb):
    """A TXT value with TTL 3600 and a CAA record, both put at the name
    before dns01 runs: certbot's auth hook adds beside them and its cleanup
    removes only its own value; after each the foreign records are still
    there, TTL included (where the provider is DNS UPDATE an RRset has one
    TTL, so while dns01's value is there the foreign TXT has dns01's, and
    the cleanup gives it its own back)."""
    conf = a.start()
    name, v = _name(a, 'foreign'), acme_value()
    domain = name.split('.', 1)[1]
    other, caa = 'foreign-' + acme_value()[:16], '0 issue "letsencrypt.org"'
    a.preset(name, [('TXT', other, 3600), ('CAA', caa, 300)])
    before = a.records(name)
    assert before == [('CAA', caa, 300), ('TXT', other, 3600)], \
        f'harness: the preset records are {before}'
    rc, out, err, _ = run_dns01(['-c', conf, 'auth'], env=certbot_env(domain, v, 0))
    assert rc == 0, f'auth exited {rc}: {err[-500:]}'
    during = [r for r in a.records(name) if r[1] != v]
    if a.RRSET_TTL:
        note(f'while dns01\'s value is there: {during}')
        during = [r if r[0] != 'TXT' else ('TXT', r[1], 3600) for r in during]
    assert during == before, f'after auth: the foreign records {before} became {during}'
    assert _txt(a, name) == sorted([v, other]), a.records(name)
    _served(name, [v, other], 'after auth: ')
    rc, _, err, _ = run_dns01(['-c', conf, 'cleanup'],
                              env=certbot_env(domain, v, 0, auth_output=out.strip()))
    assert rc == 0, f'cleanup exited {rc}: {err[-500:]}'
    assert a.records(name) == before, f'after cleanup: {a.records(name)}, before: {before}'
    _gone(a, name, [other], 'after cleanup: ')


@case
def concurrent_writers(a, tb):
    """20 dns01 processes `set` 20 values at one name at once (where a TXT
    value was before): every one exits 0, and the provider side holds all 20
    and the one before, nothing lost, nothing extra, as ns1 and ns2 serve
    them once the provider published; then 20 `unset`s at once leave only
    the one before. (--no-wait: each write's own wait is not the point, and
    one right after another dns01 write at the name waits out the TTL of the
    answer it replaces, 60 s at Cloudflare: test_cache.py. 4 processes under
    valgrind.)"""
    conf = a.start()
    name = _name(a, 'conc')
    other = 'before-' + acme_value()[:16]
    a.preset(name, [('TXT', other, 60)])
    n = 4 if under_valgrind() else 20
    values = [acme_value() for _ in range(n)]
    for cmd, left in (('set', values + [other]), ('unset', [other])):
        results = run_parallel([['-c', conf, '--no-wait', cmd, name, v] for v in values])
        bad = [(rc, err.strip()[-300:]) for rc, _, err, _ in results if rc != 0]
        assert not bad, f'{cmd}: {len(bad)} of {n} exited non-zero: {bad[:3]}'
        held = _txt(a, name)
        assert held == sorted(left), \
            f'after {n} x {cmd}: {len(set(left) - set(held))} value(s) missing, ' \
            f'{len(set(held) - set(left))} extra: {held}'
        assert a.wait_published()
        tb.sync()
        _served(name, left, f'after {n} x {cmd}: ')
    note(f'{n} + {n} processes: {len(a.writes())} write requests'
         if a.requests() is not None else f'{n} + {n} processes')


@case
def bad_credentials(a, tb):
    """Credentials the provider refuses: exit 3, the message says they were
    rejected and names the key to fix; nothing is written (the zone's serial
    is unchanged); an API is asked at most twice, and refuses the first."""
    a.start()
    conf = a.bad_config()
    name = _name(a, 'badcred')
    serial = soa_serial(NS1, ZONE)
    rc, _, err, _ = dns01_set(conf, name, acme_value(), extra=('--timeout', '10'))
    assert rc == 3, f'expected exit 3 (credentials), got {rc}: {err[-500:]}'
    for word in a.BAD_WORDS:
        assert word in err, f'stderr does not say {word!r}:\n{err}'
    note(err.strip().splitlines()[-1])
    reqs = a.requests()
    if reqs is not None:
        assert reqs and reqs[0].status in a.BAD_STATUS and len(reqs) <= 2, summary(reqs)
    assert a.records(name) == [] and soa_serial(NS1, ZONE) == serial, 'written anyway'
    expect_txt(NS1, name, [])


@case
def retry_429(a, tb):
    """HTTP 429 with Retry-After: 1 on the write: dns01 says it waits as the
    server asks, writes again no sooner, and succeeds; the value is held
    once and served by ns1 and ns2."""
    conf = a.start()
    a.inject('429')
    name, v = _name(a, 'r429'), acme_value()
    rc, _, err, _ = dns01_set(conf, name, v)
    assert rc == 0, f'set exited {rc}: {err[-500:]}'
    writes = a.writes()
    assert [s for _, s in writes] == [429, 200], summary(a.requests())
    assert writes[1][0] - writes[0][0] >= 0.95, \
        f'wrote again {writes[1][0] - writes[0][0]:.2f} s after a 429 with Retry-After: 1'
    assert 'asks to wait 1 s (Retry-After)' in err, err[-800:]
    assert _txt(a, name) == [v], a.records(name)
    _served(name, [v], 'after set: ')


@case
def retry_5xx(a, tb):
    """HTTP 503 on the write, twice: dns01 tries again (and says so), and
    succeeds with the value held once, served by ns1 and ns2."""
    conf = a.start()
    a.inject('5xx', count=2)
    name, v = _name(a, 'r5xx'), acme_value()
    rc, _, err, _ = dns01_set(conf, name, v)
    assert rc == 0, f'set exited {rc}: {err[-500:]}'
    assert [s for _, s in a.writes()] == [503, 503, 200], summary(a.requests())
    assert 'HTTP 503, trying again' in err, err[-800:]
    assert _txt(a, name) == [v], a.records(name)
    _served(name, [v], 'after set: ')


@case
def malformed(a, tb):
    """A 200 whose JSON is cut off, on every request and then only on the
    writes: exit 4 each time (no crash), after a bounded number of requests,
    nothing written."""
    conf = a.start()
    name = _name(a, 'garbled')
    for every in (True, False):
        what = 'every request' if every else 'the writes'
        a.inject('malformed', count=1000, every=every)
        mark = len(a.requests())
        rc, _, err, _ = dns01_set(conf, name, acme_value())
        reqs = a.requests()[mark:]
        note(f'malformed on {what}: exit {rc}, {len(reqs)} requests: '
             f'{err.strip().splitlines()[-1] if err.strip() else ""}')
        assert rc >= 0, f'malformed on {what}: killed by signal {-rc}'
        assert rc == 4, f'malformed on {what}: expected exit 4, got {rc}: {err[-500:]}'
        assert any(r.fault == 'malformed' for r in reqs), summary(reqs)
        assert len(reqs) <= 10, f'{len(reqs)} requests: {summary(reqs)}'
        a.clear_faults()
    assert a.records(name) == [], a.records(name)


@case
def doctor_credentials(a, tb):
    """`dns01 doctor`: with good credentials every check is OK and the
    credentials line says how they were verified (exit 0); with bad ones
    the credentials line is FAIL naming what to fix, the checks before it
    are OK, no round trip is tried, exit 3."""
    conf = a.start()
    rc, cred, got, out, err = providers_common.doctor_credentials(
        conf, _name(a, 'doctor').split('.', 1)[1])
    assert rc == 0, f'doctor exited {rc}:\n{out}\n{err[-500:]}'
    assert all(g[0] == 'OK' for g in got), f'not OK: {[g for g in got if g[0] != "OK"]}'
    assert cred and all(w in cred[1] for w in a.DOCTOR_OK), (cred, a.DOCTOR_OK)
    assert [g[1] for g in got][-1] == 'round-trip', got
    if a.DOCTOR_ROUTE:
        assert any(r.route == a.DOCTOR_ROUTE for r in a.requests()), summary(a.requests())
    rc, cred, got, out, err = providers_common.doctor_credentials(
        a.bad_config(), _name(a, 'doctor-bad').split('.', 1)[1])
    note(f'bad credentials: {cred}')
    assert rc == 3, f'doctor with bad credentials exited {rc}:\n{out}\n{err[-500:]}'
    assert cred and cred[0] == 'FAIL' and all(w in cred[1] for w in a.DOCTOR_FAIL), \
        (cred, a.DOCTOR_FAIL)
    checks = [g[1] for g in got]
    assert all(g[0] == 'OK' for g in got[:checks.index('credentials')]), got
    assert 'round-trip' not in checks, got


@case
def certbot_pebble(a, tb):
    """certbot + pebble end to end: example.test + *.example.test with dns01
    as the manual hooks, ns2 3 s behind and the provider side publishing 2 s
    after it accepts (an emulator; BIND at once): certbot gets the
    certificate, pebble validated through the CA's resolver, and the cleanup
    hooks removed both values."""
    conf = a.start()
    a.publish_delay(2)
    ca_log = tb.tmp / 'res-ca' / 'unbound.log'
    before = len(ca_log.read_text())
    cert = flows.certbot_pebble(tb, conf, prefix=f'certbot-{a.name}-')
    assert '_acme-challenge.example.test. TXT IN' in ca_log.read_text()[before:], \
        'the CA-side resolver never saw the validation query'
    reqs = a.requests()
    if reqs is not None:
        note(f'API calls of the whole certbot run: {len(reqs)}, writes: {len(a.writes())}')
    name = '_acme-challenge.' + ZONE
    assert a.records(name) == [], a.records(name)
    assert a.wait_published()
    expect_txt(NS1, name, [], 'after certbot: ')
    note(f'certificate {cert.parent.name} issued')


@case
def no_secret_in_output(a, tb):
    """dns01 -v traces its requests but prints no secret: `set` and `unset`
    with good credentials, `set` with bad ones (run_dns01 fails on any
    registered secret: this adapter registered every one it made); a
    credential header shown is shown redacted."""
    conf = a.start()
    name, v = _name(a, 'verbose'), acme_value()
    rc, _, err, _ = dns01_set(conf, name, v, extra=('-v',))
    assert rc == 0, f'set -v exited {rc}: {err[-500:]}'
    for word in a.TRACE:
        assert word in err, f'no {word!r} in the -v trace:\n{err[-1500:]}'
    if a.REDACTED:
        shown = [line for line in err.splitlines() if a.REDACTED.lower() in line.lower()]
        assert shown and all('redacted' in line.lower() for line in shown), \
            f'{a.REDACTED} not shown, or not redacted, at -v:\n{err[-1500:]}'
    rc, _, err, _ = dns01_unset(conf, name, v, extra=('-v',))
    assert rc == 0, f'unset -v exited {rc}: {err[-500:]}'
    for word in a.UNSET_TRACE:
        assert word in err, f'no {word!r} in the -v trace of unset:\n{err[-1500:]}'
    rc, _, err, _ = dns01_set(a.bad_config(), _name(a, 'verbose-bad'), acme_value(),
                              extra=('-v', '--timeout', '10'))
    assert rc == 3, f'set -v with bad credentials exited {rc}: {err[-500:]}'
    assert a.made and set(a.made) <= SECRETS, 'the adapter did not register its secrets'


@case
def real_account(a, tb):
    """The add/delete flow against the provider's real account, when its
    credentials are in the environment: two values added at one name (each
    `set` returns when every authoritative server serves them), one removed
    exactly, then the other. Skipped without them, and always under run.py
    (no route out of its network namespace): run `test_contract.py real`."""
    zone, section, timeout = a.real_section()
    if not have_outside_route():
        raise Skip('no route out of this network namespace; run '
                   '`/usr/bin/python3 tests/integration/test_contract.py real` on the host')
    need_provider(a.name)
    real_account_flow(tb, zone, section, a.name, timeout)


# --------------------------------------------------------------------------
# test_contract_<provider>_<case>, for run.py
# --------------------------------------------------------------------------

def _test(adapter, fn):
    def test(tb):
        if fn.__name__ in adapter.SKIPS:
            raise Skip(adapter.SKIPS[fn.__name__])
        a = adapter(tb)
        try:
            fn(a, tb)
        except AssertionError:
            if a.log_text():
                note(a.log_text())
            raise
    test.__name__ = test.__qualname__ = f'test_contract_{adapter.name}_{fn.__name__}'
    test.__doc__ = f'{adapter.name}: {fn.__doc__}'
    return test


for _adapter in ADAPTERS:
    for _fn in CASES:
        _t = _test(_adapter, _fn)
        globals()[_t.__name__] = _t
del _adapter, _fn, _t


if __name__ == '__main__':
    # Only the real-account cases can run outside the runner (no testbed).
    if sys.argv[1:] != ['real']:
        sys.exit('usage: test_contract.py real   (the other tests run under run.py)')
    from testbed import NOTES
    for _adapter in ADAPTERS:
        name = f'test_contract_{_adapter.name}_real_account'
        try:
            globals()[name](None)
            print(f'PASS {name}')
        except Skip as e:
            print(f'SKIP {name}: {e}')
        for n in NOTES:
            print('    ' + n)
        NOTES.clear()
