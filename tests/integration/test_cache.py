"""Cache-aware waits: a value written at a name whose TXT RRset dns01 changed
less than a TTL ago is not reported as ready while a resolver may still
answer with the older RRset (core/ledger.h)."""

import re
import subprocess
import time

from flows import expect_txt
from testbed import NS1, NS2, RES_CA, acme_value, note, run_dns01

# One name per test, and values removed in `finally`: a failed test must not
# leave values where the next test (or client run) expects none.
def _name(tag):
    return f'_acme-challenge.cache-{tag}.example.test'


def _cleanup(conf, name, *values):
    run_dns01(['-c', conf, '--timeout', '10', 'unset', name, *values])


def resolver_txt(name):
    """(rcode, values) the CA-side resolver answers for TXT name (RD=1, as a
    CA's validation query)."""
    out = subprocess.run(['dig', '+rec', '+time=2', '+tries=1', '+noall', '+comments',
                          '+answer', f'@{RES_CA}', name, 'TXT'],
                         capture_output=True, text=True).stdout
    m = re.search(r'status: (\w+)', out)
    rows = [line.split(None, 4) for line in out.splitlines() if not line.startswith(';')]
    values = [''.join(re.findall(r'"([^"]*)"', r[4])) for r in rows
              if len(r) == 5 and r[3] == 'TXT']
    return (m.group(1) if m else 'TIMEOUT'), values


def test_cache_wait_after_removal(tb):
    """The lego/uacme pattern, with a real resolver in the middle: v1 is set,
    a resolver caches {v1} (as a CA validating it would), v1 is removed and
    v2 set. When `set v2` returns, the same resolver must answer with v2.
    The TTL is well above the time two dns01 calls take under valgrind: the
    cache wait happens only while the removal is less than a TTL old."""
    ttl = 10
    conf = tb.write_config(ttl=ttl)
    tb.restart_ca_resolver()
    name = _name('removal')
    v1, v2 = acme_value(), acme_value()
    try:
        _removal_then_set(conf, name, ttl, v1, v2)
    finally:
        _cleanup(conf, name, v1, v2)


def _removal_then_set(conf, name, ttl, v1, v2):
    rc, _, err, _ = run_dns01(['-c', conf, 'set', name, v1])
    assert rc == 0, f'set v1 exited {rc}: {err[-600:]}'
    seen = resolver_txt(name)
    assert seen == ('NOERROR', [v1]), f'the resolver did not see v1: {seen}'
    rc, _, err, _ = run_dns01(['-c', conf, 'unset', name, v1])
    assert rc == 0, f'unset v1 exited {rc}: {err[-600:]}'
    removed = time.monotonic()
    assert resolver_txt(name) == ('NOERROR', [v1]), \
        'the resolver should still serve its cached {v1} (test premise)'

    rc, _, err, elapsed = run_dns01(['-c', conf, 'set', name, v2])
    assert rc == 0, f'set v2 exited {rc}: {err[-600:]}'
    rcode, values = resolver_txt(name)
    assert values == [v2], \
        f'set v2 returned while the resolver still answered {rcode} {values}:\n{err}'
    assert 'older answer may still be cached' in err, f'no cache-wait message:\n{err}'
    since = time.monotonic() - removed
    assert since >= ttl, f'returned {since:.2f}s after the removal, TTL is {ttl}s'
    note(f'set v2 took {elapsed:.2f}s; returned {since:.2f}s after v1 was gone (TTL {ttl}s)')


