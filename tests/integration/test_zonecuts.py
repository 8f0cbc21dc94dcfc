"""Zone cuts: a challenge name (or a by-hand NAME) that is a zone of its own,
on the parent's servers or on others (issue 10).  dns01 must write into the
zone that really serves the name, never into the parent (where the record
would sit occluded under the delegation and never be served), and wait for
that zone's servers.

    L1  _acme-challenge.www.example.test is its own zone on ns1 + ns2; the
        config's key (key-www) may update only that zone.
    L2  _acme-challenge.far.example.test is its own zone on ns3, reached by
        the referral from example.test; ns2 is listed for it but lame.
    L3  apex.example.test is a zone on ns1 + ns2; by-hand TXT at its apex.
    L4  _acme-challenge.alias.example.test is a CNAME into the L2 zone.
    DNAME  renamed.example.test DNAME apex.example.test: a challenge name
        below it is written at the name it rewrites to.
    split  ns1 answers _acme-challenge.split.example.test from example.test
        (no such name), ns2 from a stale zone of its own: discovery must
        fail (exit 6) and write nothing.

Every layout runs set/unset (list, wait), doctor and certbot + pebble; each
checks the zone dns01 chose, what the servers serve right when dns01
returns, and that example.test is unchanged (AXFR, serial included).
See testbed.py for the servers and zones.
"""

import difflib
import json
import re

from flows import certbot_pebble_run, expect_txt, expect_txt_soon
from testbed import (APEX_ZONE, FAR_ZONE, NS1, NS2, NS3, SPLIT_ZONE, T_CNAME, T_SOA, WWW_ZONE,
                     acme_value, dig_txt, dns_query, note, primary_of, run_dns01)
from test_resolver import queries

TIMEOUT = 20            # dns01's timeout: a failure must not take 300 s
WWW_KEY = 'key-www'     # may update WWW_ZONE only
ALIAS_NAME = '_acme-challenge.alias.example.test'
ALIAS_TARGET = 'alias._acme-challenge.far.example.test'
LAME = 'ns2.example.test'
DOCTOR_LINE = re.compile(r'^(OK|WARN|FAIL) +([a-z-]+)(?: (\S+))?: (.*)$')


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------

def _config(tb, key=None):
    return tb.write_config(key=key, timeout=TIMEOUT)


def _fresh(tb, *names):
    """No TXT at the (zone, name)s in the child zones, so that a value an
    earlier failed test left there does not fail this one too."""
    for zone, name in names:
        if dig_txt(primary_of(zone), name)[2]:
            tb.nsupdate(f'update delete {name} TXT', zone=zone)
    tb.sync()


def _tail(text, n=12):
    lines = text.strip().splitlines()
    return '\n'.join(lines[-n:]) if lines else '(empty)'


def dns01_json(conf, command, name, *values):
    """`dns01 -c conf --json COMMAND NAME VALUES...` -> (rc, object or None, stderr)."""
    rc, out, err, _ = run_dns01(['-c', conf, '--json', command, name, '--', *values])
    try:
        doc = json.loads(out)
    except ValueError:
        doc = None
    return rc, doc, err


def expect_done(rc, doc, err, command, name, target, zone):
    """The --json command exited 0 and chose `target` in `zone`."""
    chose = f"zone {doc.get('zone')!r}, target {doc.get('target')!r}" if doc else \
        'no JSON object on stdout'
    assert rc == 0 and doc is not None and doc.get('zone') == zone \
        and doc.get('target') == target, \
        f'{command} {name}: expected exit 0 writing at {target} in zone {zone}; got exit ' \
        f'{rc} ({chose}); stderr:\n{_tail(err)}'


def expect_served(servers, name, values, when):
    for s in servers:
        expect_txt(s, name, values, f'{when}: ')


