"""End to end: certbot + pebble (validating through its own resolver) with
dns01 as the manual hooks, while ns2 lags 3 s behind."""

import shlex
import subprocess
import tempfile
from pathlib import Path

from flows import expect_txt
from testbed import NS1, clean_env, dns01_binary, note


def test_certbot_pebble(tb):
    dir_url, ca = tb.pebble()
    conf = tb.write_config()
    work = Path(tempfile.mkdtemp(prefix='certbot-', dir=tb.tmp))
    hook = f'{shlex.quote(dns01_binary())} -c {shlex.quote(conf)}'
    ca_log_before = len((tb.tmp / 'res-ca' / 'unbound.log').read_text())
    tb.set_lag(3)
    argv = ['certbot', 'certonly', '--manual', '--preferred-challenges', 'dns',
            '--manual-auth-hook', f'{hook} auth', '--manual-cleanup-hook', f'{hook} cleanup',
            '-d', 'example.test', '-d', '*.example.test',
            '--server', dir_url, '--non-interactive', '--agree-tos',
            '--register-unsafely-without-email',
            '--config-dir', str(work / 'config'), '--work-dir', str(work / 'work'),
            '--logs-dir', str(work / 'logs')]
    p = subprocess.run(argv, capture_output=True, text=True, timeout=300,
                       env=clean_env({'REQUESTS_CA_BUNDLE': ca}))
    certs = sorted((work / 'config' / 'live').glob('*/cert.pem'))
    if p.returncode != 0 or not certs:
        log = work / 'logs' / 'letsencrypt.log'
        tail = '\n'.join(log.read_text().splitlines()[-80:]) if log.exists() else ''
        raise AssertionError(f'certbot exited {p.returncode}, certificates: {certs}\n'
                             f'stdout:\n{p.stdout}\nstderr:\n{p.stderr}\n'
                             f'--- certbot log (tail):\n{tail}')
    text = subprocess.run(['openssl', 'x509', '-noout', '-text', '-in', str(certs[0])],
                          capture_output=True, text=True, check=True).stdout
    for san in ('DNS:example.test', 'DNS:*.example.test'):
        assert san in text, f'{san} missing from {certs[0]}:\n{text}'

    # pebble really validated through the CA-side resolver ...
    ca_log = (tb.tmp / 'res-ca' / 'unbound.log').read_text()[ca_log_before:]
    assert '_acme-challenge.example.test. TXT IN' in ca_log, \
        'the CA-side resolver never saw the validation query'
    # ... and certbot's cleanup hook removed the values (certbot ignores its exit code).
    expect_txt(NS1, '_acme-challenge.example.test', [], 'after certbot: ')
    note(f'certificate {certs[0].parent.name} issued with SANs example.test, *.example.test')
