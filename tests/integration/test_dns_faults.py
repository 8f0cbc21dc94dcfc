"""DNS faults between dns01 and the authoritative servers (issue 16).

FAULT_ZONE (faults.example.test) lives on ns1 + ns2 like the other zones,
but its NS set and delegation name pns1/pns2 at 127.53.0.11/.12, where
dnsproxy.DnsProxy instances forward to ns1/ns2 and inject faults.  dns01
finds the zone through the resolver (which reaches the proxies too, but
only with names outside the fault scope), then asks the proxies directly:
the discovery query "<name> SOA" and the wait's "<name> TXT".  A fault
scoped to the TXT type hits only the wait; one scoped to the name hits
discovery too.  The UPDATE goes to the zone's MNAME, ns1 itself.

What each test proves (expected outcomes from README "How propagation is
checked" and "Exit codes"):
  - loss of 30 % of the packets both ways, at both nameservers, discovery
    and wait: set and unset still succeed; the first query about the name
    lost at both: discovery asks again;
  - truncated UDP answers (both), a server that answers UDP only with TC=1
    (pns2): the answers come over TCP, set/unset succeed;
  - answers 0.4 s late (both), and 2.5 s late (pns2, past dns01's 1.5 s
    query timeout): set/unset succeed;
  - answers with another id, another question, or from another source
    address, each claiming the value before it is there: ignored — alone
    they never confirm (exit 5), and followed by the real answer, dns01
    waits for the real one;
  - AA=0 answers with the value do not count: exit 5, each address "lame";
    success once an address answers with AA=1 again;
  - SERVFAIL / silence in the wait: exit 5, each address with what it did;
    REFUSED: lame (exit 5 when every nameserver is; not waited for when
    another has the value);
  - SERVFAIL / REFUSED / silence at discovery on every nameserver: exit 6,
    naming each, nothing written.
"""

import threading
import time

from flows import expect_txt
from testbed import (FAULT_ZONE, NS1, NS2, PROXY1, PROXY2, T_SOA, T_TXT, acme_value, dig_txt,
                     note, run_dns01)

NAME = '_acme-challenge.' + FAULT_ZONE
PNS1, PNS2 = 'pns1.example.test', 'pns2.example.test'
SHORT = '2'         # --timeout where exit 5 is expected: its length is no bound
LIMIT = 30          # s: generous limit of a wait only a wrong dns01 reaches
SEEDS = (1601, 1602)  # the proxies' RNGs (drop): a run drops the same packets
_PROXIES = []


def _proxies(tb):
    """The two proxies (started once per runner), reset: no faults, zero counts."""
    if not _PROXIES:
        import atexit
        from dnsproxy import DnsProxy
        # Seeds of their own: with one seed both would drop the same packets.
        _PROXIES.extend([DnsProxy(PROXY1, NS1, seed=SEEDS[0]).start(),
                         DnsProxy(PROXY2, NS2, seed=SEEDS[1]).start()])
        for p in _PROXIES:
            atexit.register(p.stop)
    for p in _PROXIES:
        p.reset()
    # No cache wait from the test's previous write (README "TTLs and
    # resolver caches"): not what these tests are about.
    (tb.tmp / 'state' / 'cache.ledger').unlink(missing_ok=True)
    if dig_txt(NS1, NAME)[2]:
        tb.nsupdate(f'update delete {NAME} TXT', zone=FAULT_ZONE)
        tb.sync()
    return _PROXIES


def _dns01(conf, *args, timeout=None):
    return run_dns01(['-c', conf, *args], timeout=timeout)


def _line(err, addr):
    """The timeout report's line of address addr ('' when there is none)."""
    return next((l.strip() for l in err.splitlines() if f' {addr}: ' in l
                 and l.strip().split(' ', 1)[0] in ('ok', 'FAIL', 'lame')), '')