def expect_list(conf, name, target, zone, server=None, value=None):
    """`dns01 list NAME` exits 0, names the zone in its first line, and (when
    given) shows `value` on the line of `server`."""
    rc, out, err, _ = run_dns01(['-c', conf, 'list', name])
    first = out.splitlines()[0] if out.strip() else ''
    want = f'{name} -> {target} (zone {zone})' if target != name else f'{name} (zone {zone})'
    assert rc == 0 and first == want, \
        f'list {name}: expected exit 0 and first line {want!r}; got exit {rc}, first line ' \
        f'{first!r}; stderr:\n{_tail(err)}'
    if server:
        hits = [l for l in out.splitlines() if f' {server}:' in l]
        assert hits and all(f'"{value}"' in l for l in hits), \
            f'list {name}: expected {server} to show "{value}", got:\n{out}'
    return out


class AxfrGuard:
    """Remembers zones as transferred now; check() fails when one differs."""

    def __init__(self, tb, *zones):
        self.tb = tb
        self.before = {(z, s): tb.axfr(z, s) for z, s in zones}

    def check(self, what):
        for (z, s), before in self.before.items():
            after = self.tb.axfr(z, s)
            diff = ''.join(difflib.unified_diff(before.splitlines(True), after.splitlines(True),
                                                'before', 'after'))
            assert after == before, \
                f'{what}: zone {z} (AXFR from {s or "its primary"}) changed; expected it ' \
                f'byte for byte as before:\n{diff}'


def example_unchanged(tb):
    return AxfrGuard(tb, ('example.test', None))


def doctor(conf, *domains):
    """-> (rc, [(status, check, domain, text)], stdout, stderr)."""
    rc, out, err, _ = run_dns01(['-c', conf, 'doctor', *domains], timeout=120)
    got = []
    for line in out.splitlines():
        m = DOCTOR_LINE.match(line)
        assert m, f'doctor {" ".join(domains)}: not a doctor line: {line!r}\nstdout:\n{out}'
        got.append(m.groups())
    return rc, got, out, err


def doctor_ok(conf, domain, zone):
    """doctor DOMAIN exits 0 with no FAIL line, and its zone line names
    `zone`.  Returns (zone line text, all lines, stderr)."""
    rc, got, out, err = doctor(conf, domain)
    fails = [g for g in got if g[0] == 'FAIL']
    assert rc == 0 and not fails, \
        f'doctor {domain}: expected exit 0 and no FAIL; got exit {rc}:\n{out}' \
        f'stderr:\n{_tail(err)}'
    zl = [g for g in got if g[1] == 'zone']
    assert len(zl) == 1 and re.search(rf'\bzone {re.escape(zone)}[ :]', zl[0][3]), \
        f'doctor {domain}: expected one zone line naming zone {zone}, got:\n{out}'
    assert [g for g in got if g[1] == 'round-trip'], \
        f'doctor {domain}: expected a round-trip line, got:\n{out}'
    for g in got:
        if g[0] == 'WARN':
            note(f'doctor {domain}: WARN {g[1]}: {g[3][:300]}')
    return zl[0][3], got, err


def _names_zone(text, zone):
    """True when `zone` appears in text as a whole name (example.test does
    not count inside ns1.example.test or _acme-challenge.x.example.test)."""
    return re.search(rf'(?<![A-Za-z0-9_.-]){re.escape(zone)}(?![A-Za-z0-9_-])', text) is not None


# --------------------------------------------------------------------------
# The layout as the servers serve it (no dns01 here)
# --------------------------------------------------------------------------

