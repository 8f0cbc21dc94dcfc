"""dns01's rfc2136 provider against the three servers it documents: BIND
(the testbed's ns1, zone example.test), Knot DNS (knot.py) and PowerDNS
(pdns.py), each as Debian ships it.

For each server: `set` + `unset` work; each mistake in the key or the
server address ends with the exit code and the causes that server's answer
can mean (providers/rfc2136_servers.c has the table of what each server
answered, found with these servers); and doctor's credentials line names
the server software and narrows the causes to it.

Knot and PowerDNS start once per run (tb.servers: the testbed stops them
and prints their logs when a test fails); their zones are delegated from
example.test once.
"""

import knot
import pdns
from flows import expect_txt
from providers_common import doctor_credentials
from testbed import (KNOT_ADDR, NS1, PDNS_ADDR, acme_value, dig_ok, note, run_dns01,
                     secret, soa_serial)

# server -> (its address, a zone it is the primary of)
SERVERS = {'bind': (NS1, 'example.test'), 'knot': (KNOT_ADDR, knot.ZONE),
           'pdns': (PDNS_ADDR, pdns.ZONE)}
# A zone each server does not serve, for `server =` pointing at the wrong one.
ELSEWHERE = {'bind': knot.ZONE, 'knot': 'example.test', 'pdns': 'example.test'}

# What each server's answer to a mistake makes dns01 say: case -> server ->
# (exit code, [texts the error must hold], text it must not hold).  The
# causes list every server that gives the answer (dns01 does not know which
# one it talks to during `set`).
PDNS_REJECTED = 'PowerDNS: it did not accept the key (its answer is unsigned)'
BADKEY = ['BIND: it has no key of this name and algorithm',
          'Knot DNS: it does not know the key name and algorithm, or no acl rule']
EXPECT = {
    'unknown key': {
        'bind': (3, ['NOTAUTH/BADKEY'] + BADKEY, 'PowerDNS'),
        'knot': (3, ['NOTAUTH/BADKEY'] + BADKEY, 'PowerDNS'),
        'pdns': (3, ['answered REFUSED', PDNS_REJECTED], 'BIND')},
    'wrong secret': {
        'bind': (3, ['NOTAUTH/BADSIG', 'BIND, Knot DNS: the secret differs'], 'PowerDNS'),
        'knot': (3, ['NOTAUTH/BADSIG', 'BIND, Knot DNS: the secret differs'], 'PowerDNS'),
        'pdns': (3, ['answered REFUSED', PDNS_REJECTED], 'BIND')},
    'wrong algorithm': {
        'bind': (3, ['NOTAUTH/BADKEY'] + BADKEY, 'PowerDNS'),
        'knot': (3, ['NOTAUTH/BADKEY'] + BADKEY, 'PowerDNS'),
        'pdns': (3, ['answered REFUSED', PDNS_REJECTED], 'BIND')},
    'key not allowed': {
        'bind': (4, ['answered REFUSED', "BIND: it accepted the key, but the zone's "
                     'update-policy', 'PowerDNS: it accepted the key'], 'Knot'),
        'knot': (3, ['NOTAUTH/BADKEY', 'no acl rule of the zone lets this key update'],
                 'PowerDNS'),
        'pdns': (4, ['answered REFUSED', "PowerDNS: it accepted the key, but the zone's "
                     'TSIG-ALLOW-DNSUPDATE metadata does not name it'], 'Knot')},
    'zone not served': {
        'bind': (3, ['answered NOTAUTH', 'BIND, PowerDNS: it does not serve the zone'],
                 'Knot'),
        'knot': (3, ['answered NOTAUTH', 'Knot DNS: it does not serve the zone (Knot does '
                     'not sign this answer)'], 'BIND'),
        'pdns': (3, ['answered NOTAUTH', 'BIND, PowerDNS: it does not serve the zone'],
                 'Knot')},
    'unsigned': {
        'bind': (4, ['answered REFUSED', '(unsigned)', 'BIND: allow-update / update-policy '
                     'takes no unsigned UPDATE'], 'Knot'),
        'knot': (3, ['answered NOTAUTH', 'Knot DNS: no acl rule of the zone takes an '
                     'unsigned UPDATE'], 'TSIG-ALLOW'),
        'pdns': (4, ['answered REFUSED', 'PowerDNS: the zone takes only signed UPDATEs'],
                 'Knot')},
}