def _expect_report(rc, err, want):
    """Exit 5 and, per address, a report line starting with status that
    contains each text; want = {addr: (status, text...)}."""
    assert rc == 5, f'expected exit 5 (not propagated), got {rc}:\n{err.strip()[-800:]}'
    for addr, (status, *texts) in want.items():
        line = _line(err, addr)
        assert line.startswith(status) and all(t in line for t in texts), \
            f'report line of {addr}: expected {status} with {texts}, got {line!r}:\n{err}'


def _figures(what, *proxies):
    note(what + ': ' + '; '.join(
        f'{n} ' + ', '.join(f'{k} {v}' for k, v in p.counts().items() if v)
        for n, p in zip(('pns1', 'pns2'), proxies)))


def _until(cond, what, bg, limit=LIMIT):
    """Wait until cond() holds, or dns01 (bg) has exited (the caller checks)."""
    deadline = time.monotonic() + limit
    while not cond() and bg.is_alive():
        assert time.monotonic() < deadline, f'not within {limit} s: {what}'
        time.sleep(0.02)


class _Bg(threading.Thread):
    """run_dns01 in a thread: result = (rc, out, err, elapsed) or error."""

    def __init__(self, conf, *args):
        super().__init__(daemon=True)
        self.conf, self.args, self.result, self.error = conf, args, None, None

    def run(self):
        try:
            self.result = _dns01(self.conf, *self.args, timeout=LIMIT + 30)
        except AssertionError as e:
            self.error = e

    def finish(self):
        self.join(LIMIT + 40)
        if self.error:
            raise self.error
        return self.result


def _bg_err(bg):
    """The exit code and stderr of a dns01 that ran in bg and has exited."""
    bg.join(5)
    return f'exit {bg.result[0]}: {bg.result[2]}' if bg.result else repr(bg.error)


def _set_unset(tb, conf, value, what):
    """set, then unset, both exit 0, each confirmed on ns1 and ns2 at return."""
    rc, _, err, _ = _dns01(conf, 'set', NAME, value)
    assert rc == 0, f'{what}: set exited {rc}:\n{err.strip()[-800:]}'
    for s in (NS1, NS2):
        expect_txt(s, NAME, [value], f'{what}: right after set: ')
    rc, _, err, _ = _dns01(conf, 'unset', NAME, value)
    assert rc == 0, f'{what}: unset exited {rc}:\n{err.strip()[-800:]}'
    for s in (NS1, NS2):
        expect_txt(s, NAME, [], f'{what}: right after unset: ')


def _answers_with(p, value, kind):
    """How many answers of kind p sent that hold value (43 random characters:
    only a TXT record of it can hold them)."""
    return sum(1 for _, k, _, msg in p.answers_log() if k == kind and value.encode() in msg)


# --------------------------------------------------------------------------


def test_through_the_proxies(tb):
    """No fault: dns01 discovers pns1/pns2 and waits through them."""
    p1, p2 = _proxies(tb)
    _set_unset(tb, tb.write_config(), acme_value(), 'no fault')
    for n, p in (('pns1', p1), ('pns2', p2)):
        kinds = {qtype for _, _, qtype, _ in p.answers_log()}
        assert {T_SOA, T_TXT} <= kinds, \
            f'harness: {n} did not answer both SOA (discovery) and TXT (wait): only ' \
            f'{sorted(kinds)}; the proxies are not in dns01\'s path'
    _figures('no fault', p1, p2)


