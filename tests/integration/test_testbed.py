"""Self-checks of the testbed, independent of dns01: when one of these fails,
the other failures are probably the harness, not dns01."""

import subprocess
import time

import testbed
from testbed import (NO_GRANT, NS1, NS2, RES_CLIENT, RES_CA, ZONES, acme_value, dig_ok, dig_txt,
                     soa_serial, note)


def test_servers_answer(tb):
    for server in (NS1, NS2):
        for zone in ZONES:
            assert dig_ok(server, zone, 'SOA'), f'{server} not authoritative for {zone}'
            assert soa_serial(server, zone) is not None
    for res in (RES_CLIENT, RES_CA):
        assert dig_ok(res, 'www.example.test', 'A', aa=False), f'{res} cannot resolve www'
        assert dig_ok(res, 'acme.test', 'SOA', aa=False), f'{res} cannot resolve acme.test SOA'


def test_tsig_keys_update_ns1(tb):
    """nsupdate with every granted key works, and the key without a grant is
    refused."""
    for key in (k for k in tb.keys if k not in NO_GRANT):
        name = f'tb-{key}.example.test'
        value = acme_value()
        tb.nsupdate(f'update add {name} 60 TXT "{value}"', key=key)
        rcode, aa, vals = dig_txt(NS1, name)
        assert (rcode, aa, vals) == ('NOERROR', True, [value]), (key, rcode, aa, vals)
        tb.nsupdate(f'update delete {name} TXT', key=key)
        assert dig_txt(NS1, name)[2] == [], f'{key}: delete did not work'
    for key in NO_GRANT:
        try:
            tb.nsupdate('update add tb-nogrant.example.test 60 TXT "x"', key=key)
        except AssertionError as e:
            assert 'REFUSED' in str(e), e
        else:
            raise AssertionError(f'{key} was allowed to update example.test')


# How long test_lag_controller waits for ns2 beyond the lag: only a broken
# transfer takes this long.
LAG_LIMIT_S = 60


def test_lag_controller(tb):
    """A change on ns1 reaches ns2 `lag` seconds later or after, never
    earlier; with lag None it never does.  How much later depends on how
    busy the machine is: only the lower bound is asserted (the time is
    noted)."""
    for lag in (0, 1.5):
        tb.set_lag(lag)
        name, value = f'tb-lag-{lag}.acme.test'.replace('.5', '5'), acme_value()
        t0 = time.monotonic()
        tb.nsupdate(f'update add {name} 60 TXT "{value}"', zone='acme.test')
        seen = None
        while time.monotonic() - t0 < lag + LAG_LIMIT_S:
            if dig_txt(NS2, name)[2] == [value]:
                seen = time.monotonic() - t0
                break
            time.sleep(0.02)
        assert seen is not None, f'lag {lag}: ns2 never got {name}'
        assert lag <= seen, f'lag {lag}: ns2 got it early, after {seen:.2f}s'
        note(f'lag {lag}: ns2 served the change after {seen:.3f}s')
        tb.nsupdate(f'update delete {name} TXT', zone='acme.test')
        # Let that transfer finish: a transfer still pending (BIND defers one
        # that comes < 0.5 s after the last) would carry the next change early.
        tb.sync()

    # Two changes in quick succession: both must arrive even though BIND
    # refuses the second transfer when it comes too soon after the first.
    tb.set_lag(0)
    a, b = 'tb-burst-a.acme.test', 'tb-burst-b.acme.test'
    tb.nsupdate(f'update add {a} 60 TXT "a"', zone='acme.test')
    time.sleep(0.15)
    tb.nsupdate(f'update add {b} 60 TXT "b"', zone='acme.test')
    t0 = time.monotonic()
    while dig_txt(NS2, b)[2] != ['b']:
        assert time.monotonic() - t0 < 60, 'second of two quick changes never reached ns2'
        time.sleep(0.05)
    tb.nsupdate(f'update delete {a} TXT', f'update delete {b} TXT', zone='acme.test')
    tb.sync()

    tb.set_lag(None)
    name = 'tb-never.acme.test'
    tb.nsupdate(f'update add {name} 60 TXT "x"', zone='acme.test')
    time.sleep(2)
    assert dig_txt(NS1, name)[2] == ['x']
    assert dig_txt(NS2, name)[0] == 'NXDOMAIN', 'lag None, but ns2 got the change'
    tb.set_lag(0)
    tb.sync()
    assert dig_txt(NS2, name)[2] == ['x'], 'sync() did not bring ns2 up to date'
    tb.nsupdate(f'update delete {name} TXT', zone='acme.test')


def test_resolver_logs_queries(tb):
    before = len(tb.resolver_log())
    assert dig_ok(RES_CLIENT, 'ns2.example.test', 'A', aa=False)
    new = tb.resolver_log()[before:]
    assert 'ns2.example.test. A IN' in new, f'query not in the resolver log:\n{new}'


def test_secret_scan_catches_a_leak(tb):
    """The suite-wide secret scan (secretscan.py, run by run.py after every
    test) sees what dns01 writes through the capture wrapper -- also when it
    runs outside run_dns01 -- and finds a whole secret and a 16-character
    piece of one, while a 15-character piece is not a hit."""
    scanner = testbed.SCANNER
    if scanner is None:
        raise testbed.Skip('run.py installed no secret scan')
    s = testbed.secret(33)                     # 44 base64 characters, no '='
    testbed.SECRETS.add(s)
    try:
        for planted, want in ((s, True), ('q' + s[7:23] + '!', True), ('q' + s[7:22] + '!', False)):
            scanner.check()                    # everything before this is scanned
            p = subprocess.run([testbed.dns01_binary(), 'no-such-command-' + planted],
                               capture_output=True, timeout=60, env=testbed.clean_env())
            assert p.returncode == 2 and planted.encode() in p.stderr, p.stderr
            hits = scanner.check()
            assert bool(hits) == want, f'planted {len(planted) - 2} characters of a secret: {hits}'
            scanner.totals['hits'] -= len(hits)   # planted, not leaked
    finally:
        testbed.SECRETS.discard(s)