def test_cache_wait_after_hook_cleanup(tb):
    """lego's apex+wildcard pattern with a cleanup that does not wait: v1 is
    presented, a resolver caches {v1}, lego's cleanup deletes v1 and returns
    while ns2 (getting no changes) still serves it, then v2 is presented at
    the same name.  The pending removal makes that wait announce a cache
    wait, and when it returns the same resolver answers v2 only."""
    ttl = 10
    conf = tb.write_config(ttl=ttl)
    tb.restart_ca_resolver()
    name = _name('hook')
    v1, v2 = acme_value(), acme_value()
    try:
        rc, _, err, _ = run_dns01(['-c', conf, 'present', name + '.', v1])
        assert rc == 0, f'present v1 exited {rc}: {err[-600:]}'
        assert resolver_txt(name) == ('NOERROR', [v1]), 'the resolver did not see v1'
        tb.set_lag(None)
        rc, _, err, _ = run_dns01(['-c', conf, 'cleanup', name + '.', v1])
        assert rc == 0, f'cleanup v1 exited {rc}: {err[-600:]}'
        assert 'gone on every' not in err, f'the cleanup waited:\n{err}'
        expect_txt(NS2, name, [v1], 'when cleanup returned (ns2 gets no changes): ')
        tb.set_lag(0)
        rc, _, err, _ = run_dns01(['-c', conf, 'present', name + '.', v2])
        assert rc == 0, f'present v2 exited {rc}: {err[-600:]}'
        assert 'did not wait for the servers to drop them' in err, \
            f'no cache wait for the pending removal:\n{err}'
        rcode, values = resolver_txt(name)
        assert values == [v2], \
            f'present v2 returned while the resolver still answered {rcode} {values}:\n{err}'
    finally:
        tb.set_lag(0)
        tb.sync()
        # the hook's cleanup: it also drops v2's run journal entry
        run_dns01(['-c', conf, 'cleanup', name + '.', v2])
        _cleanup(conf, name, v1, v2)


def test_cache_wait_replaced_rrset(tb):
    """Adding a value to an RRset dns01 wrote less than a TTL ago replaces an
    answer a resolver may hold: the wait holds for the TTL after the new
    RRset is on every server (dehydrated without HOOK_CHAIN).  The TTL is
    well above the 3.5 s one dns01 call takes under valgrind: the wait
    happens only while the first change is less than a TTL old."""
    ttl = 10
    conf = tb.write_config(ttl=ttl)
    name = _name('replaced')
    v1, v2 = acme_value(), acme_value()
    try:
        _set_twice(conf, name, ttl, v1, v2)
    finally:
        _cleanup(conf, name, v1, v2)


def _set_twice(conf, name, ttl, v1, v2):
    rc, _, err, first = run_dns01(['-c', conf, 'set', name, v1])
    assert rc == 0, f'set v1 exited {rc}: {err[-600:]}'
    rc, _, err, second = run_dns01(['-c', conf, 'set', name, v2])
    assert rc == 0, f'set v2 exited {rc}: {err[-600:]}'
    assert second >= ttl, f'set v2 returned after {second:.2f}s, before the TTL ({ttl}s)'
    assert 'older answer may still be cached' in err, f'no cache-wait message:\n{err}'
    expect_txt(NS1, name, [v1, v2])
    note(f'first set {first:.2f}s, second set {second:.2f}s (TTL {ttl}s)')


def test_no_cache_wait_without_recent_change(tb):
    """Nothing changed recently at the name: no wait beyond propagation, and
    a removal never waits for caches. Other names are not affected.  (No
    wall-clock bound: the TTL is 30 s and --timeout 20, so any cache wait
    would be a timeout, exit 5, and it would be announced.)"""
    conf = tb.write_config(ttl=30)
    name = _name('none')
    v1 = acme_value()

    def no_cache_wait(args, what):
        rc, _, err, _ = run_dns01(['-c', conf, '--timeout', '20'] + args)
        assert rc == 0, f'{what} exited {rc}: {err[-600:]}'
        assert 'cache' not in err, f'{what}: unexpected cache wait:\n{err}'

    no_cache_wait(['set', name, v1], 'set')
    no_cache_wait(['unset', name, v1], 'unset')
    other = _name('other')
    try:
        no_cache_wait(['set', other, v1], 'set at another name')
    finally:
        _cleanup(conf, other, v1)


def test_cache_wait_timeout(tb):
    """A cache wait that cannot end within --timeout is a timeout (exit 5)
    whose report names the cache wait."""
    conf = tb.write_config(ttl=60)
    name = _name('timeout')
    v1, v2 = acme_value(), acme_value()
    try:
        assert run_dns01(['-c', conf, 'set', name, v1])[0] == 0
        assert run_dns01(['-c', conf, 'unset', name, v1])[0] == 0
        rc, _, err, elapsed = run_dns01(['-c', conf, '--timeout', '2', 'set', name, v2])
        assert rc == 5, f'expected exit 5, got {rc}: {err[-600:]}'
        assert 'older answer may still be cached' in err, err
        expect_txt(NS1, name, [v2])
    finally:
        _cleanup(conf, name, v1, v2)