def test_wait_stops_at_the_first_good_answer(tb):
    """How promptly dns01 returns, told by events instead of the clock: ns2
    lags 2 s; at each proxy, the first authoritative answer with the value
    is the last TXT answer about the name (one more only for a query already
    in flight, also with the value) -- dns01 asks no address again once it
    served the value and polls no round after the last one did -- and pns2
    answered without the value first (the wait really waited)."""
    from dnsproxy import F_AA, parse_question
    p1, p2 = _proxies(tb)
    conf, value = tb.write_config(), acme_value()
    tb.set_lag(2)
    try:
        rc, _, err, _ = _dns01(conf, 'set', NAME, value)
    finally:
        tb.set_lag(0)
    assert rc == 0, f'set exited {rc}:\n{err.strip()[-800:]}'
    firsts = {}
    for n, p in (('pns1', p1), ('pns2', p2)):
        txt = [msg for _, _, qtype, msg in p.answers_log()
               if qtype == T_TXT and (parse_question(msg) or (0, 0, ''))[2] == NAME]
        good = [i for i, msg in enumerate(txt)
                if value.encode() in msg and parse_question(msg)[1] & F_AA]
        assert good, f'{n} never answered with the value ({len(txt)} TXT answers)'
        after = txt[good[0] + 1:]
        assert len(after) <= 1 and all(value.encode() in m for m in after), \
            f'{n}: dns01 asked again after {n} served the value: {len(after)} more answers'
        firsts[n] = good[0]
    assert firsts['pns2'] > 0, 'harness: pns2 served the value at once although ns2 lags 2 s'
    note(f'TXT answers before the value: pns1 {firsts["pns1"]}, pns2 {firsts["pns2"]}; '
         'none after it')
    rc, _, err, _ = _dns01(conf, 'unset', NAME, value)
    assert rc == 0, f'unset exited {rc}:\n{err.strip()[-800:]}'


def test_loss_30_percent(tb):
    """30 % of the packets lost both ways at both nameservers, for every
    query about the name (discovery and wait): set and unset succeed."""
    p1, p2 = _proxies(tb)
    for p in (p1, p2):
        p.scope(under=NAME).drop(30)
    _set_unset(tb, tb.write_config(), acme_value(), 'drop 30 %')
    lost = sum(p.counts()['dropped_queries'] + p.counts()['dropped_answers'] for p in (p1, p2))
    assert lost > 0, 'harness: the proxies dropped nothing'
    note(f'drop 30 %: {lost} of {sum(p.counts()["loss_packets"] for p in (p1, p2))} '
         'packets dropped (queries and answers about the name, both proxies)')
    _figures('drop 30 %', p1, p2)


def test_discovery_asks_again_after_a_loss(tb):
    """The first query about the name is lost at both nameservers:
    discovery asks each again (AUTH_TRIES), set succeeds; before, one lost
    query at each nameserver was exit 6."""
    p1, p2 = _proxies(tb)
    for p in (p1, p2):
        p.scope(under=NAME).drop_first(1)
    _set_unset(tb, tb.write_config(), acme_value(), 'drop_first 1')
    for n, p in (('pns1', p1), ('pns2', p2)):
        assert p.counts()['dropped_queries'] == 1, f'harness: {n}: {p.counts()}'
    _figures('drop_first 1', p1, p2)


def test_truncated_udp_answers(tb):
    """Every UDP answer truncated (TC=1, no records) at both: asked again
    over TCP, set and unset succeed."""
    p1, p2 = _proxies(tb)
    for p in (p1, p2):
        p.scope(under=NAME).truncate()
    _set_unset(tb, tb.write_config(), acme_value(), 'truncate')
    for n, p in (('pns1', p1), ('pns2', p2)):
        c = p.counts()
        assert c['truncated'] > 0 and c['tcp_queries'] > 0, f'{n}: {c}'
    _figures('truncate', p1, p2)


def test_tcp_only_server(tb):
    """pns2 answers every UDP query at once with an empty TC=1 answer and
    serves only over TCP: set and unset succeed."""
    p1, p2 = _proxies(tb)
    p2.scope(under=NAME).tcp_only()
    _set_unset(tb, tb.write_config(), acme_value(), 'tcp_only')
    c = p2.counts()
    assert c['tc_only'] > 0 and c['tcp_queries'] > 0, f'pns2: {c}'
    _figures('tcp_only (pns2)', p1, p2)