def test_layout(tb):
    """The zone cuts are what the tests below assume: the child zones are
    answered authoritatively by their servers, example.test refers to ns3
    (and the lame ns2) for FAR_ZONE, ns2 is not authoritative there, the
    split name is NXDOMAIN at ns1 and a zone apex at ns2, and the CNAME
    points into FAR_ZONE."""
    def soa_aa(server, zone):
        rcode, aa, recs = dns_query(server, zone, T_SOA)
        return rcode == 'NOERROR' and aa and any(t == T_SOA for t, *_ in recs)
    for zone, servers in ((WWW_ZONE, (NS1, NS2)), (APEX_ZONE, (NS1, NS2)), (FAR_ZONE, (NS3,))):
        for s in servers:
            assert soa_aa(s, zone), f'{s} is not authoritative for {zone}'
    rcode, aa, _ = dns_query(NS2, FAR_ZONE, T_SOA)
    assert rcode == 'NOERROR' and not aa, \
        f'ns2 should be lame for {FAR_ZONE} (a referral, no AA), got {rcode} aa={aa}'
    p = dig_txt(NS1, FAR_ZONE)
    assert p[0] == 'NOERROR' and not p[1], f'ns1 should refer {FAR_ZONE} to ns3, got {p}'
    assert dig_txt(NS1, SPLIT_ZONE)[:2] == ('NXDOMAIN', True), dig_txt(NS1, SPLIT_ZONE)
    assert soa_aa(NS2, SPLIT_ZONE) and not soa_aa(NS1, SPLIT_ZONE), \
        f'{SPLIT_ZONE} should be a zone at ns2 only'
    rcode, aa, recs = dns_query(NS1, ALIAS_NAME, T_CNAME)
    assert rcode == 'NOERROR' and aa and any(t == T_CNAME for t, *_ in recs), \
        f'no CNAME at {ALIAS_NAME} ({rcode})'
    for zone in ('example.test', WWW_ZONE, APEX_ZONE, FAR_ZONE, SPLIT_ZONE):
        assert ' SOA ' in tb.axfr(zone), f'AXFR of {zone} has no SOA'


# --------------------------------------------------------------------------
# L1: _acme-challenge.www.example.test is its own zone on ns1 + ns2
# --------------------------------------------------------------------------

def test_www_own_zone_set_unset(tb):
    """set/list/unset at the zone apex WWW_ZONE with a key that may update
    only that zone (ns2 1 s behind): the value is in WWW_ZONE on ns1 and ns2
    when set returns, gone when unset returns; example.test untouched."""
    conf = _config(tb, WWW_KEY)
    _fresh(tb, (WWW_ZONE, WWW_ZONE))
    guard = example_unchanged(tb)
    tb.set_lag(1)
    v = acme_value()
    rc, doc, err = dns01_json(conf, 'set', WWW_ZONE, v)
    expect_done(rc, doc, err, 'set', WWW_ZONE, WWW_ZONE, WWW_ZONE)
    expect_served((NS1, NS2), WWW_ZONE, [v], 'when set returned')
    expect_list(conf, WWW_ZONE, WWW_ZONE, WWW_ZONE, NS2, v)
    rc, doc, err = dns01_json(conf, 'unset', WWW_ZONE, v)
    expect_done(rc, doc, err, 'unset', WWW_ZONE, WWW_ZONE, WWW_ZONE)
    expect_served((NS1, NS2), WWW_ZONE, [], 'when unset returned')
    guard.check('set/unset in WWW_ZONE')


def test_www_own_zone_doctor(tb):
    conf = _config(tb, WWW_KEY)
    _fresh(tb, (WWW_ZONE, WWW_ZONE))
    guard = example_unchanged(tb)
    doctor_ok(conf, 'www.example.test', WWW_ZONE)
    expect_served((NS1, NS2), WWW_ZONE, [], 'after doctor')
    guard.check('doctor www.example.test')


def test_www_own_zone_certbot_pebble(tb):
    """certbot: www.example.test + *.www.example.test, key-www, ns2 3 s behind."""
    conf = _config(tb, WWW_KEY)
    _fresh(tb, (WWW_ZONE, WWW_ZONE))
    guard = example_unchanged(tb)
    certbot_pebble_run(tb, conf, ('www.example.test', '*.www.example.test'),
                       [(NS1, WWW_ZONE, 2), (NS2, WWW_ZONE, 2)], prefix='certbot-zc-www-')
    for s in (NS1, NS2):
        expect_txt_soon(s, WWW_ZONE, [], 'after certbot: ')
    guard.check('certbot for www.example.test')


# --------------------------------------------------------------------------
# L2: _acme-challenge.far.example.test is its own zone on ns3; ns2 is lame
# --------------------------------------------------------------------------

