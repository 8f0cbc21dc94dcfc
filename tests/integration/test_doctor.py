"""dns01 doctor: one OK/WARN/FAIL line per check, the exit status of the
first failed check, --json, against the real testbed (BIND primary and
secondary, unbound) and the Cloudflare emulator. Every provider's
credentials check, with good and with bad credentials: test_contract.py.

Each dns01 run here uses its own domain where it can: the round trip writes
at _acme-challenge.<domain>, and a second write at the same name within one
test would wait for the cache ledger (core/ledger.h).
"""

import json
import os
import re
import socket
import ssl
import threading
from pathlib import Path

import emulator_base
from provider_adapters import cf_config, cf_emulator_reset, cf_global_key, cf_token
from providers_common import doctor_lines as lines, need_provider
from testbed import NS1, NS2, RES_CLIENT, acme_value, dig_txt, run_dns01, soa_serial

ADMIN = 'key-admin'      # testbed key that may update any type (CAA, SOA)


def doctor(conf, *args, env=None, timeout=90):
    return run_dns01(['-c', conf, 'doctor', *args], env=env, timeout=timeout)


def only(got, check, domain=None):
    """The one line of `check` (for `domain`)."""
    hits = [g for g in got if g[1] == check and (domain is None or g[2] == domain)]
    assert len(hits) == 1, f'{len(hits)} lines for {check} {domain}: {got}'
    return hits[0]


def assert_all_ok(got):
    bad = [g for g in got if g[0] != 'OK']
    assert not bad, f'not OK: {bad}'


# --------------------------------------------------------------------------
# healthy testbed
# --------------------------------------------------------------------------

def test_doctor_healthy_rfc2136(tb):
    """Every check OK for an apex + wildcard pair; the pair shares one
    challenge name, so one round trip; nothing is left behind; the resolver
    is never asked for the challenge name."""
    conf = tb.write_config()
    name = '_acme-challenge.example.test'
    before = {s: dig_txt(s, name)[2] for s in (NS1, NS2)}
    log_before = len(tb.resolver_log())
    rc, out, err, _ = doctor(conf, 'example.test', '*.example.test')
    assert rc == 0, f'exit {rc}: {err[-600:]}'
    got = lines(out)
    assert_all_ok(got)
    assert [g[1] for g in got] == ['config', 'zone', 'cname', 'credentials', 'caa', 'caa',
                                   'negative-ttl', 'cache', 'round-trip'], got
    assert 'TTL 10 s' in only(got, 'cache')[3], got
    assert 'mode 600' in only(got, 'config')[3], got
    zone = only(got, 'zone', 'example.test')[3]
    assert 'serial' in zone and '127.53.0.99' in zone, zone      # the dead address is named
    assert 'no CNAME' in only(got, 'cname')[3]
    cred = only(got, 'credentials')[3]
    assert "TSIG key 'dns01-key'" in cred and NS1 in cred, cred
    assert {g[2] for g in got if g[1] == 'caa'} == {'example.test', '*.example.test'}
    assert 'any CA may issue' in only(got, 'caa', 'example.test')[3]
    assert '60 s' in only(got, 'negative-ttl')[3]
    rt = only(got, 'round-trip')[3]
    assert re.search(r'after \d+\.\d\d s; removed, gone from every one after \d+\.\d\d s', rt), rt
    after = {s: dig_txt(s, name)[2] for s in (NS1, NS2)}
    assert after == before, f'round trip left something behind: {before} -> {after}'
    new = tb.resolver_log()[log_before:]
    assert 'CAA' in new, 'CAA was not asked of the resolver'
    assert '_acme-challenge' not in new, 'the resolver was asked for a challenge name'


def test_doctor_cache(tb):
    """The cache line: the TTL records get, and a pending cache wait after
    dns01 removed a value at the name (the next write would wait for it);
    a long configured TTL is a warning."""
    conf = tb.write_config()
    name, v = '_acme-challenge.cache.example.test', acme_value()
    assert run_dns01(['-c', conf, 'set', name, v])[0] == 0
    assert run_dns01(['-c', conf, 'unset', name, v])[0] == 0
    rc, out, err, _ = doctor(conf, 'cache.example.test')
    assert rc == 0, f'exit {rc}: {err[-600:]}'
    cache = only(lines(out), 'cache')
    assert cache[0] == 'OK' and 'changed' in cache[3] and 'waits' in cache[3], cache
    conf = tb.write_config(ttl=600)
    rc, out, err, _ = doctor(conf, 'cache2.example.test')
    assert rc == 0, f'exit {rc}: {err[-600:]}'
    cache = only(lines(out), 'cache')
    assert cache[0] == 'WARN' and 'TTL 600 s' in cache[3] and 'ttl = 600' in cache[3], cache


