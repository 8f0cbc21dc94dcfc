"""Failures that must be reported with the right exit code and message."""

import os

from flows import expect_txt
from testbed import (NS1, SECRETS, acme_value, certbot_env, note, run_dns01, secret,
                     soa_serial)


def test_wrong_tsig_secret(tb):
    """A secret ns1 does not know: exit 3 (credentials), the key is named,
    nothing is written."""
    wrong = secret(32)
    SECRETS.add(wrong)          # it must not be printed either
    conf = tb.write_config(tsig_secret=wrong)
    name = '_acme-challenge.wrongkey.example.test'
    serial = soa_serial(NS1, 'example.test')
    rc, _, err, _ = run_dns01(['-c', conf, 'set', name, acme_value(), '--timeout', '10'])
    assert rc == 3, f'expected exit 3 (credentials), got {rc}: {err.strip()[-500:]}'
    assert 'dns01-key' in err, f'stderr does not name the key dns01-key:\n{err}'
    assert soa_serial(NS1, 'example.test') == serial, 'the zone changed anyway'
    expect_txt(NS1, name, [])


def test_no_zone(tb):
    """A name in no zone (the resolver says NXDOMAIN all the way): exit 6."""
    conf = tb.write_config()
    rc, _, err, el = run_dns01(['-c', conf, 'set', '_acme-challenge.nosuch.invalid',
                                acme_value(), '--timeout', '10'])
    assert rc == 6, f'set: expected exit 6 (discovery failed), got {rc}: {err.strip()[-500:]}'
    note(f'set: exit 6 after {el:.2f}s')
    rc, _, err, el = run_dns01(['-c', conf, 'auth'],
                               env=certbot_env('nosuch.invalid', acme_value(), 0))
    assert rc == 6, f'auth: expected exit 6 (discovery failed), got {rc}: {err.strip()[-500:]}'
    note(f'auth: exit 6 after {el:.2f}s')


def test_config_readable_by_others(tb):
    """A config file holding a secret with mode 0644: exit 3, says chmod 600."""
    conf = tb.write_config(mode=0o644)
    assert os.stat(conf).st_mode & 0o777 == 0o644
    serial = soa_serial(NS1, 'example.test')
    rc, _, err, _ = run_dns01(['-c', conf, 'set', '_acme-challenge.mode.example.test',
                               acme_value()])
    assert rc == 3, f'expected exit 3 (config), got {rc}: {err.strip()[-500:]}'
    assert 'chmod 600' in err, f'stderr does not say how to fix it (chmod 600):\n{err}'
    assert soa_serial(NS1, 'example.test') == serial, 'the zone changed anyway'


def test_config_missing(tb):
    rc, _, err, _ = run_dns01(['-c', str(tb.tmp / 'no-such.conf'), 'set',
                               '_acme-challenge.missing.example.test', acme_value()])
    assert rc == 3, f'expected exit 3 (config missing), got {rc}: {err.strip()[-500:]}'