def test_delayed_answers(tb):
    """Answers 0.4 s late at both, discovery and wait: set and unset succeed.
    Then pns2 answers TXT 2.5 s late, later than dns01's 1.5 s query timeout:
    the query goes again with the same id, so the late answer still counts."""
    p1, p2 = _proxies(tb)
    for p in (p1, p2):
        p.scope(under=NAME).delay(0.4)
    conf = tb.write_config()
    _set_unset(tb, conf, acme_value(), 'delay 0.4 s')
    _figures('delay 0.4 s', p1, p2)
    p1, p2 = _proxies(tb)
    p2.scope(qtypes=('TXT',)).delay(2.5)
    _set_unset(tb, conf, acme_value(), 'delay 2.5 s (pns2, TXT)')
    _figures('delay 2.5 s (pns2, TXT)', p1, p2)


SPOOFS = ('wrong_id', 'wrong_question', 'other_source')


def test_spoofed_answers_alone_never_confirm(tb):
    """A forged AA=1 answer with the value (another id, another question,
    or from another address) before each real answer (no value there):
    dns01 never takes the value as served, exit 5."""
    conf = tb.write_config()
    value = acme_value()
    for kind in SPOOFS:
        p1, p2 = _proxies(tb)
        for p in (p1, p2):
            p.scope(qtypes=('TXT',)).set(**{kind: True}, forge=value, then_real=True)
        rc, _, err, _ = _dns01(conf, 'wait', NAME, value, '--timeout', SHORT)
        _expect_report(rc, err, {PROXY1: ('FAIL',), PROXY2: ('FAIL',)})
        assert value not in err, f'{kind}: the report shows the forged value:\n{err}'
        for n, p in (('pns1', p1), ('pns2', p2)):
            assert p.counts()['spoofed'] > 0, f'harness: {n} sent no {kind} answer'
        _figures(f'{kind} + forged value, then real', p1, p2)


def test_spoofed_answers_before_the_real_one(tb):
    """ns2 gets the value only when the test says so; meanwhile pns2 sends
    a forged answer with it before each real one: set waits until ns2 really
    serves it (after the forged answers), then exits 0."""
    conf = tb.write_config()
    for kind in SPOOFS:
        p1, p2 = _proxies(tb)
        value = acme_value()
        p2.scope(qtypes=('TXT',)).set(**{kind: True}, forge=value, then_real=True)
        tb.set_lag(None)
        bg = _Bg(conf, 'set', NAME, value)
        bg.start()
        _until(lambda: _answers_with(p2, value, 'spoofed') >= 3
               and p2.counts()['real_after_spoof'] >= 3,
               f'{kind}: pns2 sending 3 forged answers, each followed by the real one', bg)
        assert bg.is_alive(), \
            f'{kind}: set returned while ns2 did not have the value (it took a forged ' \
            f'answer):\n{_bg_err(bg)}'
        assert not dig_txt(NS2, NAME)[2], 'harness: ns2 got the change with lag None'
        tb.set_lag(0)
        tb.sync()
        rc, _, err, _ = bg.finish()
        assert rc == 0, f'{kind}: set exited {rc}:\n{err.strip()[-800:]}'
        assert _answers_with(p2, value, 'answer') >= 1, \
            f'{kind}: set exited 0 but pns2 never sent a real answer with the value'
        _figures(f'{kind} before the real answer (pns2)', p1, p2)
        rc, _, err, _ = _dns01(conf, 'unset', NAME, value)
        assert rc == 0, f'{kind}: unset exited {rc}:\n{err.strip()[-800:]}'