def test_far_referral_set_unset(tb):
    """set/list/unset at FAR_ZONE, found through example.test's referral:
    the value is on ns3 when set returns (the lame ns2 must not hold the
    wait until the timeout), gone when unset returns."""
    conf = _config(tb)
    _fresh(tb, (FAR_ZONE, FAR_ZONE))
    guard = example_unchanged(tb)
    v = acme_value()
    rc, doc, err = dns01_json(conf, 'set', FAR_ZONE, v)
    if rc == 5:
        raise AssertionError(f'set {FAR_ZONE}: expected exit 0, got 5 (timeout; did the lame '
                             f'{LAME} block the wait?); stderr:\n{_tail(err)}')
    expect_done(rc, doc, err, 'set', FAR_ZONE, FAR_ZONE, FAR_ZONE)
    note(f'set {FAR_ZONE}: stderr {"names" if LAME in err else "does not name"} the lame {LAME}')
    expect_served((NS3,), FAR_ZONE, [v], 'when set returned')
    expect_list(conf, FAR_ZONE, FAR_ZONE, FAR_ZONE, NS3, v)
    rc, doc, err = dns01_json(conf, 'unset', FAR_ZONE, v)
    expect_done(rc, doc, err, 'unset', FAR_ZONE, FAR_ZONE, FAR_ZONE)
    expect_served((NS3,), FAR_ZONE, [], 'when unset returned')
    guard.check('set/unset in FAR_ZONE')


def test_far_referral_doctor(tb):
    """doctor far.example.test: no FAIL (a WARN for the lame ns2 is fine),
    and the lame ns2 is named in the zone line or on stderr."""
    conf = _config(tb)
    _fresh(tb, (FAR_ZONE, FAR_ZONE))
    guard = example_unchanged(tb)
    zone_line, _, err = doctor_ok(conf, 'far.example.test', FAR_ZONE)
    assert LAME in zone_line or LAME in err, \
        f'doctor far.example.test: expected the lame {LAME} named in the zone line or on ' \
        f'stderr; zone line: {zone_line}\nstderr:\n{_tail(err)}'
    expect_served((NS3,), FAR_ZONE, [], 'after doctor')
    guard.check('doctor far.example.test')


def test_far_referral_certbot_pebble(tb):
    """certbot: far.example.test + *.far.example.test, values on ns3."""
    conf = _config(tb)
    _fresh(tb, (FAR_ZONE, FAR_ZONE))
    guard = example_unchanged(tb)
    certbot_pebble_run(tb, conf, ('far.example.test', '*.far.example.test'),
                       [(NS3, FAR_ZONE, 2)], prefix='certbot-zc-far-')
    expect_txt(NS3, FAR_ZONE, [], 'after certbot: ')
    guard.check('certbot for far.example.test')


# --------------------------------------------------------------------------
# L3: apex.example.test is a zone on ns1 + ns2; by-hand TXT at its apex
# --------------------------------------------------------------------------

def test_apex_set_list_wait_unset(tb):
    """A standalone TXT value at the zone apex apex.example.test (ns2 1 s
    behind): set, list, wait and unset all work in that zone."""
    conf = _config(tb)
    _fresh(tb, (APEX_ZONE, APEX_ZONE), (APEX_ZONE, '_acme-challenge.' + APEX_ZONE))
    guard = example_unchanged(tb)
    tb.set_lag(1)
    v = 'zonecut apex ' + acme_value()[:12]
    rc, doc, err = dns01_json(conf, 'set', APEX_ZONE, v)
    expect_done(rc, doc, err, 'set', APEX_ZONE, APEX_ZONE, APEX_ZONE)
    expect_served((NS1, NS2), APEX_ZONE, [v], 'when set returned')
    expect_list(conf, APEX_ZONE, APEX_ZONE, APEX_ZONE, NS2, v)
    rc, doc, err = dns01_json(conf, 'wait', APEX_ZONE, v)
    expect_done(rc, doc, err, 'wait', APEX_ZONE, APEX_ZONE, APEX_ZONE)
    rc, doc, err = dns01_json(conf, 'unset', APEX_ZONE, v)
    expect_done(rc, doc, err, 'unset', APEX_ZONE, APEX_ZONE, APEX_ZONE)
    expect_served((NS1, NS2), APEX_ZONE, [], 'when unset returned')
    guard.check('set/unset at apex.example.test')


