"""doctor's round trip and cache waits (issue 18).

doctor's round trip measures propagation: the time until every
authoritative server serves its test value, bounded by --timeout.  A cache
wait still running at the name (dns01 changed it less than a TTL ago, see
core/ledger.h) is named in the `cache` line and neither lengthens nor fails
the round trip; it stays in the ledger, so a renewal still waits for it.

A cache wait announces its end as clock time in whole seconds ("until
HH:MM:SS: waiting N s more"); the wait ends on that whole second, so the
announced time is the real end.  The tests read the ledger dns01 wrote
(<state_dir>/cache.ledger, "UNTIL CHANGED LIVE TTL NAME") for the bound the
wait is taken from, and compare what dns01 announced with that bound and
with when dns01 returned: orderings, never a bound on how long anything
took.
"""

import math
import re
import time

from providers_common import doctor_lines as lines
from testbed import SLOW, Skip, acme_value, note, run_dns01

ANNOUNCE = re.compile(r'older answer may still be cached by resolvers until '
                      r'(\d\d:\d\d:\d\d): waiting (\d+) s more')
FIRST = re.compile(r'resolvers may cache the older answer until (\d\d:\d\d:\d\d) '
                   r'\((\d+) s from now\)')


def _clock(t):
    """Whole-second epoch time t as dns01 shows it (local HH:MM:SS)."""
    return time.strftime('%H:%M:%S', time.localtime(t))


def _until(tb, name):
    """UNTIL of name's ledger line (as dns01 wrote it, 3 decimals), or None."""
    ledger = tb.tmp / 'state' / 'cache.ledger'
    for line in ledger.read_text().splitlines():
        f = line.split()
        if len(f) == 5 and f[4] == name:
            return float(f[0])
    return None


def _cleanup(conf, name, *values):
    run_dns01(['-c', conf, '--timeout', str(10 * SLOW), 'unset', name, *values])


def _doctor_propagation_only(tb, conf, domain, name, timeout, expect):
    """doctor DOMAIN with --timeout: exit 0; the cache line OK and holding
    every part of expect; the round trip OK with the propagation time, not
    less than the wait's own measure on stderr (doctor's adds the
    provider's write); no cache wait announced; the ledger's bound for the
    name not lowered.  Returns the round trip's time (text)."""
    before = _until(tb, name)
    rc, out, err, _ = run_dns01(['-c', conf, '--timeout', str(timeout), 'doctor', domain])
    assert rc == 0, f'doctor --timeout {timeout} exited {rc}:\n{out}\n{err[-1500:]}'
    got = {g[1]: g for g in lines(out)}
    cache = got['cache']
    assert cache[0] == 'OK', cache
    for part in expect + ['the round trip below does not wait for it']:
        assert part in cache[3], f'{part!r} not in the cache line: {cache[3]}'
    rt = got['round-trip']
    m = re.search(r'on every authoritative server after (\d+\.\d\d) s; removed, gone '
                  r'from every one after \d+\.\d\d s$', rt[3])
    assert rt[0] == 'OK' and m, rt
    present = re.findall(r'present on every authoritative server after (\d+\.\d\d) s', err)
    assert len(present) == 1, f'one wait for the test value expected:\n{err}'
    assert float(m.group(1)) >= float(present[0]), (rt, present)
    assert 'older answer' not in err and 'resolver cache' not in err, \
        f'the round trip waited for the cache:\n{err}'
    # not waited for, and not forgotten: a renewal still waits for it
    assert (_until(tb, name) or 0) >= (before or 0), 'the cache wait left the ledger'
    return m.group(1)