def up(tb):
    """Knot and PowerDNS running (once per test run) and their zones
    delegated from example.test (with ns2 in sync)."""
    knot.start(tb)
    pdns.start(tb)
    if not dig_ok(NS1, knot.NS_NAME, 'A'):
        tb.nsupdate(f'update add {knot.ZONE} 60 NS {knot.NS_NAME}.',
                    f'update add {knot.NS_NAME} 60 A {KNOT_ADDR}',
                    f'update add {pdns.ZONE} 60 NS {pdns.NS_NAME}.',
                    f'update add {pdns.NS_NAME} 60 A {PDNS_ADDR}', key='key-admin')
        tb.sync()


def case_config(tb, server, case):
    """The config of one mistake with server's zone."""
    if case == 'unknown key':
        return tb.write_config(tsig_key='no-such-key')
    if case == 'wrong secret':
        return tb.write_config(tsig_secret=secret(32))
    if case == 'wrong algorithm':
        return tb.write_config(tsig_algorithm='hmac-sha512')
    if case == 'key not allowed':
        return tb.write_config(key='key-nogrant')
    if case == 'zone not served':
        return tb.write_config(server=SERVERS[server][0])
    return tb.write_config(tsig_key=None, tsig_secret=None, tsig_algorithm=None)


def check_set_unset(tb, server):
    addr, zone = SERVERS[server]
    conf = tb.write_config()
    name, value = f'_acme-challenge.servers-{server}.{zone}', acme_value()
    rc, _, err, _ = run_dns01(['-c', conf, 'set', name, value])
    assert rc == 0, f'{server}: set exited {rc}: {err.strip()[-600:]}'
    assert f'added 1 TXT record(s) in zone {zone} at {addr}' in err, err
    expect_txt(addr, name, [value], f'{server} after set: ')
    rc, _, err, _ = run_dns01(['-c', conf, 'unset', name, value])
    assert rc == 0, f'{server}: unset exited {rc}: {err.strip()[-600:]}'
    assert f'deleted 1 TXT record(s) from zone {zone} at {addr}' in err, err
    expect_txt(addr, name, [], f'{server} after unset: ')


def test_servers_set_unset(tb):
    """`set` then `unset` through rfc2136 (the UPDATE to the SOA MNAME,
    key dns01-key) work with BIND, Knot DNS and PowerDNS alike: the value is
    on the server when set returns, gone when unset returns."""
    up(tb)
    for server in SERVERS:
        check_set_unset(tb, server)


def check_errors(tb, server):
    """Every mistake of EXPECT against server: exit code, the causes, and
    nothing written (the zone's serial is unchanged)."""
    failures = []
    for case, by_server in EXPECT.items():
        code, texts, absent = by_server[server]
        zone = ELSEWHERE[server] if case == 'zone not served' else SERVERS[server][1]
        conf = case_config(tb, server, case)
        name = f'_acme-challenge.{case.replace(" ", "-")}.{zone}'
        serial = soa_serial(SERVERS[server][0] if case != 'zone not served'
                            else SERVERS['bind' if server != 'bind' else 'knot'][0], zone)
        rc, _, err, _ = run_dns01(['-c', conf, 'set', name, acme_value(), '--timeout', '10'])
        last = err.strip().splitlines()[-1] if err.strip() else ''
        note(f'{server}, {case}: exit {rc}: {last}')
        if rc != code:
            failures.append(f'{case}: exit {rc}, expected {code}: {err.strip()[-600:]}')
        missing = [t for t in texts if t not in err]
        if missing or absent in last:
            failures.append(f'{case}: missing {missing} or holds {absent!r}:\n{err.strip()}')
        owner = SERVERS['bind' if server != 'bind' else 'knot'][0] \
            if case == 'zone not served' else SERVERS[server][0]
        if soa_serial(owner, zone) != serial:
            failures.append(f'{case}: zone {zone} changed anyway')
    assert not failures, f'{server}:\n' + '\n'.join(failures)