def test_doctor_json_cname(tb):
    """--json: one object on stdout; a CNAME into acme.test is followed and
    named."""
    conf = tb.write_config()
    rc, out, err, _ = doctor(conf, '--json', 'delegated.example.test')
    assert rc == 0, f'exit {rc}: {err[-600:]}'
    assert len(out.splitlines()) == 1, out
    doc = json.loads(out)
    assert doc['ok'] is True, doc
    checks = doc['checks']
    assert [c['check'] for c in checks] == ['config', 'zone', 'cname', 'credentials', 'caa',
                                            'negative-ttl', 'cache', 'round-trip'], checks
    for c in checks:
        assert set(c) == {'check', 'domain', 'status', 'reason', 'fix'}, c
        assert c['status'] == 'ok' and c['fix'] is None, c
    assert checks[0]['domain'] is None
    cname = next(c for c in checks if c['check'] == 'cname')
    assert cname['domain'] == 'delegated.example.test'
    assert 'CNAME to delegated.acme.test (zone acme.test)' in cname['reason'], cname
    rt = next(c for c in checks if c['check'] == 'round-trip')
    assert 'delegated.acme.test' in rt['reason'], rt


# --------------------------------------------------------------------------
# failures and warnings
# --------------------------------------------------------------------------

def test_doctor_config_not_private(tb):
    conf = tb.write_config(mode=0o644)
    rc, out, err, _ = doctor(conf, 'example.test')
    assert rc == 3, f'exit {rc}: {err[-600:]}'
    got = lines(out)
    assert [g[1] for g in got] == ['config'], got
    status, _, _, text = got[0]
    assert status == 'FAIL' and f'fix: chmod 600 {conf}' in text, text


def test_doctor_cloudflare_token(tb):
    """Cloudflare: a disabled token fails with exit 3; email + global key is
    checked with GET /user. (A good and an unknown token: test_contract's
    doctor_credentials.)"""
    need_provider('cloudflare')
    em = cf_emulator_reset(tb)
    conf = cf_config(tb, em, token=cf_token(em, status='disabled'))
    rc, out, err, _ = doctor(conf, 'cf3.example.test')
    assert rc == 3, f'exit {rc}: {err[-600:]}'
    status, _, _, text = only(lines(out), 'credentials')
    assert status == 'FAIL' and 'is disabled, not active' in text, text

    email, key = cf_global_key(em)
    conf = cf_config(tb, em, email=email, api_key=key)
    rc, out, err, _ = doctor(conf, 'cf4.example.test')
    assert rc == 0, f'exit {rc}: {err[-600:]}'
    got = lines(out)
    assert_all_ok(got)
    assert 'global API key' in only(got, 'credentials')[3] and 'GET /user)' in \
        only(got, 'credentials')[3]


def test_doctor_caa(tb):
    """CAA at caa.example.test: issue other-ca.example, issuewild
    letsencrypt.org.  The apex fails for letsencrypt.org and the line names
    the record; the wildcard is allowed by issuewild; --ca other-ca.example
    is allowed, found by climbing from www.caa.example.test."""
    tb.nsupdate('update add caa.example.test 60 CAA 0 issue "other-ca.example"',
                'update add caa.example.test 60 CAA 0 issuewild "letsencrypt.org"', key=ADMIN)
    try:
        tb.sync()       # the resolver may ask either server
        conf = tb.write_config()
        rc, out, err, _ = doctor(conf, 'caa.example.test', '*.caa.example.test')
        assert rc == 1, f'exit {rc}: {err[-600:]}'
        got = lines(out)
        status, _, _, text = only(got, 'caa', 'caa.example.test')
        assert status == 'FAIL' and '0 issue "other-ca.example"' in text, text
        assert 'fix: add the record: caa.example.test. CAA 0 issue "letsencrypt.org"' in text
        status, _, _, text = only(got, 'caa', '*.caa.example.test')
        assert status == 'OK' and 'allows letsencrypt.org: 0 issuewild "letsencrypt.org"' in text, text
        assert only(got, 'round-trip')[0] == 'OK'        # the other checks still run

        rc, out, err, _ = doctor(conf, '--ca', 'other-ca.example', 'www.caa.example.test')
        assert rc == 0, f'exit {rc}: {err[-600:]}'
        got = lines(out)
        assert_all_ok(got)
        text = only(got, 'caa')[3]
        assert 'CAA at caa.example.test allows other-ca.example' in text, text
    finally:
        tb.nsupdate('update delete caa.example.test CAA', key=ADMIN)


