"""The dehydrated, lego exec and uacme hook dialects, called the way each
client calls them (the clients themselves run in test_clients.py)."""

import base64
import hashlib
import secrets

from flows import expect_txt, expect_txt_soon
from testbed import NS1, NS2, acme_value, run_dns01, soa_serial

APEX = '_acme-challenge.example.test'
OTHER = '_acme-challenge.acme.test'

# Tests that write one name again right after changing it use a 2 s TTL: dns01
# waits out a TTL there (test_cache.py), which is not what they are about.
SHORT_TTL = 2

# What dehydrated 0.7 exports to its hooks (and what marks a call as its).
DEHYDRATED_ENV = {'BASEDIR': '/var/lib/dehydrated', 'CERTDIR': '/var/lib/dehydrated/certs'}


def token():
    return secrets.token_urlsafe(32).rstrip('=')


def test_dehydrated_chain(tb):
    """HOOK_CHAIN=yes: three triples in two zones are written (one UPDATE per
    zone) and waited for once: when deploy_challenge returns, the lagging
    secondary serves all of them. clean_challenge removes exactly them."""
    conf = tb.write_config()
    values = [acme_value() for _ in range(3)]
    args = ['example.test', token(), values[0], '*.example.test', token(), values[1],
            'acme.test', token(), values[2]]
    serials = {z: soa_serial(NS1, z) for z in ('example.test', 'acme.test')}
    tb.set_lag(2)
    rc, out, err, elapsed = run_dns01(['-c', conf, 'deploy_challenge'] + args)
    assert rc == 0, f'deploy_challenge exited {rc}: {err[-800:]}'
    assert out == '', f'deploy_challenge printed on stdout: {out!r}'
    expect_txt(NS2, APEX, values[:2], 'when deploy_challenge returned: ')
    expect_txt(NS2, OTHER, values[2:], 'when deploy_challenge returned: ')
    assert elapsed >= 2, f'returned after {elapsed:.2f}s although ns2 lags 2 s'
    for z, s in serials.items():
        assert soa_serial(NS1, z) == s + 1, f'{z}: expected one UPDATE'

    rc, out, err, _ = run_dns01(['-c', conf, 'clean_challenge'] + args)
    assert rc == 0 and out == '', f'clean_challenge exited {rc}: {err[-800:]}'
    expect_txt(NS1, APEX, [], 'after clean_challenge: ')
    expect_txt(NS1, OTHER, [], 'after clean_challenge: ')


def test_dehydrated_single(tb):
    """Without HOOK_CHAIN: one triple per call; each call writes and waits."""
    conf = tb.write_config(ttl=SHORT_TTL)
    values = [acme_value(), acme_value()]
    tb.set_lag(1)
    for d, v in zip(('example.test', '*.example.test'), values):
        rc, out, err, _ = run_dns01(['-c', conf, 'deploy_challenge', d, token(), v])
        assert rc == 0 and out == '', f'deploy_challenge {d} exited {rc}: {err[-800:]}'
    expect_txt(NS2, APEX, values, 'after both deploy_challenge calls: ')
    for d, v in zip(('example.test', '*.example.test'), values):
        rc, _, err, _ = run_dns01(['-c', conf, 'clean_challenge', d, token(), v])
        assert rc == 0, f'clean_challenge {d} exited {rc}: {err[-800:]}'
    expect_txt(NS1, APEX, [], 'after clean_challenge: ')


def test_dehydrated_other_operations(tb):
    """Every other dehydrated operation exits 0 and prints nothing (the stdout
    of generate_csr would be taken for a CSR), including the deliberately
    unknown one dehydrated sends at startup; without dehydrated's environment
    an unknown word is a usage error."""
    conf = tb.write_config()
    calls = [['deploy_cert', 'example.test', '/k', '/c', '/f', '/ch', '1700000000'],
             ['generate_csr', 'example.test', '/certs/example.test', 'example.test'],
             ['startup_hook'], ['exit_hook'], ['exit_hook', 'ERROR'],
             ['sync_cert', '/a', '/b', '/c', '/d', '/e'],
             ['unchanged_cert', 'example.test', '/k', '/c', '/f', '/ch'],
             ['invalid_challenge', 'example.test', '{"status": "invalid"}'],
             ['request_failure', '500', '-urn:ietf:params:acme:error:serverInternal', 'x'],
             ['deploy_ocsp', 'example.test', '/ocsp.der', '1700000000'],
             ['this_hookscript_is_broken__dehydrated_is_working_fine__please_ignore_unknown'
              '_hooks_in_your_script'],
             ['some_future_operation', 'arg']]
    for argv in calls:
        rc, out, err, _ = run_dns01(['-c', conf] + argv, env=DEHYDRATED_ENV)
        assert (rc, out, err) == (0, '', ''), f'{argv[0]}: rc={rc} out={out!r} err={err!r}'
    rc, out, err, _ = run_dns01(['-c', conf, 'some_future_operation'])
    assert rc == 2 and 'unknown command' in err, f'without dehydrated: rc={rc} {err!r}'