def test_aa0_not_counted(tb):
    """Answers with the value but AA=0 at both: exit 5, each address lame
    and not authoritative; a wait goes on until one answers with AA=1 again
    (the other, still AA=0, is lame: not waited for)."""
    conf = tb.write_config()
    p1, p2 = _proxies(tb)
    value = acme_value()
    tb.nsupdate(f'update add {NAME} 10 TXT "{value}"', zone=FAULT_ZONE)
    tb.sync()
    for p in (p1, p2):
        p.scope(qtypes=('TXT',)).aa0()
    rc, _, err, _ = _dns01(conf, 'wait', NAME, value, '--timeout', SHORT)
    _expect_report(rc, err, {PROXY1: ('lame', 'not authoritative'),
                             PROXY2: ('lame', 'not authoritative')})
    _figures('aa0, wait --timeout 2', p1, p2)
    bg = _Bg(conf, 'wait', NAME, value)
    bg.start()
    _until(lambda: all(_answers_with(p, value, 'answer') >= 3 for p in (p1, p2)),
           'both proxies sending 3 AA=0 answers with the value', bg)
    assert bg.is_alive(), f'wait returned on AA=0 answers:\n{_bg_err(bg)}'
    p1.aa0(False)
    rc, _, err, _ = bg.finish()
    assert rc == 0, f'wait exited {rc} after pns1 answered with AA=1:\n{err.strip()[-800:]}'
    assert f'nameserver {PNS2} of zone {FAULT_ZONE} is lame' in err, \
        f'pns2 (AA=0) was not named lame:\n{err}'
    _figures('aa0, then AA=1 at pns1', p1, p2)


def test_servfail_and_silence_in_the_wait(tb):
    """pns1 answers TXT with SERVFAIL, pns2 not at all: exit 5, each
    address with what it did; the value is on ns1 (written)."""
    conf = tb.write_config()
    p1, p2 = _proxies(tb)
    p1.scope(qtypes=('TXT',)).servfail()
    p2.scope(qtypes=('TXT',)).silent()
    value = acme_value()
    rc, _, err, _ = _dns01(conf, 'set', NAME, value, '--timeout', SHORT)
    _expect_report(rc, err, {PROXY1: ('FAIL', PNS1, 'SERVFAIL'),
                             PROXY2: ('FAIL', PNS2, 'timeout')})
    assert value in dig_txt(NS1, NAME)[2], 'the value was not written'
    _figures('servfail (pns1) + silent (pns2), set --timeout 2', p1, p2)


def test_refused_is_lame(tb):
    """REFUSED for TXT at both: exit 5, both lame; at pns2 only: pns2 is
    lame, not waited for, set succeeds on pns1 alone."""
    conf = tb.write_config()
    p1, p2 = _proxies(tb)
    for p in (p1, p2):
        p.scope(qtypes=('TXT',)).refused()
    value = acme_value()
    rc, _, err, _ = _dns01(conf, 'set', NAME, value, '--timeout', SHORT)
    _expect_report(rc, err, {PROXY1: ('lame', 'REFUSED'), PROXY2: ('lame', 'REFUSED')})
    _figures('refused (both), set --timeout 2', p1, p2)
    p1, p2 = _proxies(tb)
    p2.scope(qtypes=('TXT',)).refused()
    rc, _, err, _ = _dns01(conf, 'set', NAME, acme_value())
    assert rc == 0, f'set exited {rc} with only pns2 refusing:\n{err.strip()[-800:]}'
    assert f'nameserver {PNS2} of zone {FAULT_ZONE} is lame' in err and 'REFUSED' in err, \
        f'pns2 (REFUSED) was not named lame:\n{err}'
    _figures('refused (pns2), set', p1, p2)


def test_discovery_faults_exit_6(tb):
    """Every nameserver fails the discovery query for the name (SERVFAIL,
    REFUSED, silence): exit 6, naming each nameserver and what it did, and
    nothing is written."""
    conf = tb.write_config()
    for fault, text in (('servfail', 'SERVFAIL'), ('refused', 'REFUSED'),
                        ('silent', 'timeout')):
        p1, p2 = _proxies(tb)
        for p in (p1, p2):
            p.scope(under=NAME).set(**{fault: True})
        value = acme_value()
        rc, _, err, _ = _dns01(conf, 'set', NAME, value)
        assert rc == 6, f'{fault}: expected exit 6 (discovery failed), got {rc}:\n{err}'
        for ns in (PNS1, PNS2):
            assert f'{ns}: no answer ({text})' in err or \
                f'{ns}: lame: {text}' in err, f'{fault}: {ns} not named with {text}:\n{err}'
        assert not dig_txt(NS1, NAME)[2], f'{fault}: a value was written'
        _figures(f'{fault} at discovery', p1, p2)