def test_doctor_round_trip_after_set_unset(tb):
    """set + unset at the name, then doctor --timeout 5 (x3 under valgrind):
    the removal's cache wait (TTL 60 s: far beyond the timeout) is named in
    the cache line (name, until when, the change and its TTL, what a renewal
    would wait), the round trip passes with the propagation time, and the
    cache wait stays in the ledger for the next renewal."""
    ttl, timeout = 60, 5 * SLOW
    conf = tb.write_config(ttl=ttl)
    domain = 'rtcache.example.test'
    name, v = f'_acme-challenge.{domain}', acme_value()
    try:
        rc, _, err, _ = run_dns01(['-c', conf, 'set', name, v])
        assert rc == 0, f'set exited {rc}: {err[-600:]}'
        rc, _, err, _ = run_dns01(['-c', conf, 'unset', name, v])
        assert rc == 0, f'unset exited {rc}: {err[-600:]}'
        until = _until(tb, name)
        assert until is not None, 'unset noted no cache wait (test premise)'
        end = math.ceil(until)
        took = _doctor_propagation_only(tb, conf, domain, name, timeout, [
            f'dns01 changed {name} ', f'(TTL {ttl} s)',
            f'a renewal started now waits until {_clock(end)} ('])
        note(f'round trip {took} s; the cache wait ran until {_clock(end)}')
    finally:
        _cleanup(conf, name, v)


def test_doctor_round_trip_after_set(tb):
    """A value set (and left) at the name less than a TTL ago: a renewal
    would replace that RRset and hold for TTL + 1 s once its values are
    everywhere.  doctor --timeout 5 (x3 under valgrind) names that hold in
    the cache line and does not wait for it."""
    ttl, timeout = 60, 5 * SLOW
    conf = tb.write_config(ttl=ttl)
    domain = 'rthold.example.test'
    name, v = f'_acme-challenge.{domain}', acme_value()
    try:
        rc, _, err, _ = run_dns01(['-c', conf, 'set', name, v])
        assert rc == 0, f'set exited {rc}: {err[-600:]}'
        _doctor_propagation_only(tb, conf, domain, name, timeout, [
            f'dns01 changed {name} ', f'(TTL {ttl} s)',
            f'a renewal started now waits {ttl + 1} s after its values are on every '
            'authoritative server'])
    finally:
        _cleanup(conf, name, v)


def test_cache_wait_announced_end(tb):
    """set v1, unset v1, set v2 at one name: the set of v2 waits out the
    removal's cache wait, bound U in the ledger.  Every announcement names
    the same end T, a whole second not before U (the wait must not claim to
    end while resolvers may still cache) and less than a second after it
    (the clock text's rounding): that is T = ceil(U).  dns01 returns no
    earlier than T.  Each 'waiting N s more' counts from about when it was
    said: T - N lies within the call, give or take the second that N and
    the clock text round to."""
    ttl = 5 * SLOW
    conf = tb.write_config(ttl=ttl)
    name = '_acme-challenge.announce.example.test'
    v1, v2 = acme_value(), acme_value()
    try:
        assert run_dns01(['-c', conf, 'set', name, v1])[0] == 0
        assert run_dns01(['-c', conf, 'unset', name, v1])[0] == 0
        until = _until(tb, name)
        assert until is not None, 'unset noted no cache wait (test premise)'
        end = math.ceil(until)
        start = time.time()
        rc, _, err, _ = run_dns01(['-c', conf, 'set', name, v2])
        returned = time.time()
        assert rc == 0, f'set v2 exited {rc}: {err[-600:]}'
        assert returned >= end, \
            f'set v2 returned at {returned:.3f}, before the cache wait ended ({end})'
        said = ANNOUNCE.findall(err) + FIRST.findall(err)
        if not said:
            assert 'cache' not in err, err
            raise Skip(f'set v2 reached every server after the cache wait ended '
                       f'({_clock(end)}): nothing announced to compare')
        assert FIRST.search(err) and ANNOUNCE.search(err), err
        for clock, n in said:
            assert clock == _clock(end), \
                f'announced until {clock}, the wait ends at {_clock(end)} ({until:.3f}):\n{err}'
            at = end - int(n)      # about when the line was said
            assert start - 1 < at < returned + 1, \
                f'"{n} s" before {clock} is {_clock(at)}, outside the call ' \
                f'({_clock(start)} .. {_clock(returned)}):\n{err}'
        left = [int(n) for _, n in ANNOUNCE.findall(err)]
        assert left == sorted(left, reverse=True), left
        note(f'announced {_clock(end)} (bound {until:.3f}); returned {returned:.3f}')
    finally:
        _cleanup(conf, name, v1, v2)