def test_dehydrated_bad_input(tb):
    """A broken triple list or value: exit 2, nothing sent."""
    conf = tb.write_config()
    serial = soa_serial(NS1, 'example.test')
    for args in (['example.test', token()],
                 ['example.test', token(), acme_value(), 'acme.test'],
                 ['example.test', token(), 'not-a-value'],
                 ['example.test', token(), acme_value(), 'bad..name', token(), acme_value()]):
        rc, _, err, _ = run_dns01(['-c', conf, 'deploy_challenge'] + args)
        assert rc == 2, f'deploy_challenge {args}: rc={rc} {err!r}'
    assert soa_serial(NS1, 'example.test') == serial, 'something was sent'


def test_lego_exec(tb):
    """lego's default mode: present FQDN. VALUE writes at FQDN (lego has
    followed CNAMEs already) and returns once ns2 serves it; cleanup FQDN.
    VALUE removes it."""
    conf = tb.write_config()
    value = acme_value()
    tb.set_lag(1)
    rc, out, err, elapsed = run_dns01(['-c', conf, 'present', APEX + '.', value])
    assert rc == 0 and out == '', f'present exited {rc}: {err[-800:]}'
    expect_txt(NS2, APEX, [value], 'when present returned: ')
    assert elapsed >= 1, f'returned after {elapsed:.2f}s although ns2 lags 1 s'
    rc, out, err, _ = run_dns01(['-c', conf, 'cleanup', APEX + '.', value])
    assert rc == 0 and out == '', f'cleanup exited {rc}: {err[-800:]}'
    expect_txt(NS1, APEX, [], 'after cleanup: ')
    expect_txt_soon(NS2, APEX, [], 'after cleanup: ')


def test_lego_exec_raw(tb):
    """EXEC_MODE=RAW: present -- DOMAIN TOKEN KEYAUTH puts
    base64url(SHA-256(KEYAUTH)) at _acme-challenge.DOMAIN; a wildcard domain
    drops its '*.'; a key authorization that does not belong to the token is
    refused before anything is sent."""
    conf = tb.write_config()
    tok = token()
    keyauth = tok + '.' + token()
    want = base64.urlsafe_b64encode(hashlib.sha256(keyauth.encode()).digest()).decode()
    want = want.rstrip('=')
    rc, out, err, _ = run_dns01(['-c', conf, 'present', '--', '*.example.test', tok, keyauth])
    assert rc == 0 and out == '', f'present -- exited {rc}: {err[-800:]}'
    expect_txt(NS2, APEX, [want], 'after present --: ')
    rc, _, err, _ = run_dns01(['-c', conf, 'cleanup', '--', '*.example.test', tok, keyauth])
    assert rc == 0, f'cleanup -- exited {rc}: {err[-800:]}'
    expect_txt(NS1, APEX, [], 'after cleanup --: ')

    serial = soa_serial(NS1, 'example.test')
    for args in (['example.test', tok, token() + '.' + token()],   # someone else's
                 ['example.test', tok, tok + token()],             # no '.'
                 ['example.test', tok],                             # too few
                 ['example.test', tok, keyauth, 'extra']):
        rc, _, err, _ = run_dns01(['-c', conf, 'present', '--'] + args)
        assert rc == 2, f'present -- {args}: rc={rc} {err!r}'
    rc, _, err, _ = run_dns01(['-c', conf, 'present', APEX])
    assert rc == 2, f'present with one argument: rc={rc} {err!r}'
    assert soa_serial(NS1, 'example.test') == serial, 'something was sent'


def test_uacme(tb):
    """begin dns-01 writes and waits; done and failed remove; any other type
    on begin exits 1 (uacme then tries its next type) and sends nothing."""
    conf = tb.write_config(ttl=SHORT_TTL)
    tb.set_lag(1)
    for end in ('done', 'failed'):
        value = acme_value()
        args = ['dns-01', 'example.test', token(), value]
        rc, out, err, elapsed = run_dns01(['-c', conf, 'begin'] + args)
        assert rc == 0 and out == '', f'begin exited {rc}: {err[-800:]}'
        expect_txt(NS2, APEX, [value], 'when begin returned: ')
        rc, out, err, _ = run_dns01(['-c', conf, end] + args)
        assert rc == 0 and out == '', f'{end} exited {rc}: {err[-800:]}'
        expect_txt(NS1, APEX, [], f'after {end}: ')
        expect_txt_soon(NS2, APEX, [], f'after {end}: ')

    serial = soa_serial(NS1, 'example.test')
    for t in ('http-01', 'tls-alpn-01'):
        rc, out, err, _ = run_dns01(['-c', conf, 'begin', t, 'example.test', token(),
                                     token() + '.' + token()])
        assert rc == 1 and out == '' and 'declin' in err, f'begin {t}: rc={rc} {err!r}'
    rc, _, err, _ = run_dns01(['-c', conf, 'begin', 'dns-01', 'example.test', token()])
    assert rc == 2, f'begin with 3 arguments: rc={rc} {err!r}'
    rc, _, err, _ = run_dns01(['-c', conf, 'begin', 'dns-01', 'ex ample.test', token(),
                               acme_value()])
    assert rc == 2, f'begin with a bad identifier: rc={rc} {err!r}'
    assert soa_serial(NS1, 'example.test') == serial, 'something was sent'