def test_servers_errors_bind(tb):
    """BIND: every mistake's exit code and causes (EXPECT)."""
    up(tb)
    check_errors(tb, 'bind')


def test_servers_errors_knot(tb):
    """Knot DNS: every mistake's exit code and causes (EXPECT); a key its
    acl does not allow is BADKEY there (exit 3), not REFUSED."""
    up(tb)
    check_errors(tb, 'knot')


def test_servers_errors_pdns(tb):
    """PowerDNS: every mistake's exit code and causes (EXPECT); a key it
    does not accept is an unsigned REFUSED there, and exit 3 (credentials)."""
    up(tb)
    check_errors(tb, 'pdns')


# doctor: server -> the software its version.bind names, the rule for an
# accepted key, and for a mistake its credentials line fails with: the cause
# narrowed to that server.
DOCTOR = {
    'bind': ('(BIND 9.18', "BIND lets the key update only what the zone's update-policy",
             'wrong secret', 'BIND: the secret differs'),
    'knot': ('(Knot DNS 3.', 'Knot DNS lets the key update only what an acl rule',
             'key not allowed', 'Knot DNS: it does not know the key name and algorithm, '
             'or no acl rule of the zone names this key'),
    'pdns': ('(PowerDNS Authoritative Server 4.', 'PowerDNS lets the key update only a '
             'zone whose TSIG-ALLOW-DNSUPDATE metadata names it', 'wrong secret',
             PDNS_REJECTED),
}


def test_servers_doctor(tb):
    """doctor's credentials line names the server software (version.bind)
    and what it takes for the key to update; a rejected key fails it (exit
    3) with only that server's cause; PowerDNS accepts a key its
    TSIG-ALLOW-DNSUPDATE leaves out on the SOA query, so there the round
    trip fails (REFUSED, exit 4) after an OK credentials line."""
    up(tb)
    failures = []
    for server, (software, rule, case, cause) in DOCTOR.items():
        zone = SERVERS[server][1]
        rc, cred, got, out, err = doctor_credentials(tb.write_config(),
                                                     f'doctor-{server}.{zone}')
        trip = [g for g in got if g[1] == 'round-trip']
        if rc != 0 or cred is None or cred[0] != 'OK' or software not in cred[1] \
                or rule not in cred[1] or not trip or trip[0][0] != 'OK':
            failures.append(f'{server}, good key: exit {rc}, {cred}, {trip}:\n{out}{err[-600:]}')
        else:
            note(f'{server}: {cred[1]}')
        rc, cred, got, out, err = doctor_credentials(case_config(tb, server, case),
                                                     f'doctor-bad-{server}.{zone}')
        if rc != 3 or cred is None or cred[0] != 'FAIL' or software not in cred[1] \
                or cause not in cred[1] or [n for n in ('BIND:', 'Knot DNS:', 'PowerDNS:')
                                           if n in cred[1] and not cause.startswith(n)]:
            failures.append(f'{server}, {case}: exit {rc}, {cred}:\n{out}{err[-600:]}')
        else:
            note(f'{server}, {case}: {cred[1]}')
    rc, cred, got, out, err = doctor_credentials(tb.write_config(key='key-nogrant'),
                                                 f'doctor-nogrant.{pdns.ZONE}')
    trip = [g for g in got if g[1] == 'round-trip']
    if rc != 4 or cred is None or cred[0] != 'OK' or 'TSIG-ALLOW-DNSUPDATE' not in cred[1] \
            or not trip or trip[0][0] != 'FAIL' or 'REFUSED' not in trip[0][3] \
            or 'TSIG-ALLOW-DNSUPDATE metadata does not name it' not in trip[0][3]:
        failures.append(f'pdns, key not allowed: exit {rc}, {cred}, {trip}:\n{out}'
                        f'{err[-600:]}')
    assert not failures, '\n'.join(failures)
