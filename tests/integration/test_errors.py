"""Failures that must be reported with the right exit code and message. (Bad
credentials, for every provider: test_contract.py bad_credentials.)"""

import os

from flows import expect_txt
from testbed import NS1, acme_value, certbot_env, note, run_dns01, soa_serial


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


def test_key_not_allowed_refused(tb):
    """A key ns1 knows but does not allow to update the zone: REFUSED, exit 4
    (the provider refused the change), and the zone is named."""
    conf = tb.write_config(key='key-nogrant')
    serial = soa_serial(NS1, 'example.test')
    rc, _, err, _ = run_dns01(['-c', conf, 'set', '_acme-challenge.refused.example.test',
                               acme_value(), '--timeout', '5'])
    assert rc == 4, f'expected exit 4 (refused), got {rc}: {err.strip()[-500:]}'
    assert 'REFUSED' in err and 'example.test' in err, f'stderr:\n{err}'
    assert soa_serial(NS1, 'example.test') == serial, 'the zone changed anyway'


def test_unknown_key_name(tb):
    """A key name ns1 does not know: BADKEY, exit 3 naming the key."""
    conf = tb.write_config(tsig_key='no-such-key')
    rc, _, err, _ = run_dns01(['-c', conf, 'set', '_acme-challenge.badkey.example.test',
                               acme_value(), '--timeout', '5'])
    assert rc == 3, f'expected exit 3 (credentials), got {rc}: {err.strip()[-500:]}'
    assert 'no-such-key' in err and 'BADKEY' in err, f'stderr:\n{err}'


def test_environment_only_mode(tb):
    """No config file: DNS01_PROVIDER=rfc2136 and lego's RFC2136_* variables
    (the secret through RFC2136_TSIG_SECRET_FILE) do the whole job; a secret
    file that others can read is refused with exit 3."""
    alg, sec = tb.keys['dns01-key']
    secret_file = tb.tmp / 'tsig.secret'
    fd = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.write(fd, (sec + '\n').encode())
    os.close(fd)
    env = {'DNS01_PROVIDER': 'rfc2136', 'RFC2136_NAMESERVER': NS1,
           'RFC2136_TSIG_KEY': 'dns01-key', 'RFC2136_TSIG_ALGORITHM': alg + '.',
           'RFC2136_TSIG_SECRET_FILE': str(secret_file),
           'DNS01_RESOLVERS': '127.53.0.3', 'DNS01_STATE_DIR': str(tb.tmp / 'state-env'),
           'DNS01_TIMEOUT': '20'}
    name, value = '_acme-challenge.env.example.test', acme_value()
    rc, _, err, _ = run_dns01(['set', name, value], env=env)
    assert rc == 0, f'set in env mode exited {rc}: {err.strip()[-500:]}'
    expect_txt(NS1, name, [value], 'after set in env mode: ')
    rc, _, err, _ = run_dns01(['unset', name, value], env=env)
    assert rc == 0, f'unset in env mode exited {rc}: {err.strip()[-500:]}'
    os.chmod(secret_file, 0o644)
    rc, _, err, _ = run_dns01(['set', name, value], env=env)
    assert rc == 3 and 'chmod 600' in err, f'a 0644 secret file: exit {rc}:\n{err}'


def test_cli_help_version_usage(tb):
    """--help, COMMAND --help and --version exit 0 on stdout; an unknown
    command or option exits 2."""
    rc, out, _, _ = run_dns01(['--help'])
    assert rc == 0 and 'usage: dns01' in out and 'exit codes' in out, out
    rc, out, _, _ = run_dns01(['set', '--help'])
    assert rc == 0 and 'set NAME VALUE' in out, out
    rc, out, _, _ = run_dns01(['--version'])
    assert rc == 0 and out.startswith('dns01 '), out
    for args in (['frobnicate'], ['--frobnicate', 'set'], [], ['set', 'x.example.test', 'v',
                                                                '--timeout', 'soon']):
        rc, _, err, _ = run_dns01(args)
        assert rc == 2, f'dns01 {args}: expected exit 2, got {rc}: {err}'