def test_doctor_negative_ttl(tb):
    """SOA TTL and MINIMUM of acme.test raised to 600 s: WARN (exit 0).
    Discovery asks ns1 directly here, so that the client resolver does not
    cache the raised SOA for later tests."""
    def soa(serial, ttl):
        return (f'update add acme.test {ttl} SOA ns1.example.test. hostmaster.example.test. '
                f'{serial} 86400 86400 1209600 {ttl}')
    tb.nsupdate(soa(soa_serial(NS1, 'acme.test') + 1, 600), zone='acme.test', key=ADMIN)
    try:
        tb.sync()
        conf = tb.write_config(resolvers=f'{NS1} {RES_CLIENT}')
        rc, out, err, _ = doctor(conf, 'negttl.acme.test')
        assert rc == 0, f'exit {rc}: {err[-600:]}'
        got = lines(out)
        status, _, _, text = only(got, 'negative-ttl')
        assert status == 'WARN', text
        assert 'keeps NXDOMAIN for 600 s' in text and 'fix: lower the SOA MINIMUM' in text, text
        assert [g for g in got if g[0] != 'OK'] == [only(got, 'negative-ttl')], got
    finally:
        tb.nsupdate(soa(soa_serial(NS1, 'acme.test') + 1, 60), zone='acme.test', key=ADMIN)
        tb.sync()


def test_doctor_secondary_behind(tb):
    """ns2 6 s behind with a changed serial: WARN naming both serials; the
    round trip waits for ns2 and passes, so the exit status is 0."""
    tb.set_lag(6)
    tb.nsupdate('update add lagdoc.example.test 60 TXT "bump the serial"')
    conf = tb.write_config()
    rc, out, err, _ = doctor(conf, 'lagdoc.example.test')
    assert rc == 0, f'exit {rc}: {err[-600:]}'
    got = lines(out)
    status, _, _, text = only(got, 'zone')
    assert status == 'WARN' and 'disagree on the SOA serial' in text, text
    serials = re.findall(r'ns[12]\.example\.test 127\.53\.0\.[12] (\d+)', text)
    assert len(set(serials)) == 2, text
    assert only(got, 'round-trip')[0] == 'OK', got
    tb.nsupdate('update delete lagdoc.example.test TXT')


# --------------------------------------------------------------------------
# --check-cert
# --------------------------------------------------------------------------

def _leaf(d, ca, ca_key, san, days):
    """A serverAuth certificate for `san`, valid `days` from now."""
    d = Path(d)
    d.mkdir(parents=True, exist_ok=True)
    cert, key, csr, ext = d / 'cert.pem', d / 'key.pem', d / 'leaf.csr', d / 'ext.cnf'
    emulator_base._openssl('req', *emulator_base._EC, '-keyout', str(key), '-out', str(csr),
                           '-subj', '/CN=www.example.test')
    ext.write_text(f'subjectAltName={san}\nbasicConstraints=CA:FALSE\n'
                   'keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n')
    emulator_base._openssl('x509', '-req', '-in', str(csr), '-CA', str(ca), '-CAkey',
                           str(ca_key), '-set_serial', str(int.from_bytes(os.urandom(7), 'big')),
                           '-days', str(days), '-extfile', str(ext), '-out', str(cert))
    return cert, key


class TlsServer:
    """Accepts TLS connections on 127.0.0.1 (www.example.test's address)
    and completes handshakes with one certificate, in a thread."""

    def __init__(self, cert, key):
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(str(cert), str(key))
        self.sock = socket.socket()
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stop = threading.Event()
        self.snis = []
        self.ctx.sni_callback = lambda s, name, c: self.snis.append(name)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            try:
                conn.settimeout(5)
                with self.ctx.wrap_socket(conn, server_side=True) as t:
                    t.recv(1)           # until the client closes
            except (OSError, ssl.SSLError):
                pass
            finally:
                conn.close()

    def close(self):
        self.stop.set()
        self.thread.join(2)
        self.sock.close()


