"""End to end: certbot + pebble (validating through its own resolver) with
dns01 as the manual hooks, while ns2 lags 3 s behind."""

import shlex
import subprocess
import tempfile
import time
from pathlib import Path

from flows import expect_txt
from testbed import NS1, NS2, TxtWatcher, clean_env, dns01_binary, note


def test_certbot_pebble(tb):
    dir_url, ca = tb.pebble()
    conf = tb.write_config()
    work = Path(tempfile.mkdtemp(prefix='certbot-', dir=tb.tmp))
    dns01 = f'{shlex.quote(dns01_binary())} -c {shlex.quote(conf)}'
    # certbot runs hooks through a shell: note (wall clock) when each auth
    # hook returned, to compare with when ns2 served the values.
    stamps = work / 'auth-returned'
    auth_hook = f'{dns01} auth; r=$?; date +%s.%N >> {shlex.quote(str(stamps))}; exit $r'
    ca_log_before = len((tb.tmp / 'res-ca' / 'unbound.log').read_text())
    tb.set_lag(3)
    name = '_acme-challenge.example.test'
    expect_txt(NS2, name, [], 'before certbot: ')
    watcher = TxtWatcher(NS2, name, min_count=2, clock=time.time)
    watcher.start()
    argv = ['certbot', 'certonly', '--manual', '--preferred-challenges', 'dns',
            '--manual-auth-hook', auth_hook, '--manual-cleanup-hook', f'{dns01} cleanup',
            '-d', 'example.test', '-d', '*.example.test',
            '--server', dir_url, '--non-interactive', '--agree-tos',
            '--register-unsafely-without-email',
            '--config-dir', str(work / 'config'), '--work-dir', str(work / 'work'),
            '--logs-dir', str(work / 'logs')]
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=300,
                           env=clean_env({'REQUESTS_CA_BUNDLE': ca}))
    finally:
        watcher.stop()
    returned = [float(x) for x in stamps.read_text().split()] if stamps.exists() else []
    early = returned and watcher.last_negative and returned[-1] <= watcher.last_negative
    certs = sorted((work / 'config' / 'live').glob('*/cert.pem'))
    if p.returncode != 0 or not certs:
        log = work / 'logs' / 'letsencrypt.log'
        tail = '\n'.join(log.read_text().splitlines()[-80:]) if log.exists() else ''
        why = (f' - probably because the last auth hook returned '
               f'{watcher.last_negative - returned[-1]:.3f}s before ns2 served both values'
               if early else '')
        raise AssertionError(f'certbot exited {p.returncode}, certificates: {certs}{why}\n'
                             f'stdout:\n{p.stdout}\nstderr:\n{p.stderr}\n'
                             f'--- certbot log (tail):\n{tail}')
    text = subprocess.run(['openssl', 'x509', '-noout', '-text', '-in', str(certs[0])],
                          capture_output=True, text=True, check=True).stdout
    for san in ('DNS:example.test', 'DNS:*.example.test'):
        assert san in text, f'{san} missing from {certs[0]}:\n{text}'

    # The last auth hook returned only once ns2 served both values.
    assert len(returned) == 2, f'expected 2 auth hook calls, saw {len(returned)}'
    assert not early, \
        f'the last auth hook returned {watcher.last_negative - returned[-1]:.3f}s ' \
        'before ns2 was last seen without both values'
    assert watcher.first_positive, 'ns2 was never seen serving both values'
    note(f'last auth hook returned {(returned[-1] - watcher.first_positive) * 1000:.0f} ms '
         'after ns2 served both values')

    # pebble really validated through the CA-side resolver ...
    ca_log = (tb.tmp / 'res-ca' / 'unbound.log').read_text()[ca_log_before:]
    assert '_acme-challenge.example.test. TXT IN' in ca_log, \
        'the CA-side resolver never saw the validation query'
    # ... and certbot's cleanup hook removed the values (certbot ignores its exit code).
    expect_txt(NS1, '_acme-challenge.example.test', [], 'after certbot: ')
    note(f'certificate {certs[0].parent.name} issued with SANs example.test, *.example.test')
