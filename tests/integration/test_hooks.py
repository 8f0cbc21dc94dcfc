"""certbot hook flows: CNAME delegation, a wildcard CNAME. (The apex +
wildcard pair, for every provider: test_contract.py additive_add.)"""

from flows import expect_txt, expect_txt_soon
from testbed import NS1, NS2, T_CNAME, acme_value, certbot_env, dig_txt, dns_query, run_dns01


def test_cname_delegation(tb):
    """_acme-challenge.delegated.example.test is a CNAME to delegated.acme.test:
    the value goes to the target, in the other zone."""
    conf = tb.write_config()
    value = acme_value()
    target = 'delegated.acme.test'
    rc, out, err, _ = run_dns01(['-c', conf, 'auth'],
                                env=certbot_env('delegated.example.test', value, 0))
    assert rc == 0, f'auth exited {rc}: {err.strip()[-500:]}'
    for server in (NS1, NS2):
        expect_txt(server, target, [value], 'after auth: ')
    # The CNAME itself is untouched, and nothing was written beside it.
    rcode, aa, recs = dns_query(NS1, '_acme-challenge.delegated.example.test', T_CNAME)
    assert rcode == 'NOERROR' and [r for r in recs if r[0] == T_CNAME], \
        f'the CNAME at _acme-challenge.delegated.example.test is gone ({rcode})'
    rcode, aa, _ = dig_txt(NS1, '_acme-challenge.delegated.acme.test')
    assert rcode == 'NXDOMAIN', f'unexpected data at _acme-challenge.delegated.acme.test ({rcode})'

    rc, _, err, _ = run_dns01(['-c', conf, 'cleanup'],
                              env=certbot_env('delegated.example.test', value, 0,
                                              auth_output=out.strip()))
    assert rc == 0, f'cleanup exited {rc}: {err.strip()[-500:]}'
    expect_txt(NS1, target, [], 'after cleanup: ')
    expect_txt_soon(NS2, target, [], 'after cleanup: ')


def test_wildcard_cname_not_followed(tb):
    """*.wild.example.test is a CNAME to elsewhere.acme.test, so
    _acme-challenge.wild.example.test *looks* like a CNAME. dns01 must see that
    the CNAME is synthesized and write at the challenge name itself, not into
    the wildcard's target (lego#1816)."""
    conf = tb.write_config()
    value = acme_value()
    name = '_acme-challenge.wild.example.test'
    rc, out, err, _ = run_dns01(['-c', conf, 'auth'],
                                env=certbot_env('wild.example.test', value, 0))
    assert rc == 0, f'auth exited {rc}: {err.strip()[-500:]}'
    assert 'wildcard' in err, f'stderr does not explain the wildcard:\n{err}'
    for server in (NS1, NS2):
        expect_txt(server, name, [value], 'after auth: ')
    rcode, _, vals = dig_txt(NS1, 'elsewhere.acme.test')
    assert vals == [], f'the wildcard target got TXT {vals}'
    rc, _, err, _ = run_dns01(['-c', conf, 'cleanup'],
                              env=certbot_env('wild.example.test', value, 0,
                                              auth_output=out.strip()))
    assert rc == 0, f'cleanup exited {rc}: {err.strip()[-500:]}'
    expect_txt(NS1, name, [], 'after cleanup: ')
    # The wildcard still works for other names.
    rcode, aa, recs = dns_query(NS1, 'other.wild.example.test', T_CNAME)
    assert [r for r in recs if r[0] == T_CNAME], f'the wildcard CNAME is gone ({rcode})'