def test_doctor_check_cert(tb):
    """A certificate for www.example.test and *.example.test from a test CA
    (trusted through SSL_CERT_FILE, OpenSSL's system-store override) that
    expires in 10 days: FAIL with --warn-days 21, OK with 5.  A name it does
    not cover, a certificate from an untrusted CA and a closed port: FAIL.
    Every FAIL here is exit 1 (the DNS checks pass)."""
    d = tb.tmp / 'doctor-tls'
    ca, ca_key = emulator_base.make_ca(d / 'ca', 'dns01 doctor test CA')
    other, other_key = emulator_base.make_ca(d / 'other', 'dns01 doctor untrusted CA')
    san = 'DNS:www.example.test,DNS:*.example.test'
    good = TlsServer(*_leaf(d / 'good', ca, ca_key, san, 10))
    bad = TlsServer(*_leaf(d / 'bad', other, other_key, san, 90))
    closed = socket.socket()
    closed.bind(('127.0.0.1', 0))
    closed_port = closed.getsockname()[1]
    closed.close()
    env = {'SSL_CERT_FILE': str(ca)}
    conf = tb.write_config()
    try:
        def run(domain, hostport, *extra):
            rc, out, err, _ = doctor(conf, domain, '--check-cert', hostport, *extra, env=env)
            got = lines(out)
            assert [g for g in got if g[1] != 'certificate' and g[0] != 'OK'] == [], got
            return rc, only(got, 'certificate')

        host = f'www.example.test:{good.port}'
        rc, (status, _, dom, text) = run('c1.example.test', host, '--warn-days', '21')
        assert (rc, status, dom) == (1, 'FAIL', host), (rc, text)
        assert re.search(r'expires in (9|10) days .*within --warn-days 21', text), text
        assert good.snis and good.snis[-1] == 'www.example.test', good.snis

        rc, (status, _, _, text) = run('c2.example.test', host, '--warn-days', '5')
        assert (rc, status) == (0, 'OK'), text
        assert re.search(r'valid until \d{4}-\d\d-\d\d .*\((9|10) days\)', text), text

        rc, (status, _, _, text) = run('example.test', host, '--warn-days', '5')
        assert (rc, status) == (1, 'FAIL'), text
        assert 'does not cover example.test' in text, text

        rc, (status, _, _, text) = run('c3.example.test', f'www.example.test:{bad.port}')
        assert (rc, status) == (1, 'FAIL'), text
        assert 'not trusted' in text and 'fix:' in text, text

        rc, (status, _, _, text) = run('c4.example.test', f'www.example.test:{closed_port}')
        assert (rc, status) == (1, 'FAIL'), text
        assert 'cannot connect' in text and 'refused' in text, text
    finally:
        good.close()
        bad.close()


def test_doctor_usage(tb):
    """Bad arguments: exit 2, nothing checked."""
    conf = tb.write_config()
    for args in (['doctor'], ['doctor', 'bad..name'], ['doctor', 'x.test', '--warn-days', 'x'],
                 ['doctor', 'x.test', '--check-cert', 'host:99999'],
                 ['doctor', '_acme-challenge.example.test']):
        rc, out, err, _ = run_dns01(['-c', conf, *args])
        assert rc == 2 and out == '', (args, rc, out, err)


def test_doctor_failure_kinds(tb):
    """The exit status is that of the first failed check: a key the server
    knows but lets update nothing passes `credentials` and fails the round
    trip (4); a CNAME into a zone no provider section serves fails `cname`
    (3); a name in no zone fails `zone` (6)."""
    conf = tb.write_config(key='key-nogrant')
    rc, out, err, _ = doctor(conf, 'nogrant.example.test')
    assert rc == 4, f'exit {rc}: {err[-600:]}'
    got = lines(out)
    assert only(got, 'credentials')[0] == 'OK', got
    status, _, _, text = only(got, 'round-trip')
    assert status == 'FAIL' and 'REFUSED' in text, text

    conf = tb.write_config(zones='example.test')
    rc, out, err, _ = doctor(conf, 'delegated.example.test')
    assert rc == 3, f'exit {rc}: {err[-600:]}'
    got = lines(out)
    status, _, _, text = only(got, 'cname')
    assert status == 'FAIL' and 'delegated.acme.test' in text and 'fix: add acme.test' in text
    assert not [g for g in got if g[1] in ('credentials', 'round-trip')], got

    conf = tb.write_config()
    rc, out, err, _ = doctor(conf, 'nosuch.invalid')
    assert rc == 6, f'exit {rc}: {err[-600:]}'
    got = lines(out)
    assert only(got, 'zone')[0] == 'FAIL', got
    assert not [g for g in got if g[1] in ('credentials', 'round-trip')], got
