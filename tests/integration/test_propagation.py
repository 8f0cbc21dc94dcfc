"""Waiting for every authoritative server: a lagging and a dead secondary."""

from flows import cleanup_pair, expect_txt, expect_txt_soon, timed_auth_pair
from testbed import NS1, NS2, acme_value, dig_txt, note, run_dns01


def test_secondary_lag(tb):
    """ns2 gets changes 3 s late: the last auth returns only once ns2 serves
    both values.  How soon after is a timing, measured by `make bench` (and
    noted here), not asserted: the machine may be busy or under valgrind."""
    conf = tb.write_config()
    domain = 'lag.example.test'
    r = timed_auth_pair(tb, conf, domain, lag=3)
    assert r['last_negative'] is None or r['returned'] > r['last_negative'], \
        'dns01 returned while ns2 did not yet serve both values ' \
        f'({r["last_negative"] - r["returned"]:.3f}s before ns2 was last seen without them)'
    assert r['first_positive'] is not None, \
        f'ns2 never served both values ({r["queries"]} queries) - lag controller broken?'
    lagged = r['first_positive'] - r['start']
    assert lagged >= 2.5, f'harness: ns2 served the values {lagged:.2f}s after the start, ' \
                          'expected >= 3 s of lag'
    if r['overhead'] >= 0:
        note(f'overhead {r["overhead"] * 1000:.0f} ms (ns2 served both values '
             f'{lagged:.2f}s after the first auth started)')
    else:   # dns01 saw ns2 before our 10 ms poller did
        note(f'overhead below the poll period: dns01 returned {-r["overhead"] * 1000:.0f} ms '
             f'before the 10 ms poller saw ns2 serve (after {lagged:.2f}s)')
    tb.set_lag(0)
    cleanup_pair(tb, conf, domain, r['values'], r['outs'], f'{domain},{domain}')
    expect_txt(NS1, '_acme-challenge.' + domain, [], 'after cleanup: ')
    # the cleanup does not wait for the secondary
    expect_txt_soon(NS2, '_acme-challenge.' + domain, [], 'after cleanup: ')


def test_secondary_never_updated(tb):
    """ns2 never gets the change: exit 5 at the timeout, naming ns2 and what
    it answered."""
    conf = tb.write_config()
    name, value = '_acme-challenge.never.example.test', acme_value()
    tb.set_lag(None)
    rc, out, err, elapsed = run_dns01(['-c', conf, 'set', name, value, '--timeout', '4'],
                                      timeout=30)
    assert rc == 5, f'expected exit 5 (not propagated), got {rc}: {err.strip()[-500:]}'
    # It gave up at its timeout, not before (an upper bound would be a
    # wall-clock bound, and the machine may be busy or under valgrind).
    assert elapsed >= 3.5, f'--timeout 4 but dns01 gave up after {elapsed:.1f}s'
    assert 'within 4 s' in err, f'the report does not name the 4 s timeout:\n{err}'
    assert 'ns2.example.test' in err, f'stderr does not name ns2.example.test:\n{err}'
    assert '127.53.0.2' in err, f'stderr does not name the address 127.53.0.2:\n{err}'
    note('stderr: ' + ' | '.join(l.strip() for l in err.strip().splitlines()[-4:]))
    assert value in dig_txt(NS1, name)[2], 'the value is not even on ns1'
    assert not dig_txt(NS2, name)[2], 'harness: ns2 got the change with lag None'

    tb.set_lag(0)
    tb.sync()
    rc, _, err, _ = run_dns01(['-c', conf, 'unset', name, value])
    assert rc == 0, f'unset exited {rc}: {err.strip()[-500:]}'
    for server in (NS1, NS2):
        expect_txt(server, name, [], 'after unset: ')


MANY = 50                 # names in one UPDATE
MANY_LAG = 2              # s that ns2 is behind
DEHYDRATED_ENV = {'BASEDIR': '/var/lib/dehydrated', 'CERTDIR': '/var/lib/dehydrated/certs'}


def _txt_queries(text, prefix):
    """TXT queries for names starting with prefix in BIND query log text."""
    return sum(1 for line in text.splitlines()
               if 'query: ' + prefix in line and ' IN TXT ' in line)


def test_one_update_many_names(tb):
    """MANY names written in one UPDATE (dehydrated with HOOK_CHAIN) while
    ns2 lags: the call returns only once ns2 serves every one of them, and
    ns2 was asked fewer TXT queries than there are names: a name it serves
    stands for every name of the same UPDATE (core/propagation.h)."""
    conf = tb.write_config()
    doms = [f'many{i}.example.test' for i in range(MANY)]
    vals = [acme_value() for _ in doms]
    chain = [x for d, v in zip(doms, vals) for x in (d, 'tok', v)]
    ns2 = tb.servers['ns2']
    assert tb.rndc(NS2, 'querylog', 'on').returncode == 0
    try:
        tb.set_lag(MANY_LAG)
        before = ns2.log_sizes()
        rc, _, err, _ = run_dns01(['-c', conf, 'deploy_challenge'] + chain, env=DEHYDRATED_ENV)
        assert rc == 0, f'deploy_challenge exited {rc}: {err[-800:]}'
        asked = _txt_queries(ns2.log_text(before, tail=100000), '_acme-challenge.many')
        for d, v in zip(doms, vals):
            expect_txt(NS2, '_acme-challenge.' + d, [v], 'when deploy_challenge returned: ')
        assert 0 < asked < MANY, f'ns2 was asked {asked} TXT queries for {MANY} names'
        note(f'{MANY} names, ns2 {MANY_LAG} s behind: ns2 asked {asked} TXT queries')
    finally:
        tb.rndc(NS2, 'querylog', 'off')
        tb.settle()
        rc, _, err, _ = run_dns01(['-c', conf, 'clean_challenge'] + chain, env=DEHYDRATED_ENV)
        assert rc == 0, f'clean_challenge exited {rc}: {err[-800:]}'


def test_arrival_learned(tb):
    """ns2 gets each change 2 s late: a write notes in <state_dir>/arrivals
    when ns2 first served it (after the lag, never before), and the next
    write at the same zone polls by that window (said with -v)."""
    conf = tb.write_config()
    tb.set_lag(MANY_LAG)
    name = '_acme-challenge.learn.example.test'
    name2 = '_acme-challenge.learn2.example.test'
    values = [acme_value(), acme_value()]
    try:
        rc, _, err, _ = run_dns01(['-c', conf, 'set', name, values[0]])
        assert rc == 0, f'first set exited {rc}: {err[-600:]}'
        lines = (tb.tmp / 'state' / 'arrivals').read_text().splitlines()
        ns2 = [l.split() for l in lines if l.split()[1:3] == ['example.test', NS2]]
        assert len(ns2) == 1, f'no arrival noted for ns2:\n{lines}'
        delays = [float(d) for d in ns2[0][3].split(',')]
        assert len(delays) == 1 and delays[0] >= MANY_LAG, \
            f'ns2 noted as serving {delays} s after the write (lag {MANY_LAG} s)'
        # another name of the zone: the same name would wait for caches
        rc, _, err, _ = run_dns01(['-v', '-c', conf, 'set', name2, values[1]])
        assert rc == 0, f'second set exited {rc}: {err[-600:]}'
        assert f'example.test at {NS2}: its values usually arrive' in err, err[-1500:]
        note(f'ns2 noted at {delays[0]:.3f} s for a {MANY_LAG} s lag')
    finally:
        tb.settle()
        run_dns01(['-c', conf, 'unset', name, values[0]])
        run_dns01(['-c', conf, 'unset', name2, values[1]])