def test_apex_doctor(tb):
    conf = _config(tb)
    _fresh(tb, (APEX_ZONE, APEX_ZONE), (APEX_ZONE, '_acme-challenge.' + APEX_ZONE))
    guard = example_unchanged(tb)
    doctor_ok(conf, 'apex.example.test', APEX_ZONE)
    expect_served((NS1, NS2), '_acme-challenge.' + APEX_ZONE, [], 'after doctor')
    guard.check('doctor apex.example.test')


def test_apex_certbot_pebble(tb):
    """certbot: apex.example.test + *.apex.example.test, ns2 3 s behind."""
    conf = _config(tb)
    _fresh(tb, (APEX_ZONE, APEX_ZONE), (APEX_ZONE, '_acme-challenge.' + APEX_ZONE))
    guard = example_unchanged(tb)
    name = '_acme-challenge.' + APEX_ZONE
    certbot_pebble_run(tb, conf, (APEX_ZONE, '*.' + APEX_ZONE),
                       [(NS1, name, 2), (NS2, name, 2)], prefix='certbot-zc-apex-')
    for s in (NS1, NS2):
        expect_txt_soon(s, name, [], 'after certbot: ')
    guard.check('certbot for apex.example.test')


# --------------------------------------------------------------------------
# L4: _acme-challenge.alias.example.test is a CNAME into FAR_ZONE (on ns3)
# --------------------------------------------------------------------------

def test_cname_into_child_set_unset(tb):
    """set/list/unset at the CNAME: the value lands at its target in
    FAR_ZONE on ns3; the CNAME stays."""
    conf = _config(tb)
    _fresh(tb, (FAR_ZONE, ALIAS_TARGET))
    guard = example_unchanged(tb)
    v = acme_value()
    rc, doc, err = dns01_json(conf, 'set', ALIAS_NAME, v)
    expect_done(rc, doc, err, 'set', ALIAS_NAME, ALIAS_TARGET, FAR_ZONE)
    expect_served((NS3,), ALIAS_TARGET, [v], 'when set returned')
    expect_list(conf, ALIAS_NAME, ALIAS_TARGET, FAR_ZONE, NS3, v)
    rc, doc, err = dns01_json(conf, 'unset', ALIAS_NAME, v)
    expect_done(rc, doc, err, 'unset', ALIAS_NAME, ALIAS_TARGET, FAR_ZONE)
    expect_served((NS3,), ALIAS_TARGET, [], 'when unset returned')
    guard.check('set/unset through the CNAME into FAR_ZONE')


def test_cname_into_child_doctor(tb):
    conf = _config(tb)
    _fresh(tb, (FAR_ZONE, ALIAS_TARGET))
    guard = example_unchanged(tb)
    _, got, _ = doctor_ok(conf, 'alias.example.test', FAR_ZONE)
    cname = [g for g in got if g[1] == 'cname']
    assert cname and ALIAS_TARGET in cname[0][3], \
        f'doctor alias.example.test: expected the cname line to name {ALIAS_TARGET}, got {cname}'
    expect_served((NS3,), ALIAS_TARGET, [], 'after doctor')
    guard.check('doctor alias.example.test')


def test_cname_into_child_certbot_pebble(tb):
    """certbot: alias.example.test, the value at the CNAME's target on ns3."""
    conf = _config(tb)
    _fresh(tb, (FAR_ZONE, ALIAS_TARGET))
    guard = example_unchanged(tb)
    certbot_pebble_run(tb, conf, ('alias.example.test',), [(NS3, ALIAS_TARGET, 1)],
                       prefix='certbot-zc-alias-')
    expect_txt(NS3, ALIAS_TARGET, [], 'after certbot: ')
    guard.check('certbot for alias.example.test')


# --------------------------------------------------------------------------
# DNAME: renamed.example.test DNAME apex.example.test
# --------------------------------------------------------------------------

