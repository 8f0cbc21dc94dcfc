"""Every TSIG algorithm dns01 documents works against BIND."""

from flows import expect_txt
from testbed import NS1, NS2, acme_value, run_dns01


def test_tsig_algorithms(tb):
    failures = []
    for key in ('key-md5', 'key-sha1', 'key-sha224', 'key-sha256', 'key-sha512'):
        alg = tb.keys[key][0]
        conf = tb.write_config(key=key)
        name, value = f'_acme-challenge.tsig-{key}.example.test', acme_value()
        rc, _, err, _ = run_dns01(['-c', conf, 'set', name, value, '--timeout', '10'])
        if rc != 0:
            failures.append(f'{alg}: set exited {rc}: {err.strip()[-300:]}')
            continue
        for server in (NS1, NS2):
            expect_txt(server, name, [value], f'{alg} after set: ')
        rc, _, err, _ = run_dns01(['-c', conf, 'unset', name, value, '--timeout', '10'])
        if rc != 0:
            failures.append(f'{alg}: unset exited {rc}: {err.strip()[-300:]}')
            continue
        for server in (NS1, NS2):
            expect_txt(server, name, [], f'{alg} after unset: ')
    assert not failures, '\n'.join(failures)
