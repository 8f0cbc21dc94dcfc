"""End to end: certbot + pebble (validating through its own resolver) with
dns01 as the manual hooks, while ns2 lags 3 s behind."""

from flows import certbot_pebble, expect_txt
from testbed import NS1, note


def test_certbot_pebble(tb):
    conf = tb.write_config()
    ca_log_before = len((tb.tmp / 'res-ca' / 'unbound.log').read_text())
    cert = certbot_pebble(tb, conf)

    # pebble really validated through the CA-side resolver ...
    ca_log = (tb.tmp / 'res-ca' / 'unbound.log').read_text()[ca_log_before:]
    assert '_acme-challenge.example.test. TXT IN' in ca_log, \
        'the CA-side resolver never saw the validation query'
    # ... and certbot's cleanup hook removed the values (certbot ignores its exit code).
    expect_txt(NS1, '_acme-challenge.example.test', [], 'after certbot: ')
    note(f'certificate {cert.parent.name} issued with SANs example.test, *.example.test')