def test_dname_set_unset(tb):
    """A challenge name under a DNAME is rewritten, as a CA's resolver
    rewrites it (RFC 6672): set/unset write at the rewritten name in
    APEX_ZONE, say so on stderr, and leave example.test untouched."""
    conf = _config(tb)
    name = '_acme-challenge.host.renamed.example.test'
    target = '_acme-challenge.host.' + APEX_ZONE
    _fresh(tb, (APEX_ZONE, target))
    guard = example_unchanged(tb)
    v = acme_value()
    rc, doc, err = dns01_json(conf, 'set', name, v)
    expect_done(rc, doc, err, 'set', name, target, APEX_ZONE)
    assert 'DNAME' in err and target in err, \
        f'set {name}: expected stderr to say that a DNAME leads to {target}:\n{_tail(err)}'
    expect_served((NS1, NS2), target, [v], 'when set returned')
    rc, doc, err = dns01_json(conf, 'unset', name, v)
    expect_done(rc, doc, err, 'unset', name, target, APEX_ZONE)
    expect_served((NS1, NS2), target, [], 'when unset returned')
    guard.check('set/unset under the DNAME')


# --------------------------------------------------------------------------
# split: ns1 and ns2 disagree on which zone holds the name
# --------------------------------------------------------------------------

def test_split_set_fails(tb):
    """ns1 answers SPLIT_ZONE from example.test, ns2 from its own zone:
    set exits 6 naming both servers and both zones, and writes nothing."""
    conf = _config(tb)
    guard = AxfrGuard(tb, ('example.test', None), (SPLIT_ZONE, NS2))
    v = acme_value()
    rc, doc, err = dns01_json(conf, 'set', SPLIT_ZONE, v)
    chose = f"zone {doc.get('zone')!r}" if doc else 'no JSON'
    assert rc == 6, f'set {SPLIT_ZONE}: expected exit 6 (discovery failed: ns1 and ns2 ' \
                    f'disagree on the zone), got exit {rc} ({chose}); stderr:\n{_tail(err)}'
    missing = [what for what, ok in (
        ('ns1', 'ns1.example.test' in err or NS1 in err),
        ('ns2', 'ns2.example.test' in err or NS2 in err),
        ('zone example.test', _names_zone(err, 'example.test')),
        (f'zone {SPLIT_ZONE}', _names_zone(err, SPLIT_ZONE))) if not ok]
    assert not missing, f'set {SPLIT_ZONE}: expected stderr to name ns1, ns2 and both zones; ' \
                        f'it does not name {", ".join(missing)}:\n{_tail(err)}'
    expect_served((NS1, NS2), SPLIT_ZONE, [], 'after the failed set')
    guard.check('the failed set at the split name')


def test_split_doctor_fails(tb):
    """doctor split.example.test: the zone line FAILs naming SPLIT_ZONE."""
    conf = _config(tb)
    guard = AxfrGuard(tb, ('example.test', None), (SPLIT_ZONE, NS2))
    rc, got, out, err = doctor(conf, 'split.example.test')
    zl = [g for g in got if g[1] == 'zone']
    assert rc == 6 and len(zl) == 1 and zl[0][0] == 'FAIL' and SPLIT_ZONE in zl[0][3], \
        f'doctor split.example.test: expected exit 6 and a FAIL zone line naming ' \
        f'{SPLIT_ZONE}; got exit {rc}:\n{out}stderr:\n{_tail(err)}'
    assert not [g for g in got if g[1] == 'round-trip'], \
        f'doctor split.example.test: expected no round trip after the zone FAIL:\n{out}'
    guard.check('doctor split.example.test')


# --------------------------------------------------------------------------
# Last: the client resolver never saw a challenge name
# --------------------------------------------------------------------------

def test_zonecuts_resolver_never_asked(tb):
    """After all of the above (the whole log of this runner's client
    resolver): no query for a name containing _acme-challenge."""
    log = tb.resolver_log()
    seen = queries(log)
    assert seen, 'the client resolver logged no query at all: is log-queries working?'
    bad = [line for line, qname in seen if '_acme-challenge' in qname]
    assert not bad, f'expected no query for an _acme-challenge name at the client ' \
                    f'resolver; it got {len(bad)}:\n' + '\n'.join(bad[:20])
